// Module Web Worker that owns the wasm instance and the loaded model, so inference never
// blocks the page. Protocol (every request carries an `id`; every reply echoes it):
//   {id, type: "init"}                                  → {id, ok, result: {}}
//   {id, type: "load", url [, size] | bytes}            → {id, ok, result: {info}}
//   {id, type: "card", url}                             → {id, ok, result: {info}} of that model file,
//                                                          validated like "load", without replacing the model
//   {id, type: "classify", rgba, width, height, options}→ {id, ok, result: {trace, preview}}
//   {id, type: "memory"}                                → {id, ok, result: {wasmBytes}}
//   failure of any of them                              → {id, ok: false, error: "message"}
// Requests are handled one at a time, in the order they arrive.
// While fetching, the worker also posts {id, type: "progress", what, loaded, total}.
import init, { Model } from './pkg/lcnet.js';

let wasmReady = null;
let wasmMemory = null;   // the module's linear memory: it only grows, so its size is the high-water mark
let model = null;

async function fetchBytes(url, id, what, expected = 0, quiet = false) {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`could not fetch ${url}: HTTP ${res.status}`);
  // Chunked responses carry no Content-Length; the caller may know the size (models/index.json).
  const total = Number(res.headers.get('Content-Length')) || expected || 0;
  if (!res.body || quiet) return new Uint8Array(await res.arrayBuffer());
  const reader = res.body.getReader();
  const chunks = [];
  let loaded = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    loaded += value.length;
    self.postMessage({ id, type: 'progress', what, loaded, total });
  }
  const out = new Uint8Array(loaded);
  let o = 0;
  for (const c of chunks) { out.set(c, o); o += c.length; }
  return out;
}

function ensureWasm(id) {
  if (!wasmReady) {
    const url = new URL('./pkg/lcnet_bg.wasm', import.meta.url);
    wasmReady = fetchBytes(url, id, 'WebAssembly module')
      .then((bytes) => init({ module_or_path: bytes }))
      .then((exports) => { wasmMemory = exports.memory; })
      .catch((e) => { wasmReady = null; throw e; });
  }
  return wasmReady;
}

const handlers = {
  async init(msg) {
    await ensureWasm(msg.id);
    return {};
  },
  async load(msg) {
    await ensureWasm(msg.id);
    const bytes = msg.bytes
      ? new Uint8Array(msg.bytes)
      : await fetchBytes(msg.url, msg.id, 'model', msg.size);
    const next = new Model(bytes);          // throws a readable Error for a non-model file
    const info = next.info();
    if (model) model.free();                // replace only once the new one loaded
    model = next;
    return { info };
  },
  // Another shipped model's card, for the chart (its measured points beside the loaded model's).
  async card(msg) {
    await ensureWasm(msg.id);
    const other = new Model(await fetchBytes(msg.url, msg.id, 'model card', 0, true));
    try {
      return { info: other.info() };
    } finally {
      other.free();
    }
  },
  async classify(msg) {
    if (!model) throw new Error('no model is loaded');
    const rgba = new Uint8Array(msg.rgba);
    const trace = model.classify(rgba, msg.width, msg.height, msg.options ?? {});
    const preview = model.preview(rgba, msg.width, msg.height);
    return { result: { trace, preview }, transfer: [preview.buffer] };
  },
  // For the memory test (tests/e2e/worker_memory.mjs); gc() exists only under --js-flags=--expose-gc.
  async memory() {
    if (typeof globalThis.gc === 'function') globalThis.gc();
    return { wasmBytes: wasmMemory ? wasmMemory.buffer.byteLength : 0 };
  },
};

async function handle(msg) {
  const handler = handlers[msg.type];
  try {
    if (!handler) throw new Error(`unknown request ${JSON.stringify(msg.type)}`);
    const r = await handler(msg);
    if (r && r.transfer) self.postMessage({ id: msg.id, ok: true, result: r.result }, r.transfer);
    else self.postMessage({ id: msg.id, ok: true, result: r });
  } catch (err) {
    const error = err instanceof Error ? err.message : String(err);
    self.postMessage({ id: msg.id, ok: false, error });
  }
}

// One request at a time, in arrival order: a `classify` sent after a `load` sees the new model
// even while that model is still being fetched.
let queue = Promise.resolve();
self.onmessage = (e) => {
  const msg = e.data ?? {};
  queue = queue.then(() => handle(msg));
};
