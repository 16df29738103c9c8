// Running the network in the worker for one image: dynamic, static side, and bringing its traces up to date.
import { hasReference, optsKey, state } from './state.js';

export async function classify(img, options, network = 'model') {
  return state.client.classify(img.rgba.slice(), img.width, img.height, options, network);
}

/** The static side: the static reference the card names when it loaded, else these weights without gates. */
export const classifyStatic = (img) => classify(img, { mode: 'static' }, hasReference() ? 'reference' : 'model');

/** Brings img.dyn (current settings) and img.stat (current model, static) up to date. */
export async function ensureTraces(img) {
  const key = optsKey();
  if (img.dyn?.key !== key) {
    const r = await classify(img, state.opts);
    img.dyn = { key, ...r };
  }
  if (img.stat?.gen !== state.modelGen) {
    const r = state.opts.mode === 'static' && !hasReference() && img.dyn.key === key ? img.dyn : await classifyStatic(img);
    img.stat = { gen: state.modelGen, trace: r.trace, preview: r.preview };
  }
  img.error = null;
}
