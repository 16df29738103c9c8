// The run options {mode, tau_l, tau_c}: defaults, rounding, which slider a mode reads; pure, tested in Node.

/** A threshold rounded to what the sliders show (f32 thresholds arrive as f64: 0.3 → 0.30000001…). */
export const roundTau = (t) => Math.round(t * 1e4) / 1e4;

/** The model's default options as the library resolves them (`Model.info().defaults`), thresholds rounded. */
export function defaultOptions(info) {
  const { mode, tau_l, tau_c } = info.defaults;
  return { mode, tau_l: roundTau(tau_l), tau_c: roundTau(tau_c) };
}

/** The options a picked chart point sets: its mode and thresholds; a threshold it lacks (static) keeps its value. */
export function pickedOptions({ mode, tau_l, tau_c }, was) {
  const r = (t, before) => (typeof t === 'number' ? roundTau(t) : before);
  return { mode, tau_l: r(tau_l, was.tau_l), tau_c: r(tau_c, was.tau_c) };
}

/** Whether a mode reads threshold τ_k ('l' or 'c'). */
export const usesTau = (mode, k) => mode === k || mode === 'lc';
