// Statistics of the timing samples (median); pure, tested in Node.

/** The median of a list of numbers (the mean of the middle two for an even count); the input is left unsorted. */
export const median = (xs) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
