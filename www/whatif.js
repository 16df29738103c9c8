// The what-if: blocks forced on or off for the current image, re-run beside the gates' own run.
import { renderMap, renderWhatIf } from './map.js';
import { current, forceKey, hasForce, optsKey, state } from './state.js';
import { showError } from './status.js';
import { classify } from './traces.js';

/** A block of the map picked: force it the other way, or back to its gate if it was forced. */
export function toggleForce(b) {
  const id = `${b.stage}.${b.index}`;
  if (!state.force.on.delete(id) && !state.force.off.delete(id)) (b.executed ? state.force.off : state.force.on).add(id);
  updateWhatIf();
}

/** Re-runs the current image with its forced blocks (the gates' own run stays in the result). */
export async function updateWhatIf() {
  const cur = current();
  if (!cur?.dyn || cur.error) return;
  if (!hasForce()) {
    renderWhatIf(cur.dyn.trace, null);
    renderMap(cur.dyn.trace, toggleForce);
    return;
  }
  const key = `${cur.id}|${optsKey()}|${forceKey()}`;
  let r;
  try {
    r = await classify(cur, { ...state.opts, force_on: [...state.force.on], force_off: [...state.force.off] });
  } catch (e) {
    showError(`What if: ${e.message}`);
    return;
  }
  if (key !== `${current()?.id}|${optsKey()}|${forceKey()}`) return;   // superseded meanwhile
  renderWhatIf(cur.dyn.trace, r.trace);
  renderMap(r.trace, toggleForce);
}
