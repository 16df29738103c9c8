// The routes view and cost vs difficulty, over every loaded image: which blocks each image ran (one row per image,
// one cell per block, sorted by MACs), the share of the images that ran each block, a scatter of MACs against
// confidence and the mean MACs per predicted class. Drawing only: main.js owns the state and calls renderRoutes.
import { marker, showTip } from './chart.js';
import { $, el, svg, svgText } from './dom.js';
import { fmtInt } from './format.js';

const PER_PAGE = 50;

const view = { page: 0, order: 'asc', last: null, wired: false, width: 0 };

const pct = (x) => `${(100 * x).toFixed(1)} %`;
const fracOf = (t) => t.macs / t.macs_static;

/** The stages of the model's blocks, in order: [[stage, [{stage, index}]]]. */
function stagesOf(blocks) {
  const m = new Map();
  for (const b of blocks) {
    if (!m.has(b.stage)) m.set(b.stage, []);
    m.get(b.stage).push(b);
  }
  return [...m];
}

/** Cells of one row (or the head or the foot), grouped by stage so that stage boundaries show. */
function cellGroups(stages, cell) {
  return el('span', { class: 'route-cells' }, ...stages.map(([s, bs]) => el('span', { class: 'route-stage', 'data-stage': String(s) },
    ...bs.map((b) => cell(b)))));
}

function blockName(b) { return `${b.stage}.${b.index}`; }

function verdict(img, t) {
  if (!img.trueLabel || !t) return null;
  return t.label === img.trueLabel;
}

function routeCell(b, tb) {
  const name = blockName(b);
  if (!tb) {
    return el('span', { class: 'route-cell pending', title: `block ${name}: updating` });
  }
  const kept = `${tb.channels_kept}/${tb.channels_total}`;
  if (!tb.executed) {
    return el('span', { class: 'route-cell skip', 'data-executed': 'false', 'data-kept': kept, title: `block ${name}: skipped (only the shortcut ran)` });
  }
  const share = tb.channels_total ? tb.channels_kept / tb.channels_total : 0;
  const c = el('span', { class: 'route-cell run', 'data-executed': 'true', 'data-kept': kept, title: `block ${name}: ran, ${kept} channels kept (${Math.round(100 * share)} %)` },
    el('span', { class: 'route-fill' }));
  c.style.setProperty('--kept', share.toFixed(3));
  return c;
}

function routeRow(img, rank, stages, fresh, currentId, open) {
  const t = fresh ? img.dyn.trace : null;
  const byKey = new Map((t?.blocks ?? []).map((b) => [blockName(b), b]));
  const right = verdict(img, t);
  const thumb = el('img', { src: img.url, alt: '', class: 'route-thumb', loading: 'lazy' });
  let pred, sub, macs, label;
  if (img.error && !t) {
    pred = el('span', { class: 'route-pred wrong', text: 'could not classify' });
    sub = el('span', { class: 'route-sub', text: img.name });
    macs = el('span', { class: 'route-macs' });
    label = `${img.name}: could not classify (${img.error}).`;
  } else if (!t) {
    pred = el('span', { class: 'route-pred pending', text: 'updating…' });
    sub = el('span', { class: 'route-sub', text: img.name });
    macs = el('span', { class: 'route-macs', text: '…' });
    label = `${img.name}: updating for the current model and setting.`;
  } else {
    const mark = right === null ? '' : right ? ' ✓' : ' ✗';
    pred = el('span', { class: `route-pred${right === false ? ' wrong' : ''}` },
      el('b', { text: t.label + mark }), el('span', { class: 'route-conf', text: ` ${Math.round(100 * t.prob)} %` }));
    sub = el('span', { class: 'route-sub', text: right === false ? `true: ${img.trueLabel} · ${img.name}` : img.name });
    const bar = el('span', { class: 'route-macs-bar', 'aria-hidden': 'true' }, el('span'));
    bar.firstChild.style.width = `${Math.min(100, 100 * fracOf(t)).toFixed(1)}%`;
    macs = el('span', { class: 'route-macs' }, el('span', { text: pct(fracOf(t)) }), bar);
    const skipped = t.blocks.filter((b) => !b.executed).map(blockName);
    label = `${img.name}: ${t.label}${right === null ? '' : right ? ', right' : `, wrong (true: ${img.trueLabel})`}, ` +
      `${Math.round(100 * t.prob)} % confident, ${pct(fracOf(t))} of the static MACs, ${t.blocks_executed} of ${t.blocks_total} blocks ran` +
      `${skipped.length ? ` (skipped ${skipped.join(', ')})` : ''}. Open it in the result view.`;
  }
  const cls = ['route-row', img.id === currentId ? 'current' : '', t ? '' : 'stale', right === false ? 'is-wrong' : ''].filter(Boolean).join(' ');
  const row = el('button', {
    type: 'button', class: cls, 'data-file': img.name, 'data-id': String(img.id), 'data-fresh': String(Boolean(t)),
    'data-macs': t ? String(t.macs) : undefined, 'aria-label': label, 'aria-current': img.id === currentId ? 'true' : undefined,
    'aria-busy': t ? undefined : 'true', title: t ? undefined : 'updating: this image is being re-run for the current model and setting',
  },
  el('span', { class: 'route-rank', text: String(rank) }), thumb, el('span', { class: 'route-text' }, pred, sub), macs,
  cellGroups(stages, (b) => routeCell(b, t ? byKey.get(blockName(b)) : null)));
  row.addEventListener('click', () => open(img.id));
  return row;
}

