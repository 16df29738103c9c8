// DOM rendering of the model card and of one trace. Pure functions of their inputs (no state),
// so the later full visualisation can reuse or replace them piece by piece.

export const $ = (id) => document.getElementById(id);

export const fmtInt = (n) => Number(n).toLocaleString('en-US');
export const fmtM = (n) => `${(n / 1e6).toFixed(2)} M`;
export const fmtPct = (x) => `${(100 * x).toFixed(1)} %`;
const fmtTau = (t) => (t === null || t === undefined ? '—' : Number(t).toFixed(2));

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') e.className = v;
    else if (k === 'text') e.textContent = v;
    else if (k.startsWith('data-') || k.startsWith('aria-') || k === 'role' || k === 'tabindex' || k === 'title') e.setAttribute(k, v);
    else e[k] = v;
  }
  for (const c of children) if (c !== null && c !== undefined) e.append(c);
  return e;
}

/** What the gates of this model are, in one plain sentence. */
export function gatesSummary(card) {
  const g = card.gates;
  if (!g) return { short: 'none (static model)', note: 'Static model: no gates, so every block and every channel runs for every image.', kind: 'static' };
  const which = [g.l_net && 'L-Net (blocks)', g.c_net && 'C-Net (channels)'].filter(Boolean).join(' + ') || 'none';
  if (!g.trained) {
    return { short: `${which}, UNTRAINED`, note: 'Gates untrained: they skip almost nothing yet. The MACs below show the mechanism, not a learned saving.', kind: 'untrained' };
  }
  return { short: `${which}, trained`, note: 'Gates trained: each image decides which blocks and channels it needs.', kind: 'trained' };
}

function accuracyOf(evaluation) {
  if (!evaluation || typeof evaluation !== 'object') return null;
  for (const k of ['accuracy', 'test_accuracy', 'top1']) {
    if (typeof evaluation[k] === 'number') return evaluation[k];
  }
  return null;
}

export function renderModel(info) {
  const c = info.card, a = c.arch;
  const gs = gatesSummary(c);
  const acc = accuracyOf(c.evaluation);
  const rows = [
    ['Name', c.name],
    ['Architecture', `ResNet-${a.depth}: 3 stages × ${a.blocks_per_stage} blocks, widths ${a.widths.join('/')}, ${a.num_classes} classes`],
    ['Parameters', `${fmtInt(info.params)}${info.gate_params ? ` (gates ${fmtInt(info.gate_params)})` : ''}`],
    ['Static MACs', `${fmtInt(info.macs_static)} (${fmtM(info.macs_static)})`],
    ['Gates', gs.short],
  ];
  if (c.gates) rows.push(['Default thresholds', `τ_L = ${fmtTau(c.thresholds.tau_l)}, τ_C = ${fmtTau(c.thresholds.tau_c)}`]);
  rows.push(['Test accuracy', acc === null ? 'not evaluated yet' : fmtPct(acc)]);
  $('card').replaceChildren(...rows.flatMap(([k, v]) => [el('dt', { text: k }), el('dd', { text: v })]));
  const note = $('gates-note');
  note.textContent = gs.note;
  note.dataset.kind = gs.kind;
  $('card-json').textContent = JSON.stringify(c, null, 2);
}

function drawPreview(rgba, size) {
  const canvas = $('preview');
  canvas.width = size;
  canvas.height = size;
  const ctx = canvas.getContext('2d');
  ctx.putImageData(new ImageData(new Uint8ClampedArray(rgba.buffer, rgba.byteOffset, rgba.byteLength), size, size), 0, 0);
}

