// DOM rendering of the model card, one result (dynamic vs static), its timing, and the batch table and
// histogram. The network map is in map.js, the chart in chart.js, what the card means in card.js.

import { defaultPoint, evaluationOf, gatesSummary, staticReferenceOf, staticSide, trainerAccuracy } from './card.js';
import { $, el, svg, svgText } from './dom.js';
import { fmtInt, fmtM, fmtPct, fmtPctFine, fmtTau, modeName } from './format.js';
import { renderMap } from './map.js';

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

/** timing: null (measuring) or {dyn: ms, stat: ms, runs, simd}: simd is the wasm build that ran (worker.js). */
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
    `(WebAssembly${timing.simd === 'relaxed-simd' ? ' with relaxed SIMD: fused multiply-adds' : ''}, one thread). ` +
    'They vary with the machine and the load; MACs do not.';
  p.dataset.state = 'done';
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