/** Opens an image in the result view: selects it, then brings the result into view with the focus on its heading. */
function opener(onSelect) {
  return (id) => {
    onSelect(id);
    requestAnimationFrame(() => {
      const r = $('result'), h = $('result-h');
      if (!r || r.hidden) return;
      if (h && !h.hasAttribute('tabindex')) h.setAttribute('tabindex', '-1');
      r.scrollIntoView({ block: 'start' });
      h?.focus({ preventScroll: true });
    });
  };
}

function wire() {
  if (view.wired) return;
  view.wired = true;
  const again = () => view.last && renderRoutes(...view.last);
  // a new page starts at the top of the grid; the focus stays on a pager button that can still be used
  const turn = (by) => {
    view.page += by;
    again();
    const grid = $('routes-grid');
    if (grid.getBoundingClientRect().top < 0) grid.scrollIntoView({ block: 'start' });
    const next = $('routes-next'), prev = $('routes-prev');
    if (document.activeElement === document.body || document.activeElement?.disabled) (next.disabled ? prev : next).focus({ preventScroll: true });
  };
  $('routes-prev').addEventListener('click', () => turn(-1));
  $('routes-next').addEventListener('click', () => turn(1));
  $('routes-order').addEventListener('click', () => { view.order = view.order === 'asc' ? 'desc' : 'asc'; view.page = 0; again(); });
  if (typeof ResizeObserver === 'function') {
    const box = $('scatter');
    view.width = box.clientWidth;
    new ResizeObserver(() => {
      if (Math.abs(box.clientWidth - view.width) < 8 || $('cost').hidden) return;
      view.width = box.clientWidth;
      again();
    }).observe(box);
  }
}

/** Keeps the keyboard focus on the same row or point across a redraw. */
function focusKey() {
  const a = document.activeElement;
  if (!a || !(a.closest?.('#routes') || a.closest?.('#cost'))) return null;
  if (a.matches('.route-row')) return `.route-row[data-id="${a.dataset.id}"]`;
  if (a.matches('.sc-pt')) return `.sc-pt[data-id="${a.dataset.id}"]`;
  if (a.id) return `#${a.id}`;
  return null;
}

/**
 * images: state.images; currentId; onSelect(id): open an image in the result view; isFresh(img): whether its traces
 * belong to the current model and settings (others are shown as updating, never with their old numbers);
 * info: the loaded model's info ({blocks: [{stage, index}]}, or null).
 */
