// The accuracy–MACs chart: the loaded model's measured curve, other shipped models' in grey, the current
// setting; tooltips, click-to-apply, zoom. Keeps the last call's arguments to redraw at a new width.

import { defaultPoint, evaluationOf, jointlyTrained, runnable } from './card.js';
import { $, el, svg, svgText } from './dom.js';
import { fmtPct, fmtTau, modeName } from './format.js';

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

