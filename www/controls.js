// The run controls: mode, τ sliders, reset, what-if clear, chart point picked; each change re-runs what is stale.
import { runnable } from './card.js';
import { $ } from './dom.js';
import { fmtTau } from './format.js';
import { defaultOptions, pickedOptions, usesTau } from './options.js';
import { refresh } from './run.js';
import { clearForce, currentFraction, state } from './state.js';
import { drawChart } from './views.js';
import { updateWhatIf } from './whatif.js';

/** Sets the controls to state.opts, and enables only what the loaded model's gates can run. */
export function syncControls() {
  const card = state.info?.card ?? {};
  const o = state.opts;
  for (const r of document.querySelectorAll('input[name="mode"]')) {
    r.checked = r.value === o.mode;
    r.disabled = !runnable(card, r.value);   // the same rule as the chart's clickable points
  }
  $('tau-l').value = String(o.tau_l);
  $('tau-c').value = String(o.tau_c);
  $('tau-l-out').textContent = fmtTau(o.tau_l);
  $('tau-c-out').textContent = fmtTau(o.tau_c);
  $('tau-l').disabled = !usesTau(o.mode, 'l');
  $('tau-c').disabled = !usesTau(o.mode, 'c');
}

export function wireControls() {
  for (const r of document.querySelectorAll('input[name="mode"]')) {
    r.addEventListener('change', () => {
      if (!r.checked) return;
      state.opts = { ...state.opts, mode: r.value };
      syncControls();
      changed();
    });
  }
  for (const k of ['l', 'c']) {
    const s = $(`tau-${k}`);
    s.addEventListener('input', () => {
      state.opts = { ...state.opts, [`tau_${k}`]: Number(s.value) };
      $(`tau-${k}-out`).textContent = fmtTau(Number(s.value));
      changed();
    });
  }
  $('whatif-clear').addEventListener('click', () => {
    clearForce();
    updateWhatIf();
  });
  $('reset').addEventListener('click', () => {
    if (!state.info) return;
    clearForce();
    state.opts = defaultOptions(state.info);
    syncControls();
    changed();
  });
}

/** A point of the chart picked: its mode and thresholds become the current setting. */
export function applySetting(point) {
  state.opts = pickedOptions(point, state.opts);
  syncControls();
  changed();
}

function changed() {
  drawChart(currentFraction());
  refresh();
}
