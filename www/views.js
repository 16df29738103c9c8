// Redraws the result views from the state: current result, strip, batch table, routes, accuracy–MACs chart.
import { renderChart } from './chart.js';
import { $, el } from './dom.js';
import { renderWhatIf } from './map.js';
import { renderBatch, renderResult } from './render.js';
import { renderRoutes } from './routes.js';
import { current, currentFraction, hasForce, isFresh, otherModels, state } from './state.js';
import { setStatus, showError } from './status.js';
import { scheduleTiming } from './timing.js';
import { toggleForce, updateWhatIf } from './whatif.js';

// Set by main.js: these re-run the network (run.js, controls.js), which redraws these views; imported, they'd be a cycle.
const handlers = {
  select: null,         // (id): an image of the strip, the table or the routes picked
  applySetting: null,   // ({mode, tau_l, tau_c}): a point of the chart picked
};
export function setHandlers({ select, applySetting }) {
  Object.assign(handlers, { select, applySetting });
}

// Views drawn two frames later: what the person looks at first (the model's card, an image's result) is painted
// before the views that take longest to draw. Many requests before then draw once; drawing a view directly drops
// its pending request.
const soon = new Map();   // view → its draw, pending

function drawSoon(view, draw) {
  if (!soon.has(view)) {
    requestAnimationFrame(() => requestAnimationFrame(() => {
      const pending = soon.get(view);
      soon.delete(view);
      pending?.();
    }));
  }
  soon.set(view, draw);
}

/** The chart, two frames from now, for the current image (its MACs marked once its traces are fresh). */
export const drawChartSoon = () => drawSoon('chart', () => drawChart(currentFraction()));
/** The batch views (table, routes, strip), two frames from now. */
export const drawBatchSoon = () => drawSoon('batch', drawBatch);
/** The routes and cost views, two frames from now. */
export const drawRoutesSoon = () => drawSoon('routes', drawRoutes);

export function drawChart(imageFraction) {
  soon.delete('chart');
  renderChart(state.info.card, state.opts, imageFraction, otherModels(), handlers.applySetting);
}

export function drawStrip() {
  const strip = $('strip');
  strip.replaceChildren(...state.images.map((img) => {
    const sel = img.id === state.currentId;
    const b = el('button', {
      type: 'button', class: `thumb${sel ? ' selected' : ''}`, role: 'option', 'aria-selected': String(sel),
      title: img.trueLabel ? `${img.name} (true: ${img.trueLabel})` : img.name, 'data-id': String(img.id),
    }, el('img', { src: img.url, alt: img.name }),
    el('span', { class: 'thumb-cap', text: img.dyn?.trace ? img.dyn.trace.label : '…' }));
    b.addEventListener('click', () => handlers.select(img.id));
    return b;
  }));
  $('strip-count').textContent = `(${state.images.length})`;
  $('strip-wrap').hidden = state.images.length === 0;
}

export function drawBatch() {
  soon.delete('batch');
  $('batch').hidden = state.images.length === 0;
  renderBatch(state.images, state.currentId, handlers.select, isFresh);
  drawRoutes();
  drawStrip();
}

export function drawRoutes() {
  soon.delete('routes');
  renderRoutes(state.images, { currentId: state.currentId, onSelect: handlers.select, isFresh, info: state.info });
}

/** Shows the current image's result (or why there is none), then its timing once no re-run is under way. */
export function showCurrent() {
  const cur = current();
  if (!cur) return;
  if (cur.error || !cur.dyn || !cur.stat) {
    $('result').hidden = true;
    showError(`Could not classify “${cur.name}”: ${cur.error ?? 'no result'}`);
    setStatus('ready', 'Ready. Pick another image.');
    return;
  }
  renderResult(cur.dyn, cur.stat, cur, state.info.card.input.size, toggleForce);
  if (hasForce()) updateWhatIf();
  else renderWhatIf(cur.dyn.trace, null);
  $('result').hidden = false;
  $('result').dataset.file = cur.name;
  $('result').dataset.key = cur.dyn.key;
  drawChartSoon();
  drawStrip();
  setStatus('ready', `Done: ${cur.name} → ${cur.dyn.trace.label}.`);
  scheduleTiming(!state.running);   // refresh() starts it when its pass is over
}
