// DOM rendering: the model card, a result (dynamic vs static), the network map, the
// accuracy–MACs chart, the batch table and histogram. No state of its own, but the chart's last arguments (to
// redraw it at the width it is shown at).

export const $ = (id) => document.getElementById(id);

export const fmtInt = (n) => Number(n).toLocaleString('en-US');
export const fmtM = (n) => `${(n / 1e6).toFixed(2)} M`;
export const fmtPct = (x) => `${(100 * x).toFixed(1)} %`;
/** A share near 100 % (or a small difference) with enough digits to see it. */
const fmtPctFine = (x) => `${(100 * x).toFixed(Math.abs(x - Math.round(x)) < 0.01 ? 2 : 1)} %`;
export const fmtTau = (t) => (t === null || t === undefined ? '—' : Number(t).toFixed(2));
const fmtS = (v) => (v === null || v === undefined ? '—' : Number(v).toFixed(3));
const MODES = { static: 'static', l: 'L-Net only', c: 'C-Net only', lc: 'LC-Net' };
export const modeName = (m) => MODES[m] ?? m;

export function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null) continue;
    if (k === 'class') e.className = v;
    else if (k === 'text') e.textContent = v;
    else if (k.startsWith('data-') || k.startsWith('aria-') || ['role', 'tabindex', 'title', 'for', 'type', 'scope'].includes(k)) e.setAttribute(k, v);
    else e[k] = v;
  }
  for (const c of children) if (c !== null && c !== undefined && c !== false) e.append(c);
  return e;
}

const SVG = 'http://www.w3.org/2000/svg';
export function svg(tag, attrs = {}, ...children) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== null) e.setAttribute(k, String(v));
  for (const c of children) if (c) e.append(c);
  return e;
}
export const svgText = (x, y, s, attrs = {}) => { const t = svg('text', { x, y, ...attrs }); t.textContent = s; return t; };

// ---- model card --------------------------------------------------------------------------
/** What the gates of this model are, in plain sentences. */
export function gatesSummary(card) {
  const g = card.gates;
  if (!g) return { short: 'none (static model)', note: 'Static model: no gates, so every block and every channel runs for every image.', kind: 'static' };
  const which = [g.l_net && 'L-Net (blocks)', g.c_net && 'C-Net (channels)'].filter(Boolean).join(' + ') || 'none';
  if (!g.trained) {
    const init = card.provenance?.config?.gate_init_bias;
    const near = typeof init === 'number' ? `near ${init}` : 'near 1';
    return {
      short: `${which}, UNTRAINED`,
      note: `Gates untrained: they skip almost nothing yet. Their outputs sit ${near}, so at the default thresholds every block and channel runs and the MACs show only the gates' small overhead. ` +
        `Drag τ_L or τ_C above the gate values (≈ ${typeof init === 'number' ? init : '0.95'}) to watch blocks and channels being skipped — the mechanism, not a learned saving.`,
      kind: 'untrained',
    };
  }
  let note = 'Gates trained: each image decides which blocks and channels it needs.';
  if (g.l_net && noBlockEverSkipped(card)) {
    note += ' In this model\'s measured curve every block ran for every test image at every threshold measured, so raising τ_L changes little: its savings come from channels (τ_C).';
  }
  const joint = jointlyTrained(card);
  if (joint) note += ` ${joint.note}`;
  if (trainedAsOneNetwork(card)) note += ` ${ONE_NETWORK_NOTE}`;
  return { short: `${which}, trained`, note, kind: 'trained', joint };
}

const ONE_NETWORK_NOTE = 'One network for the whole range: every training step trained these weights with every block and channel (the static side, a calibrated network) and gated at several thresholds, so each threshold is a compute budget and the static side is the baseline.';

/** True for weights trained by the sandwich recipe: the full network and the gated one at several thresholds, every step. */
export function trainedAsOneNetwork(card) {
  const cfg = card?.provenance?.config;
  // sw_full 0: the sandwich without its full pass trains only the gated network (the static side is not trained)
  return Boolean(card?.gates?.trained && cfg?.sandwich === true && (cfg.sw_full ?? 1) > 0);
}

/**
 * For gates trained together with the backbone: the weights fit the gated network, so the same weights run
 * without gates (the static side) are no accuracy baseline; the backbone the run started from is. Null otherwise.
 */
export function jointlyTrained(card) {
  const p = card?.provenance;
  if (!card?.gates?.trained || p?.config?.freeze_backbone !== false || trainedAsOneNetwork(card)) return null;
  const phases = Array.isArray(p.phases) ? p.phases : [];
  const backbone = phases.find((ph) => ph && ph.phase === 'backbone');
  const acc = backbone?.final?.acc_static;
  const ref = staticReferenceOf(card);
  const start = ref
    ? ` The static side runs its static reference instead, ${ref.name}${ref.accuracy !== null ? ` (${fmtPct(ref.accuracy)} static)` : ''}: the backbone it started from, stored beside it.`
    : typeof acc === 'number' ? ` The backbone it started from scored ${fmtPct(acc)} (trainer's evaluation): that is the accuracy to compare with.` : '';
  return {
    backboneAccuracy: ref?.accuracy ?? (typeof acc === 'number' ? acc : null),
    backboneLabel: ref ? `static reference ${ref.name}` : 'backbone it started from, static',
    note: 'Its backbone was trained together with the gates, so its weights fit the gated network: the static side (the same weights, every block and channel) shows the compute the gates save, but its prediction is not a baseline.' + start,
    staticNote: 'Same weights without their gates: they were trained with them, so this prediction is out of calibration. It is here for the compute.',
  };
}

/**
 * The static network the card names as its comparison (a model file beside it), with its accuracy when
 * `lcnet eval` measured it into the card's evaluation; null when the card names none.
 */
export function staticReferenceOf(card) {
  const file = card?.static_reference;
  if (!file) return null;
  // the card was validated on load (src/model/evaluation.rs): a measured reference is the one it names
  const e = card.evaluation?.static_reference;
  return { file, name: e?.name ?? file.replace(/\.safetensors$/, ''), accuracy: e?.accuracy ?? null };
}

