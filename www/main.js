// The page: loads the wasm module and a model in a Web Worker, decodes images picked, dropped
// or pasted, and shows what the network computed for each.
import { InferenceClient } from './client.js';
import { decodeImage, ImageDecodeError } from './image.js';
import { $, fmtM, renderModel, renderResult } from './render.js';

const state = {
  client: null,
  info: null,
  models: [],      // [{file, size}] from models/index.json
  image: null,     // {rgba, width, height, name}: the last decoded image, kept to re-run it
  options: {},     // classify options; empty = the model card's defaults
  seq: 0,          // newest request wins
};

function setStatus(kind, text) {
  const s = $('status');
  s.dataset.state = kind;
  $('status-text').textContent = text;
  if (kind !== 'loading') $('status-progress').hidden = true;
}

function fatal(text) {
  setStatus('failed', 'Cannot start.');
  const f = $('fatal');
  f.textContent = text;
  f.hidden = false;
}

function showError(text) {
  const e = $('error');
  e.textContent = text;
  e.hidden = !text;
}

function wasmSupported() {
  try {
    if (typeof WebAssembly !== 'object' || typeof WebAssembly.instantiate !== 'function') return false;
    // The smallest valid module: magic + version.
    return WebAssembly.validate(new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]));
  } catch {
    return false;
  }
}

function onProgress({ what, loaded, total }) {
  const p = $('status-progress');
  const mb = (n) => (n / 1e6).toFixed(1);
  if (total > 0) {
    p.hidden = false;
    p.max = total;
    p.value = loaded;
    $('status-text').textContent = `Loading ${what}… ${mb(loaded)} / ${mb(total)} MB`;
  } else {
    $('status-text').textContent = `Loading ${what}… ${mb(loaded)} MB`;
  }
}

async function loadModel(file) {
  setStatus('loading', `Loading model ${file}…`);
  const size = state.models.find((m) => m.file === file)?.size ?? 0;
  state.info = await state.client.load(new URL(`models/${encodeURIComponent(file)}`, document.baseURI).href, size);
  renderModel(state.info);
  $('model').hidden = false;
  $('input').hidden = false;
  setStatus('ready', `Ready: ${state.info.card.name} (${fmtM(state.info.macs_static)} MACs static). Pick an image.`);
  if (state.image) await classifyCurrent();
}

async function classifyCurrent() {
  const img = state.image;
  const seq = ++state.seq;
  setStatus('busy', `Classifying ${img.name}…`);
  const size = state.info.card.input.size;
  try {
    // Send a copy: the buffer is transferred to the worker, and the original is kept to re-run.
    const out = await state.client.classify(img.rgba.slice(), img.width, img.height, state.options);
    if (seq !== state.seq) return;
    renderResult(out, { fileName: img.name, size });
    $('result').hidden = false;
    $('result').dataset.file = img.name;
    showError('');
    setStatus('ready', `Done: ${img.name} → ${out.trace.label}.`);
  } catch (e) {
    if (seq !== state.seq) return;
    $('result').hidden = true;
    showError(`Could not classify “${img.name}”: ${e.message}`);
    setStatus('ready', 'Ready. Pick another image.');
  }
}

async function handleFiles(files) {
  const list = [...(files ?? [])];
  if (list.length === 0) return;
  if (!state.info) {
    showError('The model is still loading; try again in a moment.');
    return;
  }
  const file = list[0];
  const seq = ++state.seq;
  setStatus('busy', `Reading ${file.name || 'image'}…`);
  try {
    const img = await decodeImage(file);
    if (seq !== state.seq) return;
    state.image = { ...img, name: file.name || 'pasted image' };
  } catch (e) {
    if (seq !== state.seq) return;
    $('result').hidden = true;
    showError(e instanceof ImageDecodeError ? e.message : `Could not read “${file.name}”: ${e.message}`);
    setStatus('ready', 'Ready. Pick another image.');
    return;
  }
  await classifyCurrent();
  if (list.length > 1) setStatus('ready', `Showing the first of ${list.length} files (${list[0].name}).`);
}

function wireInput() {
  const input = $('file');
  input.addEventListener('change', () => {
    handleFiles(input.files);
    input.value = '';   // picking the same file again fires `change` again
  });
  const drop = $('drop');
  // Stop the browser from opening a file dropped anywhere on the page; take it instead.
  for (const type of ['dragenter', 'dragover']) {
    document.addEventListener(type, (e) => {
      e.preventDefault();
      drop.classList.add('dragging');
    });
  }
  for (const type of ['dragleave', 'dragend']) {
    document.addEventListener(type, (e) => {
      if (e.type === 'dragend' || e.relatedTarget === null) drop.classList.remove('dragging');
    });
  }
  document.addEventListener('drop', (e) => {
    e.preventDefault();
    drop.classList.remove('dragging');
    handleFiles(e.dataTransfer?.files);
  });
  document.addEventListener('paste', (e) => {
    const files = [...(e.clipboardData?.files ?? [])];
    if (files.length) handleFiles(files);
  });
}

async function fetchModelList() {
  let index;
  try {
    const res = await fetch('models/index.json');
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    index = await res.json();
  } catch (e) {
    throw new Error(`The model list models/index.json could not be loaded (${e.message}). ` +
      'Build the page with scripts/build-web.sh, which copies weights/*.safetensors into www/models/.');
  }
  const models = (index.models ?? []).filter((m) => typeof m.file === 'string');
  if (models.length === 0) {
    throw new Error('No model to load: weights/ held no model file when scripts/build-web.sh ran.');
  }
  const files = models.map((m) => m.file);
  return { models, def: files.includes(index.default) ? index.default : files[0] };
}

function wireModelPicker(models, current) {
  if (models.length < 2) return;
  const sel = $('model-select');
  sel.replaceChildren(...models.map(({ file }) => new Option(file.replace(/\.safetensors$/, ''), file, file === current, file === current)));
  $('model-pick').hidden = false;
  sel.addEventListener('change', async () => {
    sel.disabled = true;
    try {
      await loadModel(sel.value);
    } catch (e) {
      showError(`Could not load model ${sel.value}: ${e.message}`);
      setStatus('ready', `Still using ${state.info.card.name}.`);
    } finally {
      sel.disabled = false;
    }
  });
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
  wireInput();   // early, so a file dropped while loading is not opened by the browser
  try {
    state.client = new InferenceClient();
    state.client.onprogress = onProgress;
    setStatus('loading', 'Loading WebAssembly module…');
    await state.client.init();
    const { models, def } = await fetchModelList();
    state.models = models;
    await loadModel(def);
    wireModelPicker(models, def);
  } catch (e) {
    fatal(e.message);
  }
}

main();