export function renderRoutes(images, { currentId = null, onSelect = () => {}, isFresh = () => true, info = null } = {}) {
  view.last = [images, { currentId, onSelect, isFresh, info }];
  const section = $('routes'), cost = $('cost');
  if (!section) return;
  wire();
  const show = images.length > 0 && Boolean(info);
  section.hidden = !show;
  cost.hidden = !show;
  if (!show) {
    $('routes-grid').replaceChildren();
    $('scatter').replaceChildren();
    $('class-table').tBodies[0].replaceChildren();
    return;
  }
  const refocus = focusKey();
  const open = opener(onSelect);
  const blocks = info.blocks.map((b) => ({ stage: b.stage, index: b.index }));
  const stages = stagesOf(blocks);
  const isDone = (img) => Boolean(img.dyn?.trace) && isFresh(img) && img.dyn.trace.blocks.length === blocks.length;
  const done = images.filter(isDone);
  const waiting = images.filter((i) => !isDone(i));
  const dir = view.order === 'asc' ? 1 : -1;
  done.sort((a, b) => dir * (a.dyn.trace.macs - b.dyn.trace.macs) || a.name.localeCompare(b.name) || a.id - b.id);
  const rows = [...done, ...waiting];
  const pages = Math.max(1, Math.ceil(rows.length / PER_PAGE));
  view.page = Math.max(0, Math.min(pages - 1, view.page));
  const first = view.page * PER_PAGE;
  const onPage = rows.slice(first, first + PER_PAGE);

  // head: stage names and block indices
  const head = el('div', { class: 'route-head', 'aria-hidden': 'true' },
    el('span', { class: 'route-rank' }, '#'), el('span', { class: 'route-thumb' }), el('span', { class: 'route-text', text: 'prediction · image' }),
    el('span', { class: 'route-macs', text: 'MACs' }),
    el('span', { class: 'route-cells' }, ...stages.map(([s, bs]) => el('span', { class: 'route-stage', 'data-stage': String(s) },
      el('span', { class: 'route-stage-name', text: `stage ${s}` }),
      el('span', { class: 'route-idx' }, ...bs.map((b) => el('span', { class: 'route-cell idx', text: String(b.index), title: `block ${blockName(b)}` })))))));
  const list = el('ol', { class: 'route-rows', start: String(first + 1), 'aria-label': `images ${first + 1} to ${first + onPage.length} of ${rows.length}, ${view.order === 'asc' ? 'cheapest' : 'most expensive'} first` },
    ...onPage.map((img, i) => el('li', {}, routeRow(img, first + i + 1, stages, isDone(img), currentId, open))));
  // foot: per block, the share of the (up to date) images that ran it
  const ran = blocks.map((b) => done.filter((img) => img.dyn.trace.blocks.find((tb) => tb.stage === b.stage && tb.index === b.index)?.executed).length);
  const shareOf = new Map(blocks.map((b, i) => [blockName(b), ran[i]]));
  // many blocks: a number only where some images ran the block and some did not (a full or empty bar says all or none)
  const deep = blocks.length > 12;
  const foot = el('div', { class: 'route-foot' },
    el('span', { class: 'route-foot-label', text: !done.length ? 'ran it' : `ran it: % of the ${done.length} image${done.length === 1 ? '' : 's'}${deep ? ' (full bar: all, empty: none)' : ''}` }),
    cellGroups(stages, (b) => {
      const k = shareOf.get(blockName(b)), n = done.length;
      const f = n ? k / n : 0;
      const c = el('span', {
        class: 'route-cell share', 'data-share': `${k}/${n}`, 'data-block': blockName(b),
        title: n ? `block ${blockName(b)}: ran for ${k} of ${n} images (${Math.round(100 * f)} %)` : `block ${blockName(b)}`,
      }, el('span', { class: 'share-bar' }), el('span', { class: 'share-n', text: n && (!deep || (k > 0 && k < n)) ? String(Math.round(100 * f)) : '' }));
      c.style.setProperty('--share', f.toFixed(3));
      return c;
    }));
  $('routes-grid').replaceChildren(head, list, foot);
  $('routes-grid').classList.toggle('deep', deep);
  section.dataset.complete = String(waiting.length === 0 || waiting.every((i) => i.error && !i.dyn?.trace));
  section.dataset.rows = String(rows.length);
  section.dataset.blocks = String(blocks.length);

  // summary: how many routes there are
  const routeKey = (t) => t.blocks.map((b) => (b.executed ? '1' : '0')).join('');
  const counts = new Map();
  for (const img of done) counts.set(routeKey(img.dyn.trace), (counts.get(routeKey(img.dyn.trace)) ?? 0) + 1);
  const top = [...counts].sort((a, b) => b[1] - a[1])[0];
  const never = blocks.filter((b, i) => done.length && ran[i] === 0).map(blockName);
  const always = blocks.filter((b, i) => done.length && ran[i] === done.length).length;
  let text = `${images.length} image${images.length === 1 ? '' : 's'}`;
  if (done.length) {
    text += ` · ${counts.size} distinct route${counts.size === 1 ? '' : 's'} (set of blocks run)`;
    if (top && counts.size > 1) text += `, the most common taken by ${top[1]}`;
    text += ` · ${always} of ${blocks.length} blocks ran for every image`;
    if (never.length) text += `, ${never.length === 1 ? 'block' : 'blocks'} ${never.join(', ')} for none`;
  }
  if (waiting.length) text += ` · updating ${waiting.length}…`;
  $('routes-summary').textContent = text;
  $('routes-order').textContent = view.order === 'asc' ? 'Most expensive first' : 'Cheapest first';
  $('routes-order').setAttribute('aria-label', `Order: ${view.order === 'asc' ? 'cheapest' : 'most expensive'} first. Switch to ${view.order === 'asc' ? 'most expensive' : 'cheapest'} first.`);
  const pager = $('routes-pager');
  pager.hidden = pages <= 1;
  $('routes-page').textContent = `images ${first + 1}–${first + onPage.length} of ${rows.length} (page ${view.page + 1} of ${pages})`;
  $('routes-prev').disabled = view.page === 0;
  $('routes-next').disabled = view.page >= pages - 1;
  pager.dataset.page = String(view.page + 1);
  pager.dataset.pages = String(pages);

  renderScatter(done, currentId, open, waiting.length);
  renderClassTable(done);
  if (refocus) document.querySelector(refocus)?.focus({ preventScroll: true });
}