/** True when the card's measured curve has gated points and every block ran for every image at each of them. */
function noBlockEverSkipped(card) {
  const gated = (card?.evaluation?.curve ?? []).filter((p) => p.mode === 'l' || p.mode === 'lc');
  return gated.length > 0 && gated.every((p) => p.block_exec_rate.every((r) => r >= 0.9995));
}

/** The card's accuracy–MACs evaluation (typed and validated by the loader), or null when not measured. */
export function evaluationOf(card) {
  const e = card?.evaluation;
  if (!e) return null;
  return { dataset: e.dataset, staticAccuracy: e.static_accuracy, curve: e.curve };
}

function trainerAccuracy(card) {
  const t = card?.provenance?.pytorch_test_eval;
  return t && typeof t.acc_static === 'number' ? t.acc_static : null;
}

/** What the page's static side runs: the static reference (loaded, or why not) or these weights without gates. */
export function staticSide(card, reference) {
  const ref = staticReferenceOf(card);
  if (reference?.name) {
    return {
      kind: `(static reference: ${reference.name}, every block and channel)`,
      note: `The static network this model is compared with: ${reference.name} (models/${reference.file}), stored beside it — ` +
        `the same architecture trained without gates${ref?.accuracy != null ? `, ${fmtPct(ref.accuracy)} on the test set` : ''}. ` +
        'These weights without their gates are not shown here: they were trained with their gates, so they are out of calibration.',
    };
  }
  const joint = jointlyTrained(card);
  const why = reference?.error ? `Its static reference ${reference.file} could not be loaded (${reference.error}), so this is the fallback. ` : '';
  return {
    kind: '(every block and channel)',
    note: joint ? why + joint.staticNote : why || null,
  };
}

export function renderModel(info, source, reference = null) {
  const c = info.card, a = c.arch;
  const gs = gatesSummary(c);
  const ev = evaluationOf(c);
  const rows = [
    ['Name', c.name],
    ['Source', source],
    ['Architecture', `ResNet-${a.depth}: 3 stages × ${a.blocks_per_stage} blocks, widths ${a.widths.join('/')}, ${a.num_classes} classes`],
    ['Parameters', `${fmtInt(info.params)}${info.gate_params ? ` (gates ${fmtInt(info.gate_params)})` : ''}`],
    ['Static MACs', `${fmtInt(info.macs_static)} (${fmtM(info.macs_static)})`],
    ['Gates', gs.short],
  ];
  if (c.gates) rows.push(['Default thresholds', `τ_L = ${fmtTau(c.thresholds.tau_l)}, τ_C = ${fmtTau(c.thresholds.tau_c)}`]);
  if (ev && ev.staticAccuracy !== null) {
    const d = defaultPoint(c);
    const atDefaults = d && ['At the defaults', `${fmtPct(d.accuracy)} test accuracy at ${fmtPct(d.macs_fraction ?? NaN)} of the static MACs, ${ev.dataset}`];
    if (gs.joint) {
      // the static figure of jointly trained weights is no baseline: lead with what the model does
      if (atDefaults) rows.push(atDefaults);
      const ref = staticReferenceOf(c);
      if (ref) rows.push(['Static reference', `${ref.name} (${ref.file})${ref.accuracy !== null ? `: ${fmtPct(ref.accuracy)} static, ${ev.dataset}` : ''}`]);
      else if (gs.joint.backboneAccuracy != null) rows.push(['Backbone it started from', `${fmtPct(gs.joint.backboneAccuracy)} static (trainer's evaluation)`]);
      rows.push(['Without its gates', `${fmtPct(ev.staticAccuracy)} (these weights were trained with their gates: not a baseline)`]);
    } else {
      rows.push(['Test accuracy', `${fmtPct(ev.staticAccuracy)} static, ${ev.dataset}`]);
      if (atDefaults) rows.push(atDefaults);
    }
  } else {
    const t = trainerAccuracy(c);
    rows.push(['Test accuracy', t === null ? 'not evaluated yet' : `not evaluated by lcnet eval yet (the trainer measured ${fmtPct(t)} static)`]);
  }
  $('card').replaceChildren(...rows.filter(([, v]) => v).flatMap(([k, v]) => [el('dt', { text: k }), el('dd', { text: v })]));
  const note = $('gates-note');
  note.textContent = gs.note;
  note.dataset.kind = gs.kind;
  const side = staticSide(c, reference);
  const staticNote = $('static-note');
  staticNote.hidden = !side.note;
  staticNote.textContent = side.note ?? '';
  $('static-kind').textContent = side.kind;
  $('card-json').textContent = JSON.stringify(c, null, 2);
}

const near = (a, b) => typeof a === 'number' && typeof b === 'number' && Math.abs(a - b) < 1e-4;

/** The card's measured LC-Net point at its default thresholds, or null. */
export function defaultPoint(card) {
  const ev = evaluationOf(card), t = card?.thresholds;
  if (!ev || !t) return null;
  return ev.curve.find((p) => p.mode === 'lc' && near(p.tau_l, t.tau_l) && near(p.tau_c, t.tau_c)) ?? null;
}

// ---- one result --------------------------------------------------------------------------
/** preview: the ImageData the wasm module made of what the network sees. */
function drawPreview(preview, size) {
  const canvas = $('preview');
  canvas.width = size;
  canvas.height = size;
  canvas.getContext('2d').putImageData(preview, 0, 0);
}

function topList(top, id, trueLabel) {
  $(id).replaceChildren(...top.map((t) => {
    const bar = el('span', { class: 'bar' });
    bar.style.width = `${(100 * t.prob).toFixed(1)}%`;
    const mark = trueLabel && t.label === trueLabel ? ' ✓' : '';
    return el('li', { class: trueLabel && t.label === trueLabel ? 'is-true' : undefined },
      el('span', { class: 'top-label', text: t.label + mark }),
      el('span', { class: 'bar-track', 'aria-hidden': 'true' }, bar),
      el('span', { class: 'top-prob', text: fmtPct(t.prob) }));
  }));
}

export function describeSetting(trace) {
  if (trace.mode === 'static') return 'static';
  const parts = [];
  if (trace.mode !== 'c') parts.push(`τ_L ${fmtTau(trace.tau_l)}`);
  if (trace.mode !== 'l') parts.push(`τ_C ${fmtTau(trace.tau_c)}`);
  return `${modeName(trace.mode)}, ${parts.join(', ')}`;
}

