// Module Web Worker that owns the wasm instance and the loaded model, so inference never
// blocks the page. Protocol (every request carries an `id`; every reply echoes it):
//   {id, type: "init"}                                  → {id, ok, result: {simd}}: "relaxed-simd" or "simd128", the
//                                                          build it runs (wasm-features.js; ?wasm=simd128 on the
//                                                          worker's URL forces the SIMD128 one)
//   {id, type: "load", url [, size] | bytes}            → {id, ok, result: {info, reference}}: reference is
//                                                          null, {file, name} once the static reference the
//                                                          card names is loaded beside it, or {file, error}
//   {id, type: "card", url [, size]}                    → {id, ok, result: {card}} of that model file, validated
//                                                          like "load"'s, its tensors not loaded; the model stays
//   {id, type: "classify", rgba, width, height, options [, network: "reference"]}
//                                                       → {id, ok, result: {trace, preview: ImageData}} (of the static
//                                                          reference with network "reference")
//   {id, type: "inspect", head, size}                   → {id, ok, result: {format, size}}: an image file's
//                                                          header checked as the CLI checks it (head: its
//                                                          first bytes; size: its length), or the CLI's error
//   {id, type: "check-size", width, height}             → {id, ok, result: {}} or the CLI's error
//   {id, type: "warm-up"}                               → {id, ok, result: {}}: a grey image run as the page's
//                                                          first image is, results thrown away
//   {id, type: "memory"}                                → {id, ok, result: {wasmBytes}}
//   failure of any of them                              → {id, ok: false, error: "message"}
// Requests are handled one at a time, in the order they arrive; only "card", which reads no state of the
// worker's, runs beside them, so the chart's cards never hold up an image.
// While fetching, the worker also posts {id, type: "progress", what, loaded, total}.
import init, { Model, cardHeadLen, checkImageSize, inspectImage, readCard } from './pkg/lcnet.js';
import { wasmFile } from './wasm-features.js';

// One JS glue, two builds of the module: the fused multiply-add one where this browser validates it.
const build = wasmFile(WebAssembly, new URL(self.location.href).searchParams.get('wasm') ?? 'auto');

let wasmReady = null;
let wasmMemory = null;   // the module's linear memory: it only grows, so its size is the high-water mark
let model = null;
let reference = null;    // the static network the loaded model's card names, when it names one

/** The static reference `card` names, from beside `url` (the card holds a plain file name), checked to stand for
 *  `owner`'s static network; `pending`: its bytes, already being fetched (when `card` names one and `url` is set).
 *  Returns what the page is told. */
async function loadReference(owner, card, url, pending) {
  const file = card.static_reference;
  if (!file) return { ref: null, status: null };
  if (!url) return { ref: null, status: { file, error: 'it is a file beside the model on the server; a model you bring has no such file here' } };
  try {
    const ref = new Model(await pending);
    try {
      owner.checkStaticReference(ref);
      return { ref, status: { file, name: ref.info().card.name } };
    } catch (e) {
      ref.free();
      throw e;
    }
  } catch (e) {
    return { ref: null, status: { file, error: e instanceof Error ? e.message : String(e) } };
  }
}

async function fetchBytes(url, id, what, expected = 0) {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`could not fetch ${url}: HTTP ${res.status}`);
  // Chunked responses carry no Content-Length; the caller may know the size (models/index.json).
  const total = Number(res.headers.get('Content-Length')) || expected || 0;
  if (!res.body) return new Uint8Array(await res.arrayBuffer());
  return readBody(res, (loaded) => {
    self.postMessage({ id, type: 'progress', what, loaded, total });
    return false;
  });
}

/** `res`'s body, read chunk by chunk until it ends or `enough(loaded, chunks)` is true (the rest is not read). */
async function readBody(res, enough) {
  const reader = res.body.getReader();
  const chunks = [];
  let loaded = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    loaded += value.length;
    if (enough(loaded, chunks)) {
      reader.cancel().catch(() => {});
      break;
    }
  }
  return joinChunks(chunks, loaded);
}

/** The first bytes of the model file at `url`, up to the end of its header (`cardHeadLen`), and the file's length
 *  (Content-Length, else `size`); the rest of the response is not read. */
