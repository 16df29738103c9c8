// Timing of the current image: median of warm runs in the worker, dropped when anything changes meanwhile.
import { $ } from './dom.js';
import { renderTiming } from './render.js';
import { current, state, timingKey } from './state.js';
import { median } from './stats.js';
import { classify, classifyStatic } from './traces.js';

const TIMING_RUNS = 7;                  // timed runs of each, after one warm-up run of each

/** Shows the current image's timing, or marks it as being measured; `start`: also start measuring (after 150 ms). */
export function scheduleTiming(start) {
  const cur = current();
  if (!cur || !cur.dyn || cur.error) return;
  const key = timingKey(cur);
  if (cur.timing?.key === key) { renderTiming(cur.timing); return; }
  if ($('timing').dataset.state === 'measuring' && $('timing').dataset.key === key && !start) return;
  const token = ++state.timingToken;
  clearTimeout(state.timingTimer);
  renderTiming(null);
  $('timing').dataset.key = key;
  if (start) state.timingTimer = setTimeout(() => measure(cur, key, token), 150);
}

async function measure(img, key, token) {
  const dyn = [], stat = [];
  const stale = () => token !== state.timingToken || state.running;
  try {
    for (let i = 0; i <= TIMING_RUNS; i++) {
      for (const which of i % 2 ? ['stat', 'dyn'] : ['dyn', 'stat']) {
        if (stale()) return;
        const r = await (which === 'dyn' ? classify(img, state.opts) : classifyStatic(img));
        if (i > 0) (which === 'dyn' ? dyn : stat).push(r.trace.elapsed_ms);
      }
    }
  } catch {
    return;
  }
  if (token !== state.timingToken) return;
  img.timing = { key, dyn: median(dyn), stat: median(stat), runs: TIMING_RUNS, samples: { dyn, stat }, simd: state.simd };
  if (img.id === state.currentId) renderTiming(img.timing);
}