/** dyn, stat: {trace, preview}; img: {name, trueLabel}. */
export function renderResult(dyn, stat, img, size, onToggle = null) {
  const t = dyn.trace, s = stat.trace;
  $('result-file').textContent = `— ${img.name}`;
  drawPreview(dyn.preview, size);
  const tl = $('true-label');
  tl.hidden = !img.trueLabel;
  if (img.trueLabel) {
    const right = t.label === img.trueLabel;
    tl.textContent = `true label: ${img.trueLabel} — ${right ? '✓ right' : '✗ wrong'}`;
    tl.dataset.right = String(right);
  }
  $('mode').textContent = `(${describeSetting(t)})`;
  $('label').textContent = t.label;
  $('prob').textContent = fmtPct(t.prob);
  topList(t.top, 'top', img.trueLabel);
  $('label-static').textContent = s.label;
  $('prob-static').textContent = fmtPct(s.prob);
  topList(s.top, 'top-static', img.trueLabel);

  $('macs').textContent = fmtInt(t.macs);
  $('macs').dataset.value = String(t.macs);
  $('macs-m').textContent = `(${fmtM(t.macs)})`;
  $('macs-static').textContent = fmtInt(s.macs);
  $('macs-static').dataset.value = String(s.macs);
  $('macs-static-m').textContent = `(${fmtM(s.macs)})`;
  $('macs-gates').textContent = `${fmtInt(t.macs_gates)}`;
  $('blocks-run').textContent = `${t.blocks_executed} / ${t.blocks_total}`;
  $('blocks-run').dataset.executed = String(t.blocks_executed);
  $('blocks-run-static').textContent = `${s.blocks_executed} / ${s.blocks_total}`;

  const ratio = t.macs / s.macs;
  $('macs-pct').textContent = fmtPctFine(ratio);
  $('macs-x').textContent = ratio < 1 ? `saves ${fmtPctFine(1 - ratio)}, ${(1 / ratio).toFixed(2)}× fewer`
    : ratio > 1 ? `costs ${fmtPctFine(ratio - 1)} more: the gates' cost${t.blocks_executed === t.blocks_total ? ', and nothing was skipped' : ''}` : 'the same';
  $('gate-pct').textContent = `${fmtInt(t.macs_gates)} (${(100 * t.macs_gates / s.macs).toFixed(2)} %)`;
  renderMap(t, onToggle);
  $('trace-json').textContent = JSON.stringify(t, null, 2);
}

/** timing: null (measuring) or {dyn: ms, stat: ms, runs}. */
export function renderTiming(timing) {
  const p = $('timing');
  if (!timing) {
    for (const id of ['ms-dyn', 'ms-static', 'ms-pct']) $(id).textContent = '…';
    $('ms-x').textContent = '';
    p.textContent = 'Measuring the time of both in the worker…';
    p.dataset.state = 'measuring';
    return;
  }
  $('ms-dyn').textContent = `${timing.dyn.toFixed(2)} ms`;
  $('ms-static').textContent = `${timing.stat.toFixed(2)} ms`;
  $('ms-dyn').dataset.value = String(timing.dyn);
  $('ms-static').dataset.value = String(timing.stat);
  const r = timing.dyn / timing.stat;
  $('ms-pct').textContent = fmtPct(r);
  $('ms-x').textContent = r < 1 ? `saves ${fmtPct(1 - r)}, ${(1 / r).toFixed(2)}× faster` : `${fmtPct(r - 1)} slower`;
  p.textContent = `Times: median of ${timing.runs} warm runs each (after a warm-up run), forward pass only, measured in this browser's Web Worker ` +
    '(WebAssembly, one thread). They vary with the machine and the load; MACs do not.';
  p.dataset.state = 'done';
}

// ---- the network map ---------------------------------------------------------------------
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

// ---- accuracy–MACs chart -----------------------------------------------------------------
const SERIES = {
  lc: { name: 'LC-Net', dash: null, marker: 'circle' },
  l: { name: 'L-Net only', dash: '6 3', marker: 'square' },
  c: { name: 'C-Net only', dash: '2 3', marker: 'triangle' },
};

export function marker(kind, x, y, r, cls) {
  if (kind === 'square') return svg('rect', { x: x - r, y: y - r, width: 2 * r, height: 2 * r, class: cls });
  if (kind === 'triangle') return svg('polygon', { points: `${x},${y - r * 1.2} ${x - r * 1.1},${y + r * 0.8} ${x + r * 1.1},${y + r * 0.8}`, class: cls });
  if (kind === 'diamond') return svg('polygon', { points: `${x},${y - r * 1.3} ${x + r * 1.3},${y} ${x},${y + r * 1.3} ${x - r * 1.3},${y}`, class: cls });
  if (kind === 'cross') {
    const d = r * 0.9;
    return svg('path', { d: `M${x - d},${y - d}L${x + d},${y + d}M${x - d},${y + d}L${x + d},${y - d}`, class: cls });
  }
  return svg('circle', { cx: x, cy: y, r, class: cls });
}

/** The LC-Net points of other models' measured curves: [{name, points: [{p, frac}], def}] (def: the point at that
 *  model's default thresholds, if measured). */
function otherSeries(others) {
  const out = [];
  for (const { name, card } of others) {
    const ev = evaluationOf(card);
    if (!ev) continue;
    const points = ev.curve.filter((p) => p.mode === 'lc')
      .map((p) => ({ p, frac: p.macs_fraction })).sort((a, b) => a.frac - b.frac);
    if (!points.length) continue;
    const dp = defaultPoint(card);
    out.push({ name, points, def: points.find(({ p }) => p === dp) ?? null });
  }
  return out;
}

let measureCtx = null;
/** The width of `s` in px at `size` px (the page's font), for placing labels. */
function textWidth(s, size, weight = 400) {
  measureCtx ??= document.createElement('canvas').getContext('2d');
  if (!measureCtx) return s.length * size * 0.6;
  measureCtx.font = `${weight} ${size}px ${getComputedStyle(document.body).fontFamily}`;
  return measureCtx.measureText(s).width;
}

/**
 * Places text labels so they do not overlap: a label takes the first of its candidate positions whose box lies in
 * `area` and clear of every box placed so far (points and earlier labels), else the one overlapping least.
 */
