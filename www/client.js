// Promise-based client for worker.js: one request in flight per id, progress callbacks.
/** worker.js, passed the page's own `?wasm=simd128` if it has one (to run the SIMD128 build where the
 *  browser has relaxed SIMD, e.g. to compare the two). */
function workerUrl() {
  const url = new URL('./worker.js', import.meta.url);
  const want = new URLSearchParams(globalThis.location?.search ?? '').get('wasm');
  if (want) url.searchParams.set('wasm', want);
  return url;
}

export class InferenceClient {
  constructor(url = workerUrl()) {
    this.worker = new Worker(url, { type: 'module' });
    this.nextId = 1;
    this.pending = new Map();
    this.onprogress = null;
    this.worker.onmessage = (e) => this.#receive(e.data);
    this.worker.onerror = (e) => {
      // A worker that failed to start (e.g. its module could not load) fails every request.
      e.preventDefault?.();
      const err = new Error(`the inference worker failed: ${e.message || 'could not start it'}`);
      for (const { reject } of this.pending.values()) reject(err);
      this.pending.clear();
      this.failed = err;
    };
  }

  #receive(msg) {
    if (msg.type === 'progress') {
      this.onprogress?.(msg);
      return;
    }
    const p = this.pending.get(msg.id);
    if (!p) return;
    this.pending.delete(msg.id);
    if (msg.ok) p.resolve(msg.result);
    else p.reject(new Error(msg.error));
  }

  request(type, payload = {}, transfer = []) {
    if (this.failed) return Promise.reject(this.failed);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ id, type, ...payload }, transfer);
    });
  }

  /** Compiles the module; resolves to {simd}: which build runs ("relaxed-simd" or "simd128"). */
  init() { return this.request('init'); }

  /** Loads a model from a URL (string; `size` in bytes, if known, for progress) or from bytes
   *  (ArrayBuffer/Uint8Array). Resolves to {info, reference}: the model's info, and the static reference its
   *  card names (null, {file, name} once loaded beside it, or {file, error}). */
  async load(source, size = 0) {
    if (typeof source === 'string') return this.request('load', { url: source, size });
    const bytes = source instanceof Uint8Array ? source.slice().buffer : source;
    return this.request('load', { bytes }, [bytes]);
  }

  /** The card of the model file at `url` (`size` bytes, when its server sends no length), validated; only the file's
   *  header is fetched, and the loaded model stays. */
  async card(url, size = 0) {
    return (await this.request('card', { url, size })).card;
  }

  /** One throw-away classification on each loaded network, so that the first real one runs at full speed. */
  warmUp() { return this.request('warm-up'); }

  /** An image file's header checked as the CLI checks it: resolves to {format, size: [w, h] | null}, or
   *  rejects with the CLI's message. `head`: its first bytes (ArrayBuffer); `size`: its length. */
  inspect(head, size) {
    return this.request('inspect', { head, size }, [head]);
  }

  /** Rejects with the CLI's message for decoded dimensions it refuses. */
  checkSize(width, height) {
    return this.request('check-size', { width, height });
  }

  /** Classifies RGBA pixels; the pixel buffer is transferred (not usable afterwards). `network`: "model" (the
   *  loaded one) or "reference" (its static reference). */
  classify(rgba, width, height, options = {}, network = 'model') {
    const bytes = rgba instanceof ArrayBuffer ? rgba : rgba.buffer;
    return this.request('classify', { rgba: bytes, width, height, options, network }, [bytes]);
  }
}
