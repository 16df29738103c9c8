// The model: load a shipped or own model, switch with the picker, read other shipped models' cards for the chart.
import { syncControls } from './controls.js';
import { $ } from './dom.js';
import { fmtM } from './format.js';
import { modelLabel, modelList } from './model-list.js';
import { defaultOptions } from './options.js';
import { renderModel } from './render.js';
import { refresh, whenIdle } from './run.js';
import { clearForce, currentFraction, state } from './state.js';
import { setStatus, showError } from './status.js';
import { drawChart, drawChartSoon, drawRoutesSoon } from './views.js';

/** Where a shipped model file is served. */
const modelUrl = (file) => new URL(`models/${encodeURIComponent(file)}`, document.baseURI).href;

/** models/index.json: the shipped models, the default first. */
export async function fetchModelList() {
  let index;
  try {
    const res = await fetch('models/index.json');
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    index = await res.json();
  } catch (e) {
    throw new Error(`The model list models/index.json could not be loaded (${e.message}). ` +
      'Build the page with scripts/build-web.sh, which copies weights/*.safetensors into www/models/.');
  }
  return modelList(index);
}

/** Loads a shipped model (its file name) or one the person brought ('own:N'); every trace becomes stale. */
export async function loadModel(key) {
  const own = state.own.get(key);
  let info, reference, source;
  if (own) {
    setStatus('loading', `Loading your model ${own.name}…`);
    ({ info, reference } = await state.client.load(own.bytes.slice(0)));
    source = `your file “${own.name}” (stays in this browser)`;
  } else {
    setStatus('loading', `Loading model ${key}…`);
    const size = state.models.find((m) => m.file === key)?.size ?? 0;
    ({ info, reference } = await state.client.load(modelUrl(key), size));
    source = `shipped: models/${key}`;
    state.cards.set(key, info.card);
  }
  state.info = info;
  state.reference = reference;
  clearForce();
  state.modelGen++;
  state.modelKey = key;
  $('model-select').value = key;
  renderModel(info, source, reference);
  state.opts = defaultOptions(info);
  syncControls();
  for (const id of ['model', 'controls', 'curve', 'input']) $(id).hidden = false;
  drawChartSoon();
  drawRoutesSoon();
  setStatus('ready', `Ready: ${info.card.name} (${fmtM(info.macs_static)} MACs static). ${state.images.length ? '' : 'Pick an image.'}`);
  // The worker runs the network once on a grey image, so that the browser has compiled and started optimising the
  // module's code before the first real image (queued after it) arrives.
  state.warm = state.client.warmUp().catch(() => {});
  if (state.images.length) refresh();
}

/** Reads the cards of the shipped models not loaded yet, so the chart can show every shipped model's measured
 *  points; a file that fails to load is left out. One at a time, each once the worker has warmed up and no image
 *  is being run, so that reading them never delays a result. */
export async function loadOtherCards() {
  for (const { file, size } of state.models) {
    if (state.cards.has(file)) continue;
    await state.warm;
    await whenIdle();
    try {
      state.cards.set(file, await state.client.card(modelUrl(file), size));
    } catch (e) {
      console.warn(`model card of ${file}: ${e.message}`);
    }
  }
  if (!$('model-select').disabled) fillModelSelect();
  if (state.info) drawChart(currentFraction());
  $('chart').dataset.cards = 'read';   // every card read that could be (tests wait for it)
}

export function fillModelSelect() {
  const sel = $('model-select');
  const opts = state.models.map(({ file }) => new Option(modelLabel(file, state.cards.get(file)), file));
  for (const [key, m] of state.own) opts.push(new Option(`your file: ${m.name}`, key));
  sel.replaceChildren(...opts);
  sel.value = state.modelKey;
}

async function switchModel(key) {
  const sel = $('model-select');
  const before = state.modelKey;
  sel.disabled = true;
  try {
    await loadModel(key);
    showError('', 'model-error');
  } catch (e) {
    showError(`Could not load model ${key}: ${e.message}`, 'model-error');
    sel.value = before;
    setStatus('ready', `Still using ${state.info.card.name}.`);
  } finally {
    sel.disabled = false;
  }
}

/** A .safetensors file the person brought (picked or dropped): loaded if it validates, else the model stays. */
export async function useOwnModel(file) {
  const name = file.name || 'model file';
  const cap = state.info.limits.model_file_bytes;
  if (file.size > cap) {
    showError(`“${name}” is ${(file.size / 1e6).toFixed(0)} MB, over the ${cap / 1e6 | 0} MB limit for a model file. Still using ${state.info.card.name}.`, 'model-error');
    return;
  }
  const bytes = await file.arrayBuffer();
  const key = `own:${state.nextId++}`;
  setStatus('loading', `Checking your model ${name}…`);
  try {
    // The worker keeps its current model unless the new one loads and validates.
    state.own.set(key, { name, bytes });
    await loadModel(key);
    fillModelSelect();
    showError('', 'model-error');
  } catch (e) {
    state.own.delete(key);
    showError(`“${name}” is not a usable lcnet model: ${e.message}. Still using ${state.info.card.name}.`, 'model-error');
    setStatus('ready', `Still using ${state.info.card.name}.`);
  }
}

/** The picker and the model file input. */
export function wireModelInputs() {
  const mf = $('model-file');
  mf.addEventListener('change', () => {
    if (mf.files?.[0] && state.info) useOwnModel(mf.files[0]);
    mf.value = '';
  });
  $('model-select').addEventListener('change', (e) => switchModel(e.target.value));
}