export function labelPlacer(area) {
  const boxes = [];
  const overlap = (a, b) => Math.max(0, Math.min(a.x1, b.x1) - Math.max(a.x0, b.x0)) * Math.max(0, Math.min(a.y1, b.y1) - Math.max(a.y0, b.y0));
  return {
    /** An obstacle (a marker). */
    block(x, y, r) { boxes.push({ x0: x - r, y0: y - r, x1: x + r, y1: y + r }); },
    /** cands: [{x, y, anchor}] (y: the baseline); returns the chosen candidate with its box. */
    place(text, size, cands, weight = 400) {
      const w = textWidth(text, size, weight);
      let best = null, bestCost = Infinity;
      for (const c of cands) {
        const x0 = c.anchor === 'end' ? c.x - w : c.anchor === 'middle' ? c.x - w / 2 : c.x;
        const b = { x0: x0 - 2, y0: c.y - size * 0.82 - 1, x1: x0 + w + 2, y1: c.y + size * 0.24 + 1 };
        const out = Math.max(0, area.x0 - b.x0) + Math.max(0, b.x1 - area.x1) + Math.max(0, area.y0 - b.y0) + Math.max(0, b.y1 - area.y1);
        const cost = boxes.reduce((s, o) => s + overlap(b, o), 0) + 1000 * out;
        if (cost < bestCost) { best = { ...c, box: b }; bestCost = cost; }
        if (cost === 0) break;
      }
      boxes.push(best.box);
      return best;
    },
  };
}

/** A small tooltip inside `box` (position: relative) for the marker `target`: lines of text, above it or below. */
export function showTip(box, tip, target, lines) {
  tip.replaceChildren(...lines.map((l, i) => (typeof l === 'string' ? el('span', { class: i ? 'tip-line' : 'tip-head', text: l }) : l)));
  tip.hidden = false;
  const b = box.getBoundingClientRect(), t = target.getBoundingClientRect();
  const cx = t.left + t.width / 2 - b.left, top = t.top - b.top, bottom = t.bottom - b.top;
  const w = tip.offsetWidth, h = tip.offsetHeight;
  tip.style.left = `${Math.max(0, Math.min(b.width - w, cx - w / 2))}px`;
  tip.style.top = `${top - h - 8 >= 0 ? top - h - 8 : bottom + 8}px`;
}

let chartLast = null;       // the last call's arguments: the chart is redrawn at its new width when its box resizes
let chartZoom = false;      // zoomed in on the top of the curve (the person's choice, kept across models)

/**
 * The region of the chart around the top of an LC-Net curve (its points within 10 points of its best accuracy, and
 * the backbone's line), or null when that region is most of the chart anyway.
 */
function curveTop(lc, backbone, all) {
  if (lc.length < 3) return null;
  const best = Math.max(...lc.map((p) => p.accuracy));
  const near = lc.filter((p) => p.accuracy >= best - 0.1);
  const fx = near.map((p) => p.macs_fraction), fy = near.map((p) => p.accuracy);
  let x0 = Math.min(...fx) - 0.02, x1 = Math.max(...fx) + 0.02;
  if (x1 - x0 < 0.1) { const m = (x0 + x1) / 2; x0 = m - 0.05; x1 = m + 0.05; }
  let y0 = Math.min(...fy) - 0.01, y1 = Math.max(best, backbone ?? 0) + 0.01;
  if (y1 - y0 < 0.04) y0 = y1 - 0.04;
  x0 = Math.max(0, Math.floor(x0 * 100) / 100); x1 = Math.ceil(x1 * 100) / 100;
  y0 = Math.max(0, Math.floor(y0 * 100) / 100); y1 = Math.min(1, Math.ceil(y1 * 100) / 100);
  if (y1 - y0 > 0.5 * (all.y1 - all.y0) && x1 - x0 > 0.5 * (all.x1 - all.x0)) return null;
  return { x0, x1, y0, y1 };
}
let chartObserver = null;

function watchChartWidth(box) {
  if (chartObserver || typeof ResizeObserver !== 'function') return;
  let width = box.clientWidth;
  chartObserver = new ResizeObserver(() => {
    if (Math.abs(box.clientWidth - width) < 8 || !chartLast || box.hidden) return;
    width = box.clientWidth;
    renderChart(...chartLast);
  });
  chartObserver.observe(box);
}

/** Whether this model's gates can run a curve point's mode (a card may list points its gates cannot run). */
function runnable(card, mode) {
  const g = card.gates;
  return mode === 'static' || Boolean(g && (!mode.includes('l') || g.l_net) && (!mode.includes('c') || g.c_net));
}

function legendItem(kind, text, cls, dash = null) {
  const s = svg('svg', { width: 26, height: 14, viewBox: '0 0 26 14', 'aria-hidden': 'true', class: 'chart-svg legend-svg' });
  if (kind === 'line') s.append(svg('line', { x1: 1, x2: 25, y1: 7, y2: 7, class: cls, 'stroke-dasharray': dash ?? undefined }));
  else if (kind === 'vline') s.append(svg('line', { x1: 13, x2: 13, y1: 0, y2: 14, class: cls }));
  else if (kind === 'ring') s.append(svg('circle', { cx: 13, cy: 7, r: 5.5, class: 'op-ring' }), svg('circle', { cx: 13, cy: 7, r: 2, class: 'op-dot' }));
  else {
    if (dash !== false) s.append(svg('line', { x1: 1, x2: 25, y1: 7, y2: 7, class: `series ${cls.replace('pt', 'series')}`, 'stroke-dasharray': dash ?? undefined }));
    s.append(marker(kind, 13, 7, kind === 'diamond' ? 3.6 : 4, `pt ${cls}`));
  }
  return el('li', {}, s, text);
}

/** card: the model card; opts: {mode, tau_l, tau_c}; imageFraction: this image's MACs / static, or null;
 *  others: [{name, card}] of other models of the same architecture, whose LC-Net points are drawn in grey;
 *  onPick({mode, tau_l, tau_c}): called when a point of this model's curve is clicked (or Enter on it). */