function blockBox(b) {
  const share = b.channels_total ? b.channels_kept / b.channels_total : 0;
  const sl = b.s_l === null || b.s_l === undefined ? 'not evaluated' : b.s_l.toFixed(3);
  const desc = b.executed
    ? `block ${b.stage}.${b.index}: ran, ${b.channels_kept}/${b.channels_total} channels, s_L ${sl}, ${fmtInt(b.macs)} MACs of ${fmtInt(b.macs_static)} static`
    : `block ${b.stage}.${b.index}: skipped (shortcut only), s_L ${sl}, ${fmtInt(b.macs)} MACs (gates) instead of ${fmtInt(b.macs_static)}`;
  const fill = el('span', { class: 'fill' });
  fill.style.height = `${(100 * share).toFixed(1)}%`;
  return el('div', {
    class: `blk ${b.executed ? 'run' : 'skip'}`, role: 'listitem', tabindex: '0', title: desc, 'aria-label': desc,
    'data-executed': String(b.executed), 'data-stage': String(b.stage), 'data-index': String(b.index),
  }, fill, el('span', { class: 'blk-label', text: b.executed ? `${b.stage}.${b.index}` : 'skip' }));
}

function renderBlocks(trace) {
  const stages = new Map();
  for (const b of trace.blocks) {
    if (!stages.has(b.stage)) stages.set(b.stage, []);
    stages.get(b.stage).push(b);
  }
  const groups = [el('div', { class: 'stage fixed' }, el('span', { class: 'stage-h', text: 'stem' }), el('div', { class: 'fixed-box', text: 'conv' }))];
  for (const [s, blocks] of stages) {
    const ran = blocks.filter((b) => b.executed).length;
    const first = blocks[0];
    groups.push(el('div', { class: 'stage' },
      el('span', { class: 'stage-h', text: `stage ${s} · ${first.channels_total} ch · ${first.out_hw}×${first.out_hw} · ${ran}/${blocks.length} ran` }),
      el('div', { class: 'stage-blocks', role: 'list', 'aria-label': `stage ${s} blocks` }, ...blocks.map(blockBox))));
  }
  groups.push(el('div', { class: 'stage fixed' }, el('span', { class: 'stage-h', text: 'classifier' }), el('div', { class: 'fixed-box', text: 'fc' })));
  $('blocks').replaceChildren(...groups);
}

export function renderResult({ trace, preview }, { fileName, size }) {
  $('result-file').textContent = fileName ? `— ${fileName}` : '';
  drawPreview(preview, size);
  $('label').textContent = trace.label;
  $('prob').textContent = fmtPct(trace.prob);
  $('top').replaceChildren(...trace.top.map((t) => {
    const bar = el('span', { class: 'bar' });
    bar.style.width = `${(100 * t.prob).toFixed(1)}%`;
    return el('li', {},
      el('span', { class: 'top-label', text: t.label }),
      el('span', { class: 'bar-track', 'aria-hidden': 'true' }, bar),
      el('span', { class: 'top-prob', text: fmtPct(t.prob) }));
  }));
  $('macs').textContent = fmtInt(trace.macs);
  $('macs').dataset.value = String(trace.macs);
  $('macs-m').textContent = `(${fmtM(trace.macs)})`;
  $('macs-static').textContent = fmtInt(trace.macs_static);
  $('macs-static').dataset.value = String(trace.macs_static);
  $('macs-static-m').textContent = `(${fmtM(trace.macs_static)})`;
  const ratio = trace.macs / trace.macs_static;
  $('macs-pct').textContent = `${fmtPct(ratio)}${ratio < 1 ? ` (saves ${fmtPct(1 - ratio)})` : ''}`;
  $('macs-gates').textContent = `${fmtInt(trace.macs_gates)} MACs`;
  $('blocks-run').textContent = `${trace.blocks_executed} / ${trace.blocks_total}`;
  $('blocks-run').dataset.executed = String(trace.blocks_executed);
  const modes = { static: 'static (no gates)', l: 'L-Net only', c: 'C-Net only', lc: 'LC-Net' };
  $('mode').textContent = trace.mode === 'static'
    ? modes.static
    : `${modes[trace.mode] ?? trace.mode}, τ_L = ${fmtTau(trace.tau_l)}, τ_C = ${fmtTau(trace.tau_c)}`;
  $('elapsed').textContent = `${trace.elapsed_ms.toFixed(1)} ms (one run, in the worker)`;
  renderBlocks(trace);
  $('trace-json').textContent = JSON.stringify(trace, null, 2);
}
