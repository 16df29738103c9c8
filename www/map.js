// The network map: one tile per block (ran or skipped, its kept channels, its gate values), the what-if line.

import { $, el } from './dom.js';
import { fmtInt, fmtM, fmtPct, fmtS, fmtTau } from './format.js';

/** A channel strip: one bar per channel of conv1's output, height and darkness = scale. */
function channelStrip(b) {
  const C = b.channels_total;
  const cw = C <= 16 ? 4 : C <= 32 ? 2 : 1;
  const H = 16;
  const c = el('canvas', { class: 'chan', 'aria-hidden': 'true' });
  c.width = C * cw;
  c.height = H;
  const ctx = c.getContext('2d');
  ctx.fillStyle = '#f3f5f8';
  ctx.fillRect(0, 0, c.width, H);
  const scale = new Map(b.kept.map((k, i) => [k, b.scales[i]]));
  for (let ch = 0; ch < C; ch++) {
    const x = ch * cw;
    if (b.executed && scale.has(ch)) {
      const s = Math.max(0, Math.min(1, scale.get(ch)));
      const h = Math.max(3, Math.round(s * H));
      ctx.fillStyle = `rgba(31, 78, 140, ${(0.3 + 0.7 * s).toFixed(3)})`;
      ctx.fillRect(x, H - h, cw, h);
    } else {
      ctx.fillStyle = '#9aa3ad';
      ctx.fillRect(x, H - 1, cw, 1);
    }
  }
  return c;
}

export function blockDescription(b, trace) {
  const sl = fmtS(b.s_l);
  const where = `block ${b.stage}.${b.index}`;
  if (b.forced === false) return `${where}: forced off (what if), only the shortcut ran; its gate said s_L ${sl}; ${fmtInt(b.macs)} MACs`;
  if (b.forced === true) return `${where}: forced on (what if), ran ${b.channels_kept}/${b.channels_total} channels; its gate said s_L ${sl}; ${fmtInt(b.macs)} MACs`;
  if (!b.executed) {
    return `${where}: skipped (shortcut only), s_L ${sl} ≤ τ_L ${fmtTau(trace.tau_l)}; ${fmtInt(b.macs)} MACs (its L gate) instead of ${fmtInt(b.macs_static)}`;
  }
  return `${where}: ran, ${b.channels_kept}/${b.channels_total} channels, s_L ${sl}; ${fmtInt(b.macs)} MACs of ${fmtInt(b.macs_static)} static`;
}

function blockDetail(b, trace) {
  const meanScale = b.scales.length ? b.scales.reduce((x, y) => x + y, 0) / b.scales.length : null;
  const gl = b.s_l === null || b.s_l === undefined ? 'not evaluated (static)'
    : `${fmtS(b.s_l)} ${b.executed ? '>' : '≤'} τ_L ${fmtTau(trace.tau_l)}${trace.mode === 'c' ? ' (L gate not used in C-Net mode)' : ''}`;
  const rows = [
    ['Block', `stage ${b.stage}, block ${b.index} · output ${b.out_hw}×${b.out_hw}`],
    ['Status', b.executed ? 'ran' : 'skipped — only the shortcut ran'],
    ['s_L', gl],
    ['Channels kept', b.executed ? `${b.channels_kept} / ${b.channels_total}${meanScale !== null ? `, mean scale ${meanScale.toFixed(3)}` : ''}` : `0 / ${b.channels_total}`],
    ['MACs', `${fmtInt(b.macs)} (gates ${fmtInt(b.macs_gates)}) of ${fmtInt(b.macs_static)} static — ${fmtPct(b.macs / b.macs_static)}`],
  ];
  return el('dl', { class: 'facts' }, ...rows.flatMap(([k, v]) => [el('dt', { text: k }), el('dd', { text: v })]));
}

function slBar(b, trace) {
  const track = el('span', { class: 'sl-track', 'aria-hidden': 'true' });
  if (b.s_l !== null && b.s_l !== undefined) {
    const f = el('span', { class: 'sl-fill' });
    f.style.width = `${(100 * Math.max(0, Math.min(1, b.s_l))).toFixed(1)}%`;
    track.append(f);
  }
  if (trace.mode === 'l' || trace.mode === 'lc') {
    const tick = el('span', { class: 'sl-tau' });
    tick.style.left = `${(100 * Math.max(0, Math.min(1, trace.tau_l))).toFixed(1)}%`;
    track.append(tick);
  }
  return track;
}

