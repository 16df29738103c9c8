// The page's one shared state object and what derives from it (current image, freshness keys); no DOM, tested in Node.

export const state = {
  client: null,
  simd: null,         // which wasm build the worker runs: "relaxed-simd" or "simd128" (worker.js)
  info: null,
  reference: null,    // the static reference the card names: null, {file, name} (loaded) or {file, error}
  modelGen: 0,        // bumps on every model load: all traces become stale
  modelKey: '',       // the select's value for the loaded model
  models: [],         // shipped: [{file, size}] from models/index.json
  cards: new Map(),   // shipped file → its model card, for the chart's other-model points
  own: new Map(),     // 'own:N' → {name, bytes} for models the person brought
  images: [],         // [{id, name, url, rgba, width, height, trueLabel, gallery, dyn, stat, timing, error}]
  currentId: null,
  nextId: 1,
  opts: null,        // {mode, tau_l, tau_c}: the loaded model's defaults until the person changes them
  force: { on: new Set(), off: new Set() },   // "what if": blocks forced for the current image ("S.I")
  running: false,
  dirty: false,
  reading: 0,         // images being read and decoded (images.js): the page is not idle meanwhile
  warm: null,         // the worker's warm-up after the last model load (a promise that never rejects)
  timingToken: 0,
  timingTimer: 0,
};

/** The loaded model and settings: a dynamic trace made under another key is stale. */
export const optsKey = () => `${state.modelGen}|${state.opts.mode}|${state.opts.tau_l}|${state.opts.tau_c}`;
export const current = () => state.images.find((i) => i.id === state.currentId) ?? null;
/** Whether an image's traces belong to the current model and settings. */
export const isFresh = (img) => img.dyn?.key === optsKey() && img.stat?.gen === state.modelGen;
/** What a timing measurement belongs to: this image under the current model and settings. */
export const timingKey = (img) => `${img.id}|${optsKey()}`;

/** The current image's MACs as a share of the static network's, or null while it has no fresh trace. */
export function currentFraction() {
  const t = current()?.dyn?.trace;
  return t && current().dyn.key === optsKey() ? t.macs / t.macs_static : null;
}

/** Whether the static side runs the static reference the card names (loaded with the model), not these weights. */
export const hasReference = () => Boolean(state.reference?.name);

/** The other shipped models of the same depth with a measured curve: drawn beside this one's. */
export function otherModels() {
  const card = state.info.card;
  return [...state.cards].filter(([file, c]) => file !== state.modelKey && c.arch?.depth === card.arch?.depth)
    .map(([file, c]) => ({ name: c.name ?? file, card: c }));
}

// ---- what if: blocks forced on or off for the current image -----------------------------
export const hasForce = () => state.force.on.size + state.force.off.size > 0;
export const forceKey = () => `${[...state.force.on].sort()}|${[...state.force.off].sort()}`;

export function clearForce() {
  state.force.on.clear();
  state.force.off.clear();
}