// ---- cost vs difficulty ------------------------------------------------------------------
const mean = (xs) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);

function correlation(xs, ys) {
  const mx = mean(xs), my = mean(ys);
  let sxy = 0, sxx = 0, syy = 0;
  for (let i = 0; i < xs.length; i++) {
    sxy += (xs[i] - mx) * (ys[i] - my);
    sxx += (xs[i] - mx) ** 2;
    syy += (ys[i] - my) ** 2;
  }
  return sxx > 0 && syy > 0 ? sxy / Math.sqrt(sxx * syy) : null;
}

function costSummary(done, waiting) {
  if (!done.length) return waiting ? `Updating ${waiting} image${waiting === 1 ? '' : 's'}…` : '';
  const fr = (imgs) => mean(imgs.map((i) => fracOf(i.dyn.trace)));
  const parts = [];
  const labelled = done.filter((i) => i.trueLabel);
  const right = labelled.filter((i) => i.dyn.trace.label === i.trueLabel), wrong = labelled.filter((i) => i.dyn.trace.label !== i.trueLabel);
  if (right.length && wrong.length) {
    parts.push(`Right predictions cost ${pct(fr(right))} of the static MACs on average (${right.length}), wrong ones ${pct(fr(wrong))} (${wrong.length}).`);
  } else if (labelled.length) {
    parts.push(`All ${labelled.length} labelled images ${wrong.length ? 'wrong' : 'right'}: ${pct(fr(labelled))} of the static MACs on average.`);
  }
  const unsure = done.filter((i) => i.dyn.trace.prob < 0.5), sure = done.filter((i) => i.dyn.trace.prob >= 0.5);
  if (unsure.length && sure.length) {
    parts.push(`Under 50 % confident: ${pct(fr(unsure))} (${unsure.length}); 50 % or more: ${pct(fr(sure))} (${sure.length}).`);
  }
  const r = done.length >= 3 ? correlation(done.map((i) => fracOf(i.dyn.trace)), done.map((i) => i.dyn.trace.prob)) : null;
  if (r !== null) {
    parts.push(Math.abs(r) < 0.2 ? `Over these images, MACs and confidence are hardly related (correlation ${r.toFixed(2)}).`
      : `Over these images, ${r < 0 ? 'less' : 'more'} confident predictions tended to cost more MACs (correlation ${r.toFixed(2)}).`);
  }
  if (waiting) parts.push(`Updating ${waiting}…`);
  return parts.join(' ');
}

