// Browser side of tests/e2e/bench.mjs: a module Web Worker that loads the lcnet wasm module the way
// www/worker.js does (fetch the bytes, init, `new Model(bytes)`) and ONNX Runtime Web (wasm backend,
// one thread) in the same worker, then times `model.classify` (static and dynamic) and
// `session.run` on the same images with performance.now(). Served by bench.mjs at /bench/worker.js;
// the wasm glue from /pkg/ (www/pkg), ONNX Runtime Web from /ort/ (node_modules/onnxruntime-web/dist).
// Request: {type: 'run', cfg}; reply: {ok: true, result} or {ok: false, error}.
import { wasmFile } from '/wasm-features.js';

function median(v) {
  const s = [...v].sort((a, b) => a - b);
  const n = s.length;
  return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

const PARTS = ['pool', 'gates', 'shortcut', 'conv1', 'conv2', 'epilogue'];

/** A TimeSplit as one list: stem, head, then the parts of each block. */
function flatSplit(t) {
  return [t.stem, t.head, ...t.blocks.flatMap((b) => PARTS.map((p) => b[p]))];
}

/** `flatSplit`'s list back as {stem, head, blocks, and each part summed over the blocks}. */
function nestSplit(v) {
  const blocks = [];
  for (let i = 2; i < v.length; i += PARTS.length) {
    blocks.push(Object.fromEntries(PARTS.map((p, k) => [p, v[i + k]])));
  }
  const sums = Object.fromEntries(PARTS.map((p) => [p, blocks.reduce((a, b) => a + b[p], 0)]));
  const total = v[0] + v[1] + Object.values(sums).reduce((a, b) => a + b, 0);
  return { stem: v[0], head: v[1], ...sums, total, blocks };
}

async function bytesOf(url) {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`could not fetch ${url}: HTTP ${res.status}`);
  return new Uint8Array(await res.arrayBuffer());
}

/** RGBA pixels of an image file, decoded by the browser with no colour conversion (as the page does). */
async function rgbaOf(url) {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`could not fetch ${url}: HTTP ${res.status}`);
  const bmp = await createImageBitmap(await res.blob(), { colorSpaceConversion: 'none', premultiplyAlpha: 'none' });
  const c = new OffscreenCanvas(bmp.width, bmp.height);
  const g = c.getContext('2d', { willReadFrequently: true });
  g.drawImage(bmp, 0, 0);
  const { data } = g.getImageData(0, 0, bmp.width, bmp.height);
  return { rgba: new Uint8Array(data.buffer), width: bmp.width, height: bmp.height };
}

/** NCHW float32 input for the ONNX graph: the card's normalisation of a 32×32 RGBA image (lcnet's
 *  pre-processing is the identity crop/resize at 32×32, so both networks see the same numbers). */
function normalise(rgba, mean, std, out) {
  const hw = 32 * 32;
  for (let c = 0; c < 3; c++) {
    const m = mean[c], s = std[c];
    for (let i = 0; i < hw; i++) out[c * hw + i] = (rgba[i * 4 + c] / 255 - m) / s;
  }
  return out;
}