async function fetchHead(url, size) {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`could not fetch ${url}: HTTP ${res.status}`);
  const fileLen = Number(res.headers.get('Content-Length')) || size;
  if (!res.body || !fileLen) {
    const all = new Uint8Array(await res.arrayBuffer());
    return { head: all, fileLen: all.length };
  }
  let need = 8;
  const head = await readBody(res, (have, chunks) => {
    if (need === 8 && have >= 8) need = cardHeadLen(joinChunks(chunks, have)) ?? 8;
    return need > 8 && have >= need;
  });
  return { head, fileLen };
}

function joinChunks(chunks, length) {
  const out = new Uint8Array(length);
  let o = 0;
  for (const c of chunks) { out.set(c, o); o += c.length; }
  return out;
}

function ensureWasm(id) {
  if (!wasmReady) {
    const url = new URL(`./pkg/${build.file}`, import.meta.url);
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
    return { simd: build.simd };
  },
  async load(msg) {
    // The model file downloads while the module compiles, and its static reference while the model is parsed.
    const [bytes] = await Promise.all([
      msg.bytes ? new Uint8Array(msg.bytes) : fetchBytes(msg.url, msg.id, 'model', msg.size),
      ensureWasm(msg.id),
    ]);
    let pending = null;
    try {
      const file = readCard(bytes, bytes.length).static_reference;
      if (file && msg.url) {
        pending = fetchBytes(new URL(file, msg.url), msg.id, 'static reference');
        pending.catch(() => {}); // loadReference reports a failure
      }
    } catch {
      // not a model file: `new Model` says why
    }
    const next = new Model(bytes);          // throws a readable Error for a non-model file
    const info = next.info();
    const { ref, status } = await loadReference(next, info.card, msg.url, pending);
    if (model) model.free();                // replace only once the new one loaded
    if (reference) reference.free();
    model = next;
    reference = ref;
    return { info, reference: status };
  },
  // Another shipped model's card, for the chart (its measured points beside the loaded model's): read from the
  // file's header, fetching only that far (a few kB of a file of megabytes), so that reading every shipped
  // model's card does not keep the worker from the first image.
  async card(msg) {
    await ensureWasm(msg.id);
    const { head, fileLen } = await fetchHead(msg.url, msg.size ?? 0);
    return { card: readCard(head, fileLen) };
  },
  async classify(msg) {
    if (!model) throw new Error('no model is loaded');
    const net = msg.network === 'reference' ? reference : model;
    if (!net) throw new Error('the loaded model has no static reference');
    const rgba = new Uint8Array(msg.rgba);
    const trace = net.classify(rgba, msg.width, msg.height, msg.options ?? {});
    const preview = net.preview(rgba, msg.width, msg.height);
    return { result: { trace, preview }, transfer: [preview.data.buffer] };
  },
  // The browser compiles a wasm function when it is first called and optimises it once it has run, so the
  // first classification after start-up costs tens of milliseconds more than the next ones. The page asks for
  // this as soon as it has shown a model, while the person chooses an image; a request sent before it is served
  // first, and the page reads the other models' cards only after it.
  async 'warm-up'() {
    const side = 32;
    const grey = new Uint8Array(side * side * 4).fill(128);
    // what the page's first image runs: the model at its defaults, the static side, the preview
    model?.classify(grey, side, side, {});
    (reference ?? model)?.classify(grey, side, side, { mode: 'static' });
    model?.preview(grey, side, side);
    return {};
  },
  async inspect(msg) {
    await ensureWasm(msg.id);
    return inspectImage(new Uint8Array(msg.head), msg.size);
  },
  async 'check-size'(msg) {
    await ensureWasm(msg.id);
    checkImageSize(msg.width, msg.height);
    return {};
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
// The module downloads and compiles from the moment the worker starts, not from the page's first request;
// a failure here is reported to that request, which tries again.
ensureWasm(0).catch(() => {});

self.onmessage = (e) => {
  const msg = e.data ?? {};
  if (msg.type === 'card') handle(msg);
  else queue = queue.then(() => handle(msg));
};