export function renderChart(card, opts, imageFraction, others = [], onPick = null) {
  chartLast = [card, opts, imageFraction, others, onPick];
  const ev = evaluationOf(card);
  const box = $('chart'), empty = $('chart-empty'), note = $('chart-note');
  if (!ev || ev.curve.length === 0) {
    box.replaceChildren();
    box.hidden = true;
    $('chart-legend')?.replaceChildren();
    empty.hidden = false;
    empty.textContent = 'No accuracy–MACs curve measured for this model yet: its model card has no evaluation curve. ' +
      'Once one is measured on the test set, it is drawn here with the current thresholds marked on it.';
    note.textContent = imageFraction === null ? '' : `This image: ${fmtPct(imageFraction)} of the static MACs.`;
    return;
  }
  box.hidden = false;
  empty.hidden = true;
  watchChartWidth(box);
  const focusedKey = box.contains(document.activeElement) ? document.activeElement.getAttribute('data-key') : null;
  const frac = (p) => p.macs_fraction;
  const pts = ev.curve.filter((p) => frac(p) !== null);
  const rest = otherSeries(others);
  const restPts = rest.flatMap((o) => o.points);
  // drawn at the width it is shown at, so text is the page's size on a phone and on a desktop
  const W = Math.round(Math.max(300, Math.min(1100, box.clientWidth || 640)));
  const narrow = W < 560;
  const H = Math.round(Math.max(280, Math.min(420, W * (narrow ? 1 : 0.46))));
  const L = narrow ? 50 : 56, R = 14, T = 18, B = 42;
  const xs = [...pts.map(frac), ...restPts.map((o) => o.frac), 1, ...(imageFraction !== null ? [imageFraction] : [])];
  // jointly trained weights: the backbone they started from is the accuracy to compare with
  const joint = jointlyTrained(card);
  const backbone = joint?.backboneAccuracy ?? null;
  const ys = [...pts.map((p) => p.accuracy), ...restPts.map((o) => o.p.accuracy), ...(ev.staticAccuracy !== null ? [ev.staticAccuracy] : []),
    ...(backbone !== null ? [backbone] : [])];
  let x0 = Math.max(0, Math.floor(Math.min(...xs) * 10) / 10), x1 = Math.ceil(Math.max(...xs) * 10) / 10;
  let y0 = Math.max(0, Math.floor(Math.min(...ys) * 20) / 20), y1 = Math.min(1, Math.ceil(Math.max(...ys) * 20) / 20 + 1e-9);
  const top = curveTop(pts.filter((p) => p.mode === 'lc'), backbone, { x0, x1, y0, y1 });
  const zoomed = chartZoom && top !== null;
  if (zoomed) ({ x0, x1, y0, y1 } = top);
  const inView = (f, a) => !zoomed || (f >= x0 - 1e-9 && f <= x1 + 1e-9 && a >= y0 - 1e-9 && a <= y1 + 1e-9);
  const X = (v) => L + (W - L - R) * (v - x0) / Math.max(1e-9, x1 - x0);
  const Y = (v) => T + (H - T - B) * (1 - (v - y0) / Math.max(1e-9, y1 - y0));
  const g = svg('svg', { viewBox: `0 0 ${W} ${H}`, width: W, height: H, class: 'chart-svg', role: 'group', 'aria-labelledby': 'chart-title' });
  const title = svg('title', { id: 'chart-title' });
  title.textContent = `Test accuracy against MACs (share of the static network) for ${ev.curve.length} threshold settings` +
    (rest.length ? `, and ${restPts.length} of ${rest.length} other model${rest.length > 1 ? 's' : ''}` : '') +
    (onPick ? '. Click a point of this model, or focus it and press Enter, to use its setting.' : '');
  g.append(title);
  // axes and grid
  const ticks = (a, b, n) => {
    const step = [0.01, 0.02, 0.05, 0.1, 0.2, 0.25, 0.5].find((st) => (b - a) / st <= n) ?? 0.5;
    const out = [];
    for (let v = Math.ceil(a / step - 1e-9) * step; v <= b + 1e-9; v += step) out.push(Math.round(v * 1000) / 1000);
    return out;
  };
  for (const vx of ticks(x0, x1, narrow ? 5 : 10)) {
    g.append(svg('line', { x1: X(vx), x2: X(vx), y1: T, y2: H - B, class: 'grid' }),
      svgText(X(vx), H - B + 16, `${Math.round(100 * vx)}%`, { class: 'tick', 'text-anchor': 'middle' }));
  }
  for (const vy of ticks(y0, y1, narrow ? 6 : 8)) {
    g.append(svg('line', { x1: L, x2: W - R, y1: Y(vy), y2: Y(vy), class: 'grid' }),
      svgText(L - 6, Y(vy) + 4, `${Math.round(100 * vy)}%`, { class: 'tick', 'text-anchor': 'end' }));
  }
  g.append(svgText((L + W - R) / 2, H - 8, 'MACs, share of the static network', { class: 'axis', 'text-anchor': 'middle' }),
    svgText(11, (T + H - B) / 2, 'test accuracy', { class: 'axis', 'text-anchor': 'middle', transform: `rotate(-90 11 ${(T + H - B) / 2})` }));

  const labels = [];                 // [text, x, y, anchor, class], drawn last, over everything
  const leaders = [];
  const placer = labelPlacer({ x0: L + 2, y0: 2, x1: W - 2, y1: H - B - 2 });
  const tips = new Map();            // point element → tooltip lines
  if (zoomed) {
    g.append(svg('clipPath', { id: 'chart-clip' }, svg('rect', { x: L - 8, y: T - 8, width: W - L - R + 16, height: H - T - B + 16 })));
  }
  const layer = svg('g', { class: 'points', 'clip-path': zoomed ? 'url(#chart-clip)' : undefined });
  const rPt = narrow ? 4.6 : 5.4, rOther = narrow ? 3.2 : 3.6;
  const legend = [], keys = [], seriesKeys = [];
  if (imageFraction !== null && imageFraction >= x0 && imageFraction <= x1) {
    g.append(svg('line', { x1: X(imageFraction), x2: X(imageFraction), y1: T, y2: H - B, class: 'image-line' }));
    keys.push(legendItem('vline', `this image (${fmtPct(imageFraction)})`, 'image-line'));
  }
  const showBackbone = backbone !== null && backbone >= y0 - 1e-9 && backbone <= y1 + 1e-9;
  if (showBackbone) {
    g.append(svg('line', { x1: L, x2: W - R, y1: Y(backbone), y2: Y(backbone), class: 'backbone-line' }));
    legend.push(`${joint.backboneLabel.replace(/, static$/, '')} (dashed line)`);
    keys.push(legendItem('line', joint.backboneLabel.replace(/, static$/, ''), 'backbone-line'));
  }
  // other models first, so this model's points are drawn over them
  for (const o of rest) {
    layer.append(svg('polyline', { points: o.points.map(({ p, frac: f }) => `${X(f)},${Y(p.accuracy)}`).join(' '), class: 'series series-other' }));
    for (const { p, frac: f } of o.points) {
      const m = marker('circle', X(f), Y(p.accuracy), rOther, 'pt pt-other');
      const t = svg('title');
      t.textContent = `${o.name}, τ_L ${fmtTau(p.tau_l)}, τ_C ${fmtTau(p.tau_c)}: ${fmtPct(p.accuracy)} at ${fmtPct(f)} MACs`;
      m.append(t);
      const pg = svg('g', { class: 'pt-g pt-g-other' }, svg('circle', { cx: X(f), cy: Y(p.accuracy), r: rOther + 4, class: 'hit' }), m);
      tips.set(pg, [`${o.name} (another model)`, `LC-Net, τ_L ${fmtTau(p.tau_l)}, τ_C ${fmtTau(p.tau_c)}`,
        `${fmtPct(p.accuracy)} accuracy at ${fmtPct(f)} of the static MACs`, 'Pick it in the model list to run it.']);
      layer.append(pg);
      placer.block(X(f), Y(p.accuracy), rOther + 1);
    }
  }
  if (rest.length) {
    legend.push(`other models of this depth, LC-Net (grey): ${rest.map((o) => o.name).join(', ')}`);
    keys.push(legendItem('circle', 'other models of this depth (grey, LC-Net)', 'pt-other', false));
  }
  const allPts = [];
  const pointGroup = (p, mode, kind, r, cls, name) => {
    const x = X(frac(p) ?? 1), y = Y(p.accuracy);
    const m = marker(kind, x, y, r, cls);
    const t = svg('title');
    const setting = mode === 'static' ? 'static' : `τ_L ${fmtTau(p.tau_l)}, τ_C ${fmtTau(p.tau_c)}`;
    t.textContent = mode === 'static' ? `${name}: ${fmtPct(p.accuracy)} at 100 % MACs` : `${name}, ${setting}: ${fmtPct(p.accuracy)} at ${fmtPct(frac(p))} MACs`;
    m.append(t);
    const pick = onPick && runnable(card, mode);
    const seen = inView(frac(p) ?? 1, p.accuracy);
    const key = `${mode}|${mode === 'static' ? '' : `${fmtTau(p.tau_l)}|${fmtTau(p.tau_c)}`}`;
    const pg = svg('g', {
      class: `pt-g${pick ? ' pickable' : ''}`, 'data-key': key, 'data-mode': mode, 'data-tau-l': p.tau_l ?? undefined, 'data-tau-c': p.tau_c ?? undefined,
      tabindex: seen ? '0' : '-1', role: pick ? 'button' : 'img', 'aria-hidden': seen ? undefined : 'true',
      'aria-label': `${t.textContent}${pick ? '. Press Enter to use this setting.' : ''}`,
    }, svg('circle', { cx: x, cy: y, r: r + 6, class: 'hit' }), m);
    const lines = [mode === 'static' ? `${name}` : `${name}, ${setting}`,
      `${fmtPct(p.accuracy)} test accuracy at ${fmtPct(frac(p) ?? 1)} of the static MACs`];
    if (pick) lines.push('Click (or Enter) to use this setting.');
    tips.set(pg, lines);
    if (pick) pg.__pick = () => onPick(mode === 'static' ? { mode } : { mode, tau_l: p.tau_l, tau_c: p.tau_c });
    layer.append(pg);
    placer.block(x, y, r + 1);
    allPts.push(pg);
  };
  for (const [mode, s] of Object.entries(SERIES)) {
    const ps = pts.filter((p) => p.mode === mode).sort((a, b) => frac(a) - frac(b));
    if (!ps.length) continue;
    layer.append(svg('polyline', { points: ps.map((p) => `${X(frac(p))},${Y(p.accuracy)}`).join(' '), class: `series series-${mode}`, 'stroke-dasharray': s.dash ?? undefined }));
    for (const p of ps) pointGroup(p, mode, s.marker, rPt, `pt pt-${mode}`, s.name);
    legend.push(s.name + ` (${s.marker}${s.dash ? ', dashed' : ''})`);
    seriesKeys.push(legendItem(s.marker, s.name, `pt-${mode}`, s.dash));
  }
  if (ev.staticAccuracy !== null) {
    pointGroup({ accuracy: ev.staticAccuracy, macs_fraction: 1 }, 'static', 'diamond', rPt * 0.85, 'pt pt-static',
      backbone !== null ? 'these weights without their gates' : 'static');
    legend.push(backbone !== null ? 'these weights without their gates (diamond; not a baseline)' : 'static (diamond)');
    keys.push(legendItem('diamond', backbone !== null ? 'without its gates (not a baseline)' : 'static', 'pt-static', false));
  }
  g.append(layer);
  // the operating point: the measured setting nearest to the current one
  let op = null;
  if (opts.mode === 'static') {
    if (ev.staticAccuracy !== null) op = { x: 1, y: ev.staticAccuracy, text: 'static' };
  } else {
    const same = pts.filter((p) => p.mode === opts.mode);
    const dist = (p) => (opts.mode === 'c' ? 0 : Math.abs((p.tau_l ?? 0) - opts.tau_l)) + (opts.mode === 'l' ? 0 : Math.abs((p.tau_c ?? 0) - opts.tau_c));
    const best = same.sort((a, b) => dist(a) - dist(b))[0];
    if (best) op = { x: frac(best), y: best.accuracy, exact: dist(best) < 1e-4, p: best };
  }
  // labels, most important first: each takes the first free place among its candidates
  if (op && !inView(op.x, op.y)) op.hidden = true;
  if (op && !op.hidden) {
    const ox = X(op.x), oy = Y(op.y);
    g.append(svg('circle', { cx: ox, cy: oy, r: 10, class: 'op-ring' }));
    placer.block(ox, oy, 11);
    const right = ox < (L + W - R) / 2;
    const side = (dx, dy) => [{ x: ox + dx, y: oy + dy, anchor: 'start' }, { x: ox - dx, y: oy + dy, anchor: 'end' }];
    const cands = [...side(13, -12), ...side(13, 20), ...side(15, 5), { x: ox, y: oy - 15, anchor: 'middle' }, { x: ox, y: oy + 26, anchor: 'middle' },
      ...side(13, -28), ...side(13, 36)];
    if (!right) for (let i = 0; i < cands.length - 1; i += 2) if (cands[i].anchor === 'start') [cands[i], cands[i + 1]] = [cands[i + 1], cands[i]];
    const text = op.exact || op.text ? 'you are here' : 'nearest measured';
    const c = placer.place(text, 12, cands, 700);
    labels.push([text, c.x, c.y, c.anchor, 'op-label']);
    keys.push(legendItem('ring', op.exact || op.text ? 'you are here (the current setting)' : 'nearest measured setting to yours'));
  }
  if (showBackbone) {
    const y = Y(backbone), text = `${joint.backboneLabel}: ${fmtPct(backbone)}`;
    const c = placer.place(text, 11, [{ x: L + 6, y: y - 5, anchor: 'start' }, { x: W - R - 6, y: y - 5, anchor: 'end' },
      { x: L + 6, y: y + 14, anchor: 'start' }, { x: W - R - 6, y: y + 14, anchor: 'end' }, { x: (L + W - R) / 2, y: y - 5, anchor: 'middle' },
      { x: (L + W - R) / 2, y: y + 14, anchor: 'middle' }]);
    labels.push([text, c.x, c.y, c.anchor, 'other-label backbone-label']);
  }
  if (imageFraction !== null && imageFraction >= x0 && imageFraction <= x1) {
    const ix = X(imageFraction);
    const c = placer.place('this image', 11, [{ x: ix + 4, y: T + 10, anchor: 'start' }, { x: ix - 4, y: T + 10, anchor: 'end' },
      { x: ix + 4, y: H - B - 6, anchor: 'start' }, { x: ix - 4, y: H - B - 6, anchor: 'end' }, { x: ix + 4, y: (T + H - B) / 2, anchor: 'start' },
      { x: ix - 4, y: (T + H - B) / 2, anchor: 'end' }]);
    labels.push(['this image', c.x, c.y, c.anchor, 'image-label']);
  }
  for (const o of rest) {
    const seen = o.points.filter(({ p, frac: f }) => inView(f, p.accuracy));
    const at = o.def && seen.includes(o.def) ? o.def : seen[seen.length - 1];
    if (!at) continue;
    const ax = X(at.frac), ay = Y(at.p.accuracy);
    const cands = [];
    for (let k = 0; k < 9; k++) {
      const d = 14 * k;
      cands.push({ x: ax + 8, y: ay + 15 + d, anchor: 'start' }, { x: ax - 8, y: ay + 15 + d, anchor: 'end' },
        { x: ax + 8, y: ay - 8 - d, anchor: 'start' }, { x: ax - 8, y: ay - 8 - d, anchor: 'end' });
      if (k === 0) cands.push({ x: ax + 10, y: ay + 4, anchor: 'start' }, { x: ax - 10, y: ay + 4, anchor: 'end' });
    }
    const c = placer.place(o.name, 11, cands);
    labels.push([o.name, c.x, c.y, c.anchor, 'other-label']);
    const lx = c.anchor === 'start' ? c.box.x0 + 1 : c.box.x1 - 1, ly = c.y < ay ? c.box.y1 : c.box.y0;
    if (Math.hypot(lx - ax, ly - ay) > 20) leaders.push(svg('line', { x1: ax, y1: ay, x2: lx, y2: ly, class: 'leader' }));
  }
  if (leaders.length) g.insertBefore(svg('g', {}, ...leaders), layer);
  g.append(svg('g', { class: 'labels', 'aria-hidden': 'true' }, ...labels.map(([s, x, y, anchor, cls]) => svgText(x, y, s, { class: cls, 'text-anchor': anchor }))));

  const tip = el('div', { class: 'chart-tip', 'aria-hidden': 'true', hidden: true });
  const pointOf = (e) => e.target.closest?.('.pt-g');
  const show = (e) => { const p = pointOf(e); if (p && tips.has(p)) showTip(box, tip, p.querySelector('.pt'), tips.get(p)); };
  const hide = (e) => { if (pointOf(e) && !(e.relatedTarget && pointOf({ target: e.relatedTarget }) === pointOf(e))) tip.hidden = true; };
  g.addEventListener('pointerover', show);
  g.addEventListener('pointerout', hide);
  g.addEventListener('focusin', show);
  g.addEventListener('focusout', hide);
  g.addEventListener('click', (e) => pointOf(e)?.__pick?.());
  g.addEventListener('keydown', (e) => {
    const p = pointOf(e);
    if (p?.__pick && (e.key === 'Enter' || e.key === ' ')) { e.preventDefault(); p.__pick(); }
    if (e.key === 'Escape') tip.hidden = true;
  });
  const zoom = top ? el('button', {
    type: 'button', class: 'button button-quiet chart-zoom', 'data-key': 'zoom', 'aria-pressed': String(zoomed),
    text: 'Zoom in on the top of the curve',
  }) : null;
  zoom?.addEventListener('click', () => { chartZoom = !chartZoom; renderChart(...chartLast); });
  box.replaceChildren(...(zoom ? [zoom] : []), g, tip);
  // the key, outside #chart (whose markers and lines tests count)
  $('chart-legend')?.replaceChildren(...seriesKeys, ...keys);
  box.dataset.points = String(pts.length);
  box.dataset.others = String(restPts.length);
  if (focusedKey) box.querySelector(`[data-key="${CSS.escape(focusedKey)}"]`)?.focus({ preventScroll: true });
  let text = `${ev.dataset}. Series: ${legend.join('; ')}. `;
  if (!op) text += `No measured point for ${modeName(opts.mode)}.`;
  else if (op.text) text += `Current setting: static, ${fmtPct(op.y)}.`;
  else text += `${op.exact ? 'Current setting' : `Nearest measured setting (τ_L ${fmtTau(op.p.tau_l)}, τ_C ${fmtTau(op.p.tau_c)})`}: ${fmtPct(op.y)} accuracy at ${fmtPct(op.x)} of the static MACs.`;
  if (imageFraction !== null) text += ` This image: ${fmtPct(imageFraction)}.`;
  if (zoomed) text += ` Zoomed in on the top of this model's LC-Net curve: points outside ${Math.round(100 * x0)}–${Math.round(100 * x1)} % MACs and ${Math.round(100 * y0)}–${Math.round(100 * y1)} % accuracy are hidden${op?.hidden ? ', the current setting among them' : ''}.`;
  if (onPick) text += ' Click a point of this model (or focus it with Tab and press Enter) to use its setting.';
  if (rest.length) text += ' Grey points: the other shipped models of this depth, trained towards other compute targets — a different training target can beat a threshold change; pick one in the model list to run it.';
  note.textContent = text;
}