function renderScatter(done, currentId, open, waiting) {
  const box = $('scatter');
  $('cost-summary').textContent = costSummary(done, waiting);
  $('cost').dataset.points = String(done.length);
  if (!done.length) { box.replaceChildren(); return; }
  const W = Math.round(Math.max(280, Math.min(760, box.clientWidth || 520)));
  const narrow = W < 480;
  const H = Math.round(Math.max(230, Math.min(340, W * (narrow ? 0.8 : 0.56))));
  const L = 52, R = 12, T = 12, B = 40;
  const xsv = done.map((i) => fracOf(i.dyn.trace)), ysv = done.map((i) => i.dyn.trace.prob);
  let x0 = Math.floor(Math.min(...xsv) * 20) / 20, x1 = Math.ceil(Math.max(...xsv) * 20) / 20;
  if (x1 - x0 < 0.1) { const m = (x0 + x1) / 2; x0 = Math.max(0, Math.round((m - 0.05) * 100) / 100); x1 = x0 + 0.1; }
  const y0 = Math.max(0, Math.min(0.5, Math.floor(Math.min(...ysv) * 10) / 10)), y1 = 1;
  const X = (v) => L + (W - L - R) * (v - x0) / (x1 - x0);
  const Y = (v) => T + (H - T - B) * (1 - (v - y0) / (y1 - y0));
  const g = svg('svg', { viewBox: `0 0 ${W} ${H}`, width: W, height: H, class: 'scatter-svg', role: 'group', 'aria-labelledby': 'scatter-title' });
  const title = svg('title', { id: 'scatter-title' });
  title.textContent = `MACs (share of the static network) against confidence for ${done.length} images. Arrow keys move between the images, Enter opens one.`;
  g.append(title);
  const ticks = (a, b, n) => {
    const step = [0.01, 0.02, 0.05, 0.1, 0.2, 0.25].find((st) => (b - a) / st <= n) ?? 0.25;
    const out = [];
    for (let v = Math.ceil(a / step - 1e-9) * step; v <= b + 1e-9; v += step) out.push(Math.round(v * 1000) / 1000);
    return out;
  };
  for (const vx of ticks(x0, x1, narrow ? 5 : 8)) {
    g.append(svg('line', { x1: X(vx), x2: X(vx), y1: T, y2: H - B, class: 'grid' }),
      svgText(X(vx), H - B + 15, `${Math.round(100 * vx)}%`, { class: 'tick', 'text-anchor': 'middle' }));
  }
  for (const vy of ticks(y0, y1, 5)) {
    g.append(svg('line', { x1: L, x2: W - R, y1: Y(vy), y2: Y(vy), class: 'grid' }),
      svgText(L - 5, Y(vy) + 4, `${Math.round(100 * vy)}%`, { class: 'tick', 'text-anchor': 'end' }));
  }
  g.append(svgText((L + W - R) / 2, H - 7, 'MACs, share of the static network →  more compute', { class: 'axis', 'text-anchor': 'middle' }),
    svgText(11, (T + H - B) / 2, 'confidence (top-1)', { class: 'axis', 'text-anchor': 'middle', transform: `rotate(-90 11 ${(T + H - B) / 2})` }));
  // points, cheapest first; the current image last (on top)
  const order = [...done].sort((a, b) => fracOf(a.dyn.trace) - fracOf(b.dyn.trace) || a.dyn.trace.prob - b.dyn.trace.prob);
  const focusIdx = Math.max(0, order.findIndex((i) => i.id === currentId));
  const tips = new Map();
  const pts = order.map((img, i) => {
    const t = img.dyn.trace, right = verdict(img, t);
    const x = X(fracOf(t)), y = Y(t.prob);
    const kind = right === null ? 'square' : right ? 'circle' : 'cross';
    const cls = right === null ? 'sc-unknown' : right ? 'sc-right' : 'sc-wrong';
    const desc = `${img.name}: ${t.label}${right === null ? '' : right ? ' (right)' : ` (wrong, true: ${img.trueLabel})`}, ${Math.round(100 * t.prob)} % confident, ${pct(fracOf(t))} of the static MACs`;
    const p = svg('g', {
      class: `sc-pt ${cls}${img.id === currentId ? ' current' : ''}`, tabindex: i === focusIdx ? '0' : '-1', role: 'button',
      'data-file': img.name, 'data-id': String(img.id), 'data-right': right === null ? 'unknown' : String(right),
      'data-x': fracOf(t).toFixed(6), 'data-y': t.prob.toFixed(6), 'aria-label': `${desc}. Enter opens it.`,
    }, svg('circle', { cx: x, cy: y, r: 9, class: 'hit' }), marker(kind, x, y, kind === 'square' ? 3.8 : 4.6, 'mk'));
    const tt = svg('title');
    tt.textContent = desc;
    p.append(tt);
    const thumb = el('img', { src: img.url, alt: '', class: 'tip-thumb' });
    tips.set(p, [el('span', { class: 'tip-head' }, thumb, img.name),
      `${t.label}${right === null ? '' : right ? ' ✓ right' : ` ✗ wrong (true: ${img.trueLabel})`}, ${Math.round(100 * t.prob)} % confident`,
      `${pct(fracOf(t))} of the static MACs (${fmtInt(t.macs)}), ${t.blocks_executed}/${t.blocks_total} blocks`, 'Click (or Enter) to open it.']);
    p.addEventListener('click', () => open(img.id));
    return p;
  });
  const cur = pts.findIndex((p) => p.classList.contains('current'));
  g.append(...pts.filter((_, i) => i !== cur), ...(cur >= 0 ? [pts[cur]] : []));
  const tip = el('div', { class: 'chart-tip', 'aria-hidden': 'true', hidden: true });
  const ptOf = (e) => e.target.closest?.('.sc-pt');
  const showIt = (e) => { const p = ptOf(e); if (p) showTip(box, tip, p.querySelector('.mk'), tips.get(p)); };
  g.addEventListener('pointerover', showIt);
  g.addEventListener('pointerout', (e) => { if (ptOf(e) && ptOf({ target: e.relatedTarget ?? g }) !== ptOf(e)) tip.hidden = true; });
  g.addEventListener('focusin', showIt);
  g.addEventListener('focusout', () => { tip.hidden = true; });
  g.addEventListener('keydown', (e) => {
    const p = ptOf(e);
    if (!p) return;
    const i = pts.indexOf(p);
    const step = { ArrowRight: 1, ArrowDown: 1, ArrowLeft: -1, ArrowUp: -1 }[e.key];
    let j = null;
    if (step) j = Math.max(0, Math.min(pts.length - 1, i + step));
    else if (e.key === 'Home') j = 0;
    else if (e.key === 'End') j = pts.length - 1;
    else if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); open(Number(p.dataset.id)); return; } else if (e.key === 'Escape') { tip.hidden = true; return; } else return;
    e.preventDefault();
    p.setAttribute('tabindex', '-1');
    pts[j].setAttribute('tabindex', '0');
    pts[j].focus();
  });
  box.replaceChildren(g, tip);
}