function blockTile(b, trace, show, onToggle) {
  const desc = blockDescription(b, trace);
  const forced = b.forced === true || b.forced === false;
  const tile = el('div', {
    class: `blk ${b.executed ? 'run' : 'skip'}${forced ? ' forced' : ''}`, role: 'listitem', tabindex: '0',
    'aria-label': onToggle ? `${desc}. Enter: force it ${forced ? 'back to its gate' : b.executed ? 'off' : 'on'}` : desc, title: desc,
    'data-executed': String(b.executed), 'data-stage': String(b.stage), 'data-index': String(b.index),
    'data-forced': forced ? String(b.forced) : undefined,
  },
  el('span', { class: 'blk-head' },
    el('span', { class: 'blk-id', text: `${b.stage}.${b.index}` }),
    el('span', { class: 'blk-state', text: b.executed ? `${b.channels_kept}/${b.channels_total}` : '' })),
  b.executed ? channelStrip(b) : el('span', { class: 'bypass', 'aria-hidden': 'true', text: '↷ skipped' }),
  slBar(b, trace),
  el('span', { class: 'blk-sl', text: `s_L ${b.s_l === null || b.s_l === undefined ? '—' : b.s_l.toFixed(2)}` }));
  const on = () => show(b);
  tile.addEventListener('mouseenter', on);
  tile.addEventListener('focus', on);
  if (onToggle) {
    tile.addEventListener('click', () => onToggle(b));
    tile.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); onToggle(b); }
    });
  }
  return tile;
}

/** The "what if" line: the image's own run against the run with blocks forced; null `forced` hides it. */
export function renderWhatIf(base, forced) {
  const box = $('whatif');
  box.hidden = !forced;
  if (!forced) return;
  const ids = (v) => forced.blocks.filter((b) => b.forced === v).map((b) => `${b.stage}.${b.index}`);
  const parts = [ids(false).length && `${ids(false).join(', ')} forced off`, ids(true).length && `${ids(true).join(', ')} forced on`].filter(Boolean);
  const d = forced.macs - base.macs;
  const faint = forced.blocks.filter((b) => b.forced === true && typeof b.s_l === 'number' && b.s_l < 0.1);
  $('whatif-text').textContent = `What if ${parts.join(' and ')}: ${base.label} ${fmtPct(base.prob)} → ${forced.label} ${fmtPct(forced.prob)}` +
    `${forced.label === base.label ? ' (same class)' : ' (the prediction changes)'}; MACs ${fmtM(base.macs)} → ${fmtM(forced.macs)} ` +
    `(${d >= 0 ? '+' : '−'}${fmtM(Math.abs(d))}, ${fmtPct(forced.macs / forced.macs_static)} of static). Later blocks' gates see the changed features and decide again.` +
    (faint.length ? ` A block forced on still has its output scaled by its s_L (${faint.map((b) => `${b.stage}.${b.index}: ${fmtS(b.s_l)}`).join(', ')}), so it adds little.` : '');
  box.dataset.macs = String(forced.macs);
  box.dataset.label = forced.label;
}

export function renderMap(trace, onToggle = null) {
  const detail = $('block-detail');
  const show = (b) => {
    detail.replaceChildren(blockDetail(b, trace));
    for (const t of document.querySelectorAll('#blocks .blk.active')) t.classList.remove('active');
    document.querySelector(`#blocks .blk[data-stage="${b.stage}"][data-index="${b.index}"]`)?.classList.add('active');
  };
  const stages = new Map();
  for (const b of trace.blocks) {
    if (!stages.has(b.stage)) stages.set(b.stage, []);
    stages.get(b.stage).push(b);
  }
  const arrow = () => el('span', { class: 'map-arrow', 'aria-hidden': 'true', text: '→' });
  const parts = [el('div', { class: 'map-node' }, el('span', { class: 'stage-h', text: 'stem' }), el('span', { class: 'fixed-box', text: 'conv 3×3' }))];
  for (const [s, blocks] of stages) {
    const ran = blocks.filter((b) => b.executed).length;
    const first = blocks[0];
    const macs = blocks.reduce((x, b) => x + b.macs, 0), macsStatic = blocks.reduce((x, b) => x + b.macs_static, 0);
    parts.push(arrow(), el('div', { class: 'map-stage', 'data-stage': String(s) },
      el('span', { class: 'stage-h' }, el('b', { text: `stage ${s}` }), ` · ${first.channels_total} ch · ${first.out_hw}×${first.out_hw}`,
        el('span', { class: 'stage-h2', text: `${ran}/${blocks.length} ran · ${fmtPct(macs / macsStatic)} of its MACs` })),
      el('div', { class: 'stage-blocks', role: 'list', 'aria-label': `stage ${s} blocks` }, ...blocks.map((b) => blockTile(b, trace, show, onToggle)))));
  }
  parts.push(arrow(), el('div', { class: 'map-node' }, el('span', { class: 'stage-h', text: 'classifier' }), el('span', { class: 'fixed-box', text: 'pool + fc' })));
  $('blocks').replaceChildren(...parts);
  $('blocks').classList.toggle('deep', trace.blocks.length > 12);
  detail.replaceChildren('Hover over or focus (Tab) a block to see its numbers.');
}