// ---- batch view --------------------------------------------------------------------------
/**
 * The batch table, its summary and its histogram. `isFresh(img)`: whether the image's traces belong to the current
 * model and settings; rows that do not are dimmed while they are re-run and left out of the summary, so a mean never
 * mixes two models or two thresholds.
 */
export function renderBatch(images, currentId, onSelect, isFresh = () => true) {
  const rows = images.map((img) => {
    const t = img.dyn?.trace, s = img.stat?.trace;
    const stale = !!t && !isFresh(img);
    const right = img.trueLabel && t ? t.label === img.trueLabel : null;
    const thumb = el('img', { src: img.url, alt: '', class: 'thumb-sm' });
    const name = el('button', { type: 'button', class: 'linkish', text: img.name });
    name.addEventListener('click', () => onSelect(img.id));
    const pred = t ? `${t.label}${right === null ? '' : right ? ' ✓' : ` ✗ (true: ${img.trueLabel})`}` : '…';
    const cls = [img.id === currentId ? 'current' : '', stale ? 'stale' : ''].filter(Boolean).join(' ');
    return el('tr', { class: cls || undefined, 'data-id': String(img.id), title: stale ? 'updating: these figures are from the previous model or setting' : undefined },
      el('td', {}, thumb), el('td', {}, name),
      el('td', { text: pred, class: right === false ? 'wrong' : undefined }),
      el('td', { class: 'n', text: t ? fmtPct(t.prob) : '' }),
      el('td', { class: 'n', text: t ? fmtInt(t.macs) : '', 'data-value': t ? String(t.macs) : undefined }),
      el('td', { class: 'n', text: s ? fmtInt(s.macs) : '' }),
      el('td', { class: 'n', text: t && s ? fmtPct(t.macs / s.macs) : '' }),
      el('td', { class: 'n', text: t ? `${t.blocks_executed}/${t.blocks_total}` : '' }));
  });
  $('batch-table').tBodies[0].replaceChildren(...rows);
  const done = images.filter((i) => i.dyn?.trace && isFresh(i));
  const labelled = done.filter((i) => i.trueLabel);
  const correct = labelled.filter((i) => i.dyn.trace.label === i.trueLabel).length;
  const mean = done.length ? done.reduce((x, i) => x + i.dyn.trace.macs, 0) / done.length : 0;
  $('batch-summary').textContent = `${images.length} image${images.length === 1 ? '' : 's'}` +
    (done.length ? ` · mean ${fmtM(mean)} MACs per image` : '') +
    (labelled.length ? ` · ${correct}/${labelled.length} of the labelled samples right` : '') +
    (done.length < images.length ? ` · updating ${images.length - done.length}…` : '');
  $('batch').dataset.complete = String(done.length === images.length);
  renderHistogram(done.map((i) => i.dyn.trace.macs), done[0]?.stat?.trace?.macs ?? done[0]?.dyn.trace.macs_static);
}

