// The page's start-up: checks the browser, wires inputs and controls, starts the worker, loads the default model.
import { InferenceClient } from './client.js';
import { applySetting, wireControls } from './controls.js';
import { loadGallery } from './gallery.js';
import { wireInput } from './images.js';
import { fetchModelList, fillModelSelect, loadModel, loadOtherCards, wireModelInputs } from './models.js';
import { select } from './run.js';
import { state } from './state.js';
import { fatal, onProgress, setStatus } from './status.js';
import { setHandlers } from './views.js';

function wasmSupported() {
  try {
    if (typeof WebAssembly !== 'object' || typeof WebAssembly.instantiate !== 'function') return false;
    return WebAssembly.validate(new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]));
  } catch {
    return false;
  }
}

async function main() {
  if (!wasmSupported()) {
    fatal('This browser does not support WebAssembly, which this page needs to run the network. ' +
      'Use a current Chrome, Edge, Firefox or Safari, with WebAssembly enabled.');
    return;
  }
  if (typeof Worker !== 'function') {
    fatal('This browser does not support Web Workers, which this page needs to run the network.');
    return;
  }
  setHandlers({ select, applySetting });
  wireInput();   // early, so a file dropped while loading is not opened by the browser
  wireModelInputs();
  wireControls();
  try {
    state.client = new InferenceClient();
    state.client.onprogress = onProgress;
    setStatus('loading', 'Loading WebAssembly module…');
    // The module compiles in the worker while the model list and then the model download.
    const ready = state.client.init().then(({ simd }) => { state.simd = simd; });
    ready.catch(() => {}); // awaited below
    const { models, def } = await fetchModelList();
    state.models = models;
    state.modelKey = def;
    fillModelSelect();
    await Promise.all([ready, loadModel(def)]);
  } catch (e) {
    fatal(e.message);
    return;
  }
  loadGallery();
  loadOtherCards().catch(() => {});
}

main();