async function run(cfg) {
  const t0 = performance.now(); // ≈ worker start
  const marks = {};
  let last = t0;
  const mark = (name) => { const t = performance.now(); marks[name] = t - last; last = t; };
  const glue = await import('/pkg/lcnet.js');
  mark('glue_import');
  // The build the page would run (or the one the bench was given): same glue for both.
  const build = wasmFile(WebAssembly, cfg.wasmWant ?? 'auto');
  const wasmBytes = await bytesOf(cfg.wasmUrl ?? `/pkg/${build.file}`);
  mark('wasm_fetch');
  await glue.default({ module_or_path: wasmBytes });
  mark('wasm_compile_init');
  const modelBytes = await bytesOf(cfg.modelUrl);
  mark('model_fetch');
  const model = new glue.Model(modelBytes);
  const info = model.info();
  mark('model_load');
  const images = [];
  for (const u of cfg.images) images.push(await rgbaOf(u));
  for (const im of images) {
    if (im.width !== 32 || im.height !== 32) throw new Error(`bench images must be 32×32, got ${im.width}×${im.height}`);
  }
  const tImages = performance.now() - last;
  const stat = { mode: 'static' };
  const dyn = {};
  if (cfg.tauL !== null) dyn.tau_l = cfg.tauL;
  if (cfg.tauC !== null) dyn.tau_c = cfg.tauC;
  last = performance.now();
  model.classify(images[0].rgba, 32, 32, stat);
  mark('first_classify');
  // wasm fetched + compiled + model loaded + one classification (image decoding excluded)
  const firstResultMs = performance.now() - t0 - tImages;

  const ort = await import('/ort/ort.wasm.min.mjs');
  ort.env.wasm.numThreads = 1;
  ort.env.wasm.proxy = false;
  ort.env.wasm.wasmPaths = '/ort/';
  const tOrt = performance.now();
  const session = await ort.InferenceSession.create(await bytesOf(cfg.onnxUrl), {
    executionProviders: ['wasm'], graphOptimizationLevel: 'all',
  });
  const { mean, std } = info.card.input;
  const x = new Float32Array(3 * 32 * 32);
  const onnx = async (rgba) => {
    const feeds = { [session.inputNames[0]]: new ort.Tensor('float32', normalise(rgba, mean, std, x), [1, 3, 32, 32]) };
    const out = await session.run(feeds);
    return out[session.outputNames[0]].data;
  };
  await onnx(images[0].rgba);
  const onnxFirstMs = performance.now() - tOrt;
  // The stock candle path (Model.classifyReference), when this build of the module has it.
  const stock = typeof model.classifyReference === 'function'
    ? (rgba) => model.classifyReference(rgba, 32, 32, stat) : null;

  // Warm-up (Chromium's wasm tiers up over ≈ 30 runs), interleaved like the timed runs.
  for (let i = 0; i < cfg.warmup; i++) {
    const { rgba } = images[i % images.length];
    model.classify(rgba, 32, 32, stat);
    model.classify(rgba, 32, 32, dyn);
    await onnx(rgba);
    if (stock) stock(rgba);
  }
  const keys = ['static', 'dynamic', 'onnx', 'stock', 'static_inner', 'dynamic_inner',
    'pair_static_onnx', 'pair_dynamic_onnx', 'pair_realised'];
  const per = Object.fromEntries(keys.map((k) => [k, []]));
  const macsStatic = [], macsDynamic = [], blocksRun = [], agree = [];
  let maxDiff = 0;
  let maxLogit = 0;
  for (const { rgba } of images) {
    const t = Object.fromEntries(keys.map((k) => [k, []]));
    let s, d, o;
    for (let r = 0; r < cfg.runs; r++) {
      let a = performance.now();
      s = model.classify(rgba, 32, 32, stat);
      let b = performance.now();
      t.static.push(b - a);
      t.static_inner.push(s.elapsed_ms);
      a = performance.now();
      d = model.classify(rgba, 32, 32, dyn);
      b = performance.now();
      t.dynamic.push(b - a);
      t.dynamic_inner.push(d.elapsed_ms);
      a = performance.now();
      o = await onnx(rgba);
      b = performance.now();
      t.onnx.push(b - a);
      // Paired ratios: the three calls of one run are milliseconds apart, so load bursts on a busy
      // machine hit them alike; their median is steadier than a ratio of separate medians.
      t.pair_static_onnx.push(t.static.at(-1) / t.onnx.at(-1));
      t.pair_dynamic_onnx.push(t.dynamic.at(-1) / t.onnx.at(-1));
      // The realised-saving ratio over this image's own share of the MACs: images differ in what the
      // gates keep, so dividing by the mean share instead would tie the figure to which image happens
      // to be the median one.
      t.pair_realised.push((t.dynamic.at(-1) / t.static.at(-1)) / (d.macs / s.macs));
    }
    // The stock path in runs of its own, as `lcnet bench` times it: between the fast passes, what it
    // allocates would weigh on the passes after it.
    for (let r = 0; stock && r < cfg.runs; r++) {
      const a = performance.now();
      stock(rgba);
      t.stock.push(performance.now() - a);
    }
    for (const k of Object.keys(per)) if (t[k].length) per[k].push(median(t[k]));
    macsStatic.push(s.macs);
    macsDynamic.push(d.macs);
    blocksRun.push(d.blocks_executed);
    for (let i = 0; i < o.length; i++) maxDiff = Math.max(maxDiff, Math.abs(o[i] - s.logits[i]));
    for (const v of s.logits) maxLogit = Math.max(maxLogit, Math.abs(v));
    const argmax = (v) => v.reduce((bi, x_, i) => (x_ > v[bi] ? i : bi), 0);
    agree.push(argmax(Array.from(o)) === s.class_index);
  }
  // Where the time goes (Model.timeSplit, in modules built with stock-wasm), as `lcnet bench`
  // reports it, but as means over every run of every image: performance.now() counts in steps of
  // 5 µs here, so a part that takes 2 µs reads 0 or 5; the mean of many readings is unbiased, a
  // median is not.
  let split = null;
  if (typeof model.timeSplit === 'function') {
    split = {};
    // Each split pass follows an ONNX Runtime run, as each timed classify above does (its caches
    // then hold ONNX Runtime's data, not lcnet's): the split describes the passes that were timed.
    for (const [name, opts] of [['static', stat], ['dynamic', dyn]]) {
      const runs = [];
      for (const { rgba } of images) {
        for (let r = 0; r < cfg.runs; r++) {
          await onnx(rgba);
          runs.push(flatSplit(model.timeSplit(rgba, 32, 32, opts)));
        }
      }
      split[name] = nestSplit(runs[0].map((_, k) => runs.reduce((a, r) => a + r[k], 0) / runs.length));
    }
  }
  return {
    split,
    model: info.card.name,
    blocks_total: info.blocks?.length ?? null,
    options_dynamic: (({ mode, tau_l, tau_c }) => ({ mode, tau_l, tau_c }))(model.classify(images[0].rgba, 32, 32, dyn)),
    per_image_ms: per,
    macs_static: macsStatic,
    macs_dynamic: macsDynamic,
    blocks_run: blocksRun,
    onnx_max_abs_diff: maxDiff,
    static_max_abs_logit: maxLogit,
    onnx_same_class: agree.filter(Boolean).length,
    worker_first_result_ms: firstResultMs,
    worker_startup_ms: marks,
    simd: cfg.wasmUrl ? null : build.simd,
    onnx_session_first_result_ms: onnxFirstMs,
    ort_version: ort.env.versions?.web ?? ort.env.versions?.common ?? null,
    stock_available: !!stock,
    cross_origin_isolated: self.crossOriginIsolated,
  };
}

self.onmessage = async (e) => {
  try {
    self.postMessage({ ok: true, result: await run(e.data.cfg) });
  } catch (err) {
    self.postMessage({ ok: false, error: err instanceof Error ? `${err.message}\n${err.stack}` : String(err) });
  }
};
