// Keeps results fresh: re-runs what is stale after a change of model, setting or image; opens an image.
import { clearForce, current, isFresh, state } from './state.js';
import { setStatus } from './status.js';
import { scheduleTiming } from './timing.js';
import { ensureTraces } from './traces.js';
import { drawBatch, drawBatchSoon, showCurrent } from './views.js';

const idleWaiters = [];
const busy = () => state.running || state.reading > 0;

/** Resolves once the page is idle: no image being read (images.js) and no pass running. */
export function whenIdle() {
  return busy() ? new Promise((resolve) => idleWaiters.push(resolve)) : Promise.resolve();
}

/** Wakes what waits for the page to be idle, if it now is. */
export function settle() {
  if (!busy()) for (const resolve of idleWaiters.splice(0)) resolve();
}

/** Re-runs what is stale; coalesces bursts of changes (a slider drag) into one pass at a time. */
export async function refresh() {
  if (!state.info) return;
  // Rows of another model or setting are marked at once, even while a pass runs: in a microtask, so that the
  // worker already has the current image's request while they are drawn.
  if (state.images.some((img) => !isFresh(img))) queueMicrotask(drawBatch);
  if (state.running) { state.dirty = true; return; }
  state.running = true;
  try {
    do {
      state.dirty = false;
      await refreshOnce();
    } while (state.dirty);
  } finally {
    state.running = false;
  }
  settle();
  scheduleTiming(true);
}

/** The current image first, then every other stale one; stops early when a change marks the pass dirty. */
async function refreshOnce() {
  const cur = current();
  if (cur) {
    setStatus('busy', `Running ${cur.name}…`);
    try {
      await ensureTraces(cur);
    } catch (e) {
      cur.error = e.message;
    }
    if (state.dirty) return;
    showCurrent();
  }
  let n = 0;
  for (const img of state.images) {
    if (state.dirty) return;
    if (isFresh(img)) continue;
    try {
      await ensureTraces(img);
    } catch (e) {
      img.error = e.message;
    }
    if (++n % 8 === 0) drawBatch();
  }
  drawBatchSoon();
}

/** Makes image `id` the current one: shown at once if its traces are fresh, else re-run first. */
export function select(id) {
  if (id !== state.currentId) clearForce();
  state.currentId = id;
  const cur = current();
  if (cur && isFresh(cur)) {
    showCurrent();
    drawBatch();
  } else {
    refresh();
  }
}
