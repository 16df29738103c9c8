// The page: loads the wasm module and a model in a Web Worker, takes images (picked, dropped,
// pasted or from the sample gallery), and shows for each what the network computed, dynamic
// against static, re-running everything whenever the mode or a threshold changes.
import { InferenceClient } from './client.js';
import { decodeImage, ImageDecodeError } from './image.js';
import { defaultPoint } from './card.js';
import { renderChart } from './chart.js';
import { $, el } from './dom.js';
import { fmtM, fmtPct, fmtTau } from './format.js';
import { renderMap, renderWhatIf } from './map.js';
import { renderBatch, renderModel, renderResult, renderTiming } from './render.js';
import { renderRoutes } from './routes.js';

const TIMING_RUNS = 7;                  // timed runs of each, after one warm-up run of each

const state = {
  client: null,
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
  timingToken: 0,
  timingTimer: 0,
};

// ---- status and messages -----------------------------------------------------------------
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

function showError(text, id = 'error') {
  const e = $(id);
  e.textContent = text;
  e.hidden = !text;
}

function wasmSupported() {
  try {
    if (typeof WebAssembly !== 'object' || typeof WebAssembly.instantiate !== 'function') return false;
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

// ---- models ------------------------------------------------------------------------------
/** The model's default options as the library resolves them (`Model.info().defaults`), thresholds rounded
 *  to what the sliders show (f32 thresholds arrive as f64: 0.3 → 0.30000001…). */
function defaultOptions(info) {
  const { mode, tau_l, tau_c } = info.defaults;
  const r = (t) => Math.round(t * 1e4) / 1e4;
  return { mode, tau_l: r(tau_l), tau_c: r(tau_c) };
}

/** Where a shipped model file is served. */
const modelUrl = (file) => new URL(`models/${encodeURIComponent(file)}`, document.baseURI).href;

async function loadModel(key) {
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
  drawChart(null);
  drawRoutes();
  setStatus('ready', `Ready: ${info.card.name} (${fmtM(info.macs_static)} MACs static). ${state.images.length ? '' : 'Pick an image.'}`);
  if (state.images.length) refresh();
}

/** The other shipped models of the same depth with a measured curve: drawn beside this one's. */
function otherModels() {
  const card = state.info.card;
  return [...state.cards].filter(([file, c]) => file !== state.modelKey && c.arch?.depth === card.arch?.depth)
    .map(([file, c]) => ({ name: c.name ?? file, card: c }));
}

function drawChart(imageFraction) {
  renderChart(state.info.card, state.opts, imageFraction, otherModels(), applySetting);
}

/** A point of the chart picked: its mode and thresholds become the current setting. */
function applySetting({ mode, tau_l, tau_c }) {
  const r = (t, was) => (typeof t === 'number' ? Math.round(t * 1e4) / 1e4 : was);
  state.opts = { mode, tau_l: r(tau_l, state.opts.tau_l), tau_c: r(tau_c, state.opts.tau_c) };
  syncControls();
  changed();
}

/** Reads the cards of the shipped models not loaded yet (in the worker, after anything queued before), so the
 *  chart can show every shipped model's measured points; a file that fails to load is left out. */
async function loadOtherCards() {
  for (const { file } of state.models) {
    if (state.cards.has(file)) continue;
    try {
      const info = await state.client.card(modelUrl(file));
      state.cards.set(file, info.card);
    } catch (e) {
      console.warn(`model card of ${file}: ${e.message}`);
    }
  }
  if (!$('model-select').disabled) fillModelSelect();
  if (state.info) drawChart(currentFraction());
}

/** A shipped model's name, with what it does at its defaults once its card has been read. */
function modelLabel(file) {
  const name = file.replace(/\.safetensors$/, '');
  const d = state.cards.has(file) ? defaultPoint(state.cards.get(file)) : null;
  return d && typeof d.macs_fraction === 'number' ? `${name} · ${fmtPct(d.accuracy)}, ${Math.round(100 * d.macs_fraction)} % MACs` : name;
}

function fillModelSelect() {
  const sel = $('model-select');
  const opts = state.models.map(({ file }) => new Option(modelLabel(file), file));
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

async function useOwnModel(file) {
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

// ---- controls ----------------------------------------------------------------------------
function syncControls() {
  const g = state.info?.card.gates;
  const o = state.opts;
  for (const r of document.querySelectorAll('input[name="mode"]')) {
    r.checked = r.value === o.mode;
    r.disabled = r.value !== 'static' && (!g || (r.value.includes('l') && !g.l_net) || (r.value.includes('c') && !g.c_net));
  }
  $('tau-l').value = String(o.tau_l);
  $('tau-c').value = String(o.tau_c);
  $('tau-l-out').textContent = fmtTau(o.tau_l);
  $('tau-c-out').textContent = fmtTau(o.tau_c);
  $('tau-l').disabled = !(o.mode === 'l' || o.mode === 'lc');
  $('tau-c').disabled = !(o.mode === 'c' || o.mode === 'lc');
}

function wireControls() {
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

function changed() {
  drawChart(currentFraction());
  refresh();
}

const optsKey = () => `${state.modelGen}|${state.opts.mode}|${state.opts.tau_l}|${state.opts.tau_c}`;
const current = () => state.images.find((i) => i.id === state.currentId) ?? null;
/** Whether an image's traces belong to the current model and settings. */
const isFresh = (img) => img.dyn?.key === optsKey() && img.stat?.gen === state.modelGen;
function currentFraction() {
  const t = current()?.dyn?.trace;
  return t && current().dyn.key === optsKey() ? t.macs / t.macs_static : null;
}

// ---- running the network -----------------------------------------------------------------
async function classify(img, options, network = 'model') {
  return state.client.classify(img.rgba.slice(), img.width, img.height, options, network);
}

/** The static side: the static reference the card names when it loaded, else these weights without gates. */
const hasReference = () => Boolean(state.reference?.name);
const classifyStatic = (img) => classify(img, { mode: 'static' }, hasReference() ? 'reference' : 'model');

/** Brings img.dyn (current settings) and img.stat (current model, static) up to date. */
async function ensureTraces(img) {
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

/** Re-runs what is stale; coalesces bursts of changes (a slider drag) into one pass at a time. */
async function refresh() {
  if (!state.info) return;
  // Rows of another model or setting are marked at once (synchronously, before any await), even while a pass runs.
  if (state.images.some((img) => !isFresh(img))) drawBatch();
  if (state.running) { state.dirty = true; return; }
  state.running = true;
  try {
    do {
      state.dirty = false;
      await refreshOnce();
    } while (state.dirty);
  } finally {
    state.running = false;
  }
  scheduleTiming(true);
}

async function refreshOnce() {
  const cur = current();
  if (cur) {
    setStatus('busy', `Running ${cur.name}…`);
    try {
      await ensureTraces(cur);
    } catch (e) {
      cur.error = e.message;
    }
    if (state.dirty) return;
    showCurrent();
  }
  let n = 0;
  for (const img of state.images) {
    if (state.dirty) return;
    if (isFresh(img)) continue;
    try {
      await ensureTraces(img);
    } catch (e) {
      img.error = e.message;
    }
    if (++n % 8 === 0) drawBatch();
  }
  drawBatch();
}

// ---- what if: blocks forced on or off for the current image -----------------------------
const hasForce = () => state.force.on.size + state.force.off.size > 0;
const forceKey = () => `${[...state.force.on].sort()}|${[...state.force.off].sort()}`;

function clearForce() {
  state.force.on.clear();
  state.force.off.clear();
}

/** A block of the map picked: force it the other way, or back to its gate if it was forced. */
function toggleForce(b) {
  const id = `${b.stage}.${b.index}`;
  if (!state.force.on.delete(id) && !state.force.off.delete(id)) (b.executed ? state.force.off : state.force.on).add(id);
  updateWhatIf();
}

/** Re-runs the current image with its forced blocks (the gates' own run stays in the result). */
async function updateWhatIf() {
  const cur = current();
  if (!cur?.dyn || cur.error) return;
  if (!hasForce()) {
    renderWhatIf(cur.dyn.trace, null);
    renderMap(cur.dyn.trace, toggleForce);
    return;
  }
  const key = `${cur.id}|${optsKey()}|${forceKey()}`;
  let r;
  try {
    r = await classify(cur, { ...state.opts, force_on: [...state.force.on], force_off: [...state.force.off] });
  } catch (e) {
    showError(`What if: ${e.message}`);
    return;
  }
  if (key !== `${current()?.id}|${optsKey()}|${forceKey()}`) return;   // superseded meanwhile
  renderWhatIf(cur.dyn.trace, r.trace);
  renderMap(r.trace, toggleForce);
}

function showCurrent() {
  const cur = current();
  if (!cur) return;
  if (cur.error || !cur.dyn || !cur.stat) {
    $('result').hidden = true;
    showError(`Could not classify “${cur.name}”: ${cur.error ?? 'no result'}`);
    setStatus('ready', 'Ready. Pick another image.');
    return;
  }
  renderResult(cur.dyn, cur.stat, cur, state.info.card.input.size, toggleForce);
  if (hasForce()) updateWhatIf();
  else renderWhatIf(cur.dyn.trace, null);
  $('result').hidden = false;
  $('result').dataset.file = cur.name;
  $('result').dataset.key = cur.dyn.key;
  drawChart(currentFraction());
  drawStrip();
  setStatus('ready', `Done: ${cur.name} → ${cur.dyn.trace.label}.`);
  scheduleTiming(!state.running);   // refresh() starts it when its pass is over
}

// ---- timing: median of several warm runs of each, in the worker --------------------------
function scheduleTiming(start) {
  const cur = current();
  if (!cur || !cur.dyn || cur.error) return;
  const key = `${cur.id}|${optsKey()}`;
  if (cur.timing?.key === key) { renderTiming(cur.timing); return; }
  if ($('timing').dataset.state === 'measuring' && $('timing').dataset.key === key && !start) return;
  const token = ++state.timingToken;
  clearTimeout(state.timingTimer);
  renderTiming(null);
  $('timing').dataset.key = key;
  if (start) state.timingTimer = setTimeout(() => measure(cur, key, token), 150);
}

const median = (xs) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };

async function measure(img, key, token) {
  const dyn = [], stat = [];
  const stale = () => token !== state.timingToken || state.running;
  try {
    for (let i = 0; i <= TIMING_RUNS; i++) {
      for (const which of i % 2 ? ['stat', 'dyn'] : ['dyn', 'stat']) {
        if (stale()) return;
        const r = await (which === 'dyn' ? classify(img, state.opts) : classifyStatic(img));
        if (i > 0) (which === 'dyn' ? dyn : stat).push(r.trace.elapsed_ms);
      }
    }
  } catch {
    return;
  }
  if (token !== state.timingToken) return;
  img.timing = { key, dyn: median(dyn), stat: median(stat), runs: TIMING_RUNS, samples: { dyn, stat } };
  if (img.id === state.currentId) renderTiming(img.timing);
}

// ---- images ------------------------------------------------------------------------------
function drawStrip() {
  const strip = $('strip');
  strip.replaceChildren(...state.images.map((img) => {
    const sel = img.id === state.currentId;
    const b = el('button', {
      type: 'button', class: `thumb${sel ? ' selected' : ''}`, role: 'option', 'aria-selected': String(sel),
      title: img.trueLabel ? `${img.name} (true: ${img.trueLabel})` : img.name, 'data-id': String(img.id),
    }, el('img', { src: img.url, alt: img.name }),
    el('span', { class: 'thumb-cap', text: img.dyn?.trace ? img.dyn.trace.label : '…' }));
    b.addEventListener('click', () => select(img.id));
    return b;
  }));
  $('strip-count').textContent = `(${state.images.length})`;
  $('strip-wrap').hidden = state.images.length === 0;
}

function drawBatch() {
  $('batch').hidden = state.images.length === 0;
  renderBatch(state.images, state.currentId, select, isFresh);
  drawRoutes();
  drawStrip();
}

function drawRoutes() {
  renderRoutes(state.images, { currentId: state.currentId, onSelect: select, isFresh, info: state.info });
}

function select(id) {
  if (id !== state.currentId) clearForce();
  state.currentId = id;
  const cur = current();
  if (cur && isFresh(cur)) {
    showCurrent();
    drawBatch();
  } else {
    refresh();
  }
}

function isModelFile(f) { return /\.safetensors$/i.test(f.name || ''); }

/** files: Blob/File list; meta: per-file {trueLabel, gallery} (optional). */
async function addFiles(files, meta = []) {
  const list = [...(files ?? [])];
  if (list.length === 0) return;
  if (!state.info) {
    showError('The model is still loading; try again in a moment.');
    return;
  }
  const models = list.filter(isModelFile);
  if (models.length) await useOwnModel(models[0]);
  const errors = [];
  let first = null;
  showError('');
  for (const [i, file] of list.entries()) {
    if (isModelFile(file)) continue;
    const name = file.name || 'pasted image';
    setStatus('busy', `Reading ${name}…`);
    try {
      const img = await decodeImage(file, state.client);
      const entry = {
        id: state.nextId++, name, url: URL.createObjectURL(file), ...img,
        trueLabel: meta[i]?.trueLabel ?? null, gallery: meta[i]?.gallery ?? null, dyn: null, stat: null,
      };
      state.images.push(entry);
      first ??= entry;
    } catch (e) {
      errors.push(e instanceof ImageDecodeError ? e.message : `Could not read “${name}”: ${e.message}`);
    }
  }
  if (errors.length) showError(errors.join(' '));
  if (first) {
    select(first.id);
  } else {
    setStatus('ready', state.images.length ? 'Ready. The other images are still loaded.' : 'Ready. Pick another image.');
  }
}

function clearImages() {
  for (const img of state.images) URL.revokeObjectURL(img.url);
  state.images = [];
  state.currentId = null;
  ++state.timingToken;
  $('result').hidden = true;
  drawBatch();
  showError('');
  drawChart(null);
  setStatus('ready', 'Ready. Pick an image.');
}

function wireInput() {
  const input = $('file');
  input.addEventListener('change', () => {
    addFiles(input.files);
    input.value = '';
  });
  const mf = $('model-file');
  mf.addEventListener('change', () => {
    if (mf.files?.[0] && state.info) useOwnModel(mf.files[0]);
    mf.value = '';
  });
  const drop = $('drop');
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
    addFiles(e.dataTransfer?.files);
  });
  document.addEventListener('paste', (e) => {
    const files = [...(e.clipboardData?.files ?? [])];
    if (files.length) addFiles(files);
  });
  $('clear').addEventListener('click', clearImages);
  $('export').addEventListener('click', exportTraces);
  $('model-select').addEventListener('change', (e) => switchModel(e.target.value));
}

function exportTraces() {
  const data = {
    generator: 'lcnet web demo',
    model: state.info.card.name,
    options: state.opts,
    images: state.images.map((img) => ({
      name: img.name, true_label: img.trueLabel, error: img.error ?? undefined,
      trace: img.dyn?.key === optsKey() ? img.dyn.trace : null,
      static: img.stat?.gen === state.modelGen ? { label: img.stat.trace.label, prob: img.stat.trace.prob, macs: img.stat.trace.macs } : null,
      timing_ms: img.timing?.key === `${img.id}|${optsKey()}` ? { dynamic: img.timing.dyn, static: img.timing.stat, runs: img.timing.runs } : undefined,
    })),
  };
  const url = URL.createObjectURL(new Blob([JSON.stringify(data, null, 2)], { type: 'application/json' }));
  const a = el('a', { href: url, download: `lcnet-traces-${state.info.card.name}.json` });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

// ---- gallery -----------------------------------------------------------------------------
async function loadGallery() {
  let index;
  try {
    const res = await fetch('gallery/index.json');
    if (!res.ok) return;
    index = await res.json();
  } catch {
    return;
  }
  const items = (index.images ?? []).filter((g) => typeof g.file === 'string' && /^[\w.-]+$/.test(g.file));
  if (!items.length) return;
  const fetchOne = async (g) => {
    const res = await fetch(`gallery/${g.file}`);
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    return new File([await res.blob()], g.file, { type: 'image/png' });
  };
  const open = async (gs) => {
    const fresh = gs.filter((g) => !state.images.some((i) => i.gallery === g.file));
    const known = state.images.find((i) => gs.length === 1 && i.gallery === gs[0].file);
    if (known) { select(known.id); return; }
    try {
      const files = await Promise.all(fresh.map(fetchOne));
      await addFiles(files, fresh.map((g) => ({ trueLabel: g.label, gallery: g.file })));
    } catch (e) {
      showError(`Could not load the sample images: ${e.message}`);
    }
  };
  $('gallery-items').replaceChildren(...items.map((g) => {
    const b = el('button', { type: 'button', class: 'gthumb', role: 'listitem', title: `${g.file}: a test image labelled ${g.label}`, 'data-file': g.file },
      el('img', { src: `gallery/${g.file}`, alt: `sample: ${g.label}` }), el('span', { text: g.label }));
    b.addEventListener('click', () => open([g]));
    return b;
  }));
  $('gallery-all').addEventListener('click', () => open(items));
  $('gallery').hidden = false;
  $('gallery-h').firstChild.textContent = `${index.dataset ?? 'Sample test images'} `;
}

// ---- start -------------------------------------------------------------------------------
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
  const def = files.includes(index.default) ? index.default : files[0];
  // the default first in the picker
  models.sort((a, b) => (b.file === def) - (a.file === def));
  return { models, def };
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
  wireControls();
  try {
    state.client = new InferenceClient();
    state.client.onprogress = onProgress;
    setStatus('loading', 'Loading WebAssembly module…');
    await state.client.init();
    const { models, def } = await fetchModelList();
    state.models = models;
    state.modelKey = def;
    fillModelSelect();
    await loadModel(def);
  } catch (e) {
    fatal(e.message);
    return;
  }
  loadGallery();
  loadOtherCards();
}

main();
