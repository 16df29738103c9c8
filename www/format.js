// Number and label formatting shared by every view (pure: no DOM).

export const fmtInt = (n) => Number(n).toLocaleString('en-US');
export const fmtM = (n) => `${(n / 1e6).toFixed(2)} M`;
export const fmtPct = (x) => `${(100 * x).toFixed(1)} %`;
/** A share near 100 % (or a small difference) with enough digits to see it. */
export const fmtPctFine = (x) => `${(100 * x).toFixed(Math.abs(x - Math.round(x)) < 0.01 ? 2 : 1)} %`;
export const fmtTau = (t) => (t === null || t === undefined ? '—' : Number(t).toFixed(2));
export const fmtS = (v) => (v === null || v === undefined ? '—' : Number(v).toFixed(3));
export const MODES = { static: 'static', l: 'L-Net only', c: 'C-Net only', lc: 'LC-Net' };
export const modeName = (m) => MODES[m] ?? m;