function renderHistogram(values, macsStatic) {
  const box = $('hist');
  if (values.length < 2) { box.replaceChildren(); return; }
  const lo = Math.min(...values), hi = Math.max(...values);
  const nb = lo === hi ? 1 : Math.min(12, Math.max(4, Math.ceil(Math.sqrt(values.length)) + 2));
  const counts = new Array(nb).fill(0);
  for (const v of values) counts[lo === hi ? 0 : Math.min(nb - 1, Math.floor((v - lo) / (hi - lo) * nb))]++;
  const W = 520, H = 130, L = 30, B = 34, T = 8;
  const g = svg('svg', { viewBox: `0 0 ${W} ${H}`, class: 'hist-svg', role: 'img', 'aria-label': `Histogram of MACs per image, ${values.length} images` });
  const maxC = Math.max(...counts), bw = (W - L - 6) / nb;
  counts.forEach((c, i) => {
    const h = (H - B - T) * c / maxC;
    const r = svg('rect', { x: L + i * bw + 1, y: H - B - h, width: Math.max(1, bw - 2), height: h, class: 'hbar' });
    const a = lo + (hi - lo) * i / nb, b = lo + (hi - lo) * (i + 1) / nb;
    const t = svg('title');
    t.textContent = `${c} image${c === 1 ? '' : 's'}: ${fmtM(a)}–${fmtM(b)} MACs`;
    r.append(t);
    g.append(r);
    if (c) g.append(svgText(L + (i + 0.5) * bw, H - B - h - 2, String(c), { class: 'tick', 'text-anchor': 'middle' }));
  });
  const label = (v) => `${fmtM(v)}${macsStatic ? ` (${Math.round(100 * v / macsStatic)}%)` : ''}`;
  g.append(svg('line', { x1: L, x2: W - 6, y1: H - B, y2: H - B, class: 'grid' }),
    svgText(L, H - B + 13, label(lo), { class: 'tick' }),
    svgText(W - 6, H - B + 13, lo === hi ? '' : label(hi), { class: 'tick', 'text-anchor': 'end' }),
    svgText((L + W) / 2, H - 4, 'MACs per image: left = easy (cheap), right = hard (expensive)', { class: 'axis', 'text-anchor': 'middle' }));
  box.replaceChildren(g);
}
