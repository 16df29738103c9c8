// Number and label formatting shared by every view (pure: no DOM).

/** `n` with thousands separators, as toLocaleString('en-US') writes it; integers without it, whose first call
 *  loads the locale data (≈ 20 ms, on the page's way to its first result). */
export const fmtInt = (n) => {
  const v = Number(n);
  return Number.isSafeInteger(v) ? String(v).replace(/\B(?=(\d{3})+$)/g, ',') : v.toLocaleString('en-US');
};
export const fmtM = (n) => `${(n / 1e6).toFixed(2)} M`;
export const fmtPct = (x) => `${(100 * x).toFixed(1)} %`;
/** A share near 100 % (or a small difference) with enough digits to see it. */
export const fmtPctFine = (x) => `${(100 * x).toFixed(Math.abs(x - Math.round(x)) < 0.01 ? 2 : 1)} %`;
export const fmtTau = (t) => (t === null || t === undefined ? '—' : Number(t).toFixed(2));
export const fmtS = (v) => (v === null || v === undefined ? '—' : Number(v).toFixed(3));
export const MODES = { static: 'static', l: 'L-Net only', c: 'C-Net only', lc: 'LC-Net' };
export const modeName = (m) => MODES[m] ?? m;