function renderClassTable(done) {
  const by = new Map();
  for (const img of done) {
    const l = img.dyn.trace.label;
    if (!by.has(l)) by.set(l, []);
    by.get(l).push(img);
  }
  const rows = [...by].map(([label, imgs]) => {
    const labelled = imgs.filter((i) => i.trueLabel);
    return {
      label, n: imgs.length, macs: mean(imgs.map((i) => i.dyn.trace.macs)), frac: mean(imgs.map((i) => fracOf(i.dyn.trace))),
      conf: mean(imgs.map((i) => i.dyn.trace.prob)), right: labelled.filter((i) => i.dyn.trace.label === i.trueLabel).length, labelled: labelled.length,
    };
  }).sort((a, b) => b.frac - a.frac || a.label.localeCompare(b.label));
  $('class-table').tBodies[0].replaceChildren(...rows.map((r) => el('tr', { 'data-class': r.label, 'data-n': String(r.n), 'data-mean-macs': String(r.macs) },
    el('th', { scope: 'row', text: r.label }),
    el('td', { class: 'n', text: String(r.n) }),
    el('td', { class: 'n', text: pct(r.frac), title: `${fmtInt(Math.round(r.macs))} MACs on average` }),
    el('td', { class: 'n', text: `${Math.round(100 * r.conf)} %` }),
    el('td', { class: 'n', text: r.labelled ? `${r.right}/${r.labelled}` : '—' }))));
}
