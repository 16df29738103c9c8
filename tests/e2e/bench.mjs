// Browser benchmark (issue 5): in ONE headless Chromium run, the lcnet wasm module in a module Web Worker
// (loaded as www/worker.js loads it) classifies N images static and dynamic, and ONNX Runtime Web (npm
// onnxruntime-web, wasm backend, numThreads = 1) runs the same static network exported to ONNX on the same
// inputs in the same worker. Warm-up first (Chromium tiers wasm up over ≈ 30 runs), then `--runs` timed runs
// per image and setting, interleaved; the per-image median is kept and min/median/max are over images.
// Time to first result: the real page (www/index.html with its worker), from navigation start to "ready"
// (wasm + model loaded) plus from choosing an image to its result drawn, each up to the end of the frame that
// paints it; fresh browser context each time.
// The image is chosen the moment the page is ready, or `--pick-after MS` later (a person takes a moment; the
// worker warms up meanwhile).
//
// Usually run through scripts/bench-browser.sh (it builds what is missing, exports the ONNX file and picks
// the images). Direct use:
//   node tests/e2e/bench.mjs --onnx FILE [--model FILE] [--images N] [--images-dir DIR] [--runs R]
//        [--warmup W] [--tau-l X] [--tau-c Y] [--page-runs P] [--pick-after MS] [--wasm FILE] [--simd128] [--random-gates] [--json]
// --random-gates: time lcnet on a copy of the model whose gates are seeded random ones (lib.mjs
// withRandomGates; same backbone, so the same ONNX graph), so that a real share of blocks and channels is
// skipped at thresholds near 0.5 while the shipped gates are untrained.
// --wasm FILE: time this build of lcnet_bg.wasm in the bench worker instead of www/pkg's (same JS glue;
// e.g. to compare wasm-opt levels; the page's time to first result always uses www/pkg). Without it the worker
// runs the build the page would (www/wasm-features.js: the relaxed-SIMD one where Chromium validates it);
// --simd128: the SIMD128 build even there (to compare the two).
// --images-dir: a folder written by `lcnet gallery` (index.json + 32×32 PNGs); without it, N generated
// 32×32 test pictures (gradients, discs and noise; lib.mjs makeImage).
import { createReadStream, existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { gzipSync } from 'node:zlib';
import { chromium } from 'playwright-core';
import {
  ARGS, CHROMIUM,
  artifacts, cliInfo, encodePng, here, makeImage, need, pickModel, root, withRandomGates, writePng,
} from './lib.mjs';

process.on('uncaughtException', (e) => {
  console.error(`bench: error: ${e?.message ?? e}`);
  process.exit(1);
});

// The same policy as `lcnet-www serve` (tools/www/src/serve.rs): both runtimes must work under it.
const CSP = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; worker-src 'self'; connect-src 'self'; "
  + "img-src 'self' blob: data:; style-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; "
  + "frame-ancestors 'none'";

// ---- arguments ---------------------------------------------------------------------------------
function parseArgs(argv) {
  const a = { images: 50, runs: 5, warmup: 30, pageRuns: 3, pickAfter: 0, tauL: null, tauC: null, json: false,
    model: null, onnx: null, imagesDir: null, wasm: null, simd128: false, randomGates: false };
  const num = (name, v, min) => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < min) throw new Error(`${name} needs a number ≥ ${min}, got ${JSON.stringify(v)}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    const v = () => { if (i + 1 >= argv.length) throw new Error(`${k} needs a value`); return argv[++i]; };
    switch (k) {
      case '--images': a.images = Math.floor(num(k, v(), 1)); break;
      case '--runs': a.runs = Math.floor(num(k, v(), 1)); break;
      case '--warmup': a.warmup = Math.floor(num(k, v(), 0)); break;
      case '--page-runs': a.pageRuns = Math.floor(num(k, v(), 0)); break;
      case '--pick-after': a.pickAfter = num(k, v(), 0); break;
      case '--tau-l': a.tauL = num(k, v(), -Infinity); break;
      case '--tau-c': a.tauC = num(k, v(), -Infinity); break;
      case '--model': case '-m': a.model = resolve(v()); break;
      case '--onnx': a.onnx = resolve(v()); break;
      case '--images-dir': a.imagesDir = resolve(v()); break;
      case '--wasm': a.wasm = resolve(v()); break;
      case '--simd128': a.simd128 = true; break;
      case '--json': a.json = true; break;
      case '--random-gates': a.randomGates = true; break;
      case '-h': case '--help':
        console.log(readFileSync(new URL(import.meta.url), 'utf8').split('\n').filter((l) => l.startsWith('//'))
          .map((l) => l.slice(3)).join('\n'));
        process.exit(0);
        break;
      default: throw new Error(`unknown argument ${JSON.stringify(k)} (see --help)`);
    }
  }
  if (!a.onnx) throw new Error('--onnx FILE is required (scripts/bench-browser.sh exports it)');
  return a;
}

const args = parseArgs(process.argv.slice(2));
const shippedModel = args.model ?? pickModel();
need(shippedModel, 'no such model file');
const benchDir = join(artifacts, 'bench');
mkdirSync(benchDir, { recursive: true });
const model = args.randomGates
  ? withRandomGates(shippedModel, join(benchDir, 'random-gates.safetensors'), cliInfo(shippedModel).blocks)
  : shippedModel;
need(args.onnx, 'export it: (cd train && .venv/bin/python -m lcnet_train.onnx_export --model MODEL --out FILE)');
need(join(root, 'www', 'pkg', 'lcnet_bg.wasm'), 'run scripts/build-web.sh first');
const wasmBuilds = { simd128: join(root, 'www', 'pkg', 'lcnet_bg.wasm'), 'relaxed-simd': join(root, 'www', 'pkg', 'lcnet_relaxed_bg.wasm') };
if (args.wasm) need(args.wasm, 'no such wasm file');
else need(wasmBuilds['relaxed-simd'], 'run scripts/build-web.sh first (it builds both modules)');
const ORT_DIST = join(here, 'node_modules', 'onnxruntime-web', 'dist');
need(join(ORT_DIST, 'ort.wasm.min.mjs'), 'run `npm ci` in tests/e2e');
need(CHROMIUM, 'install Debian chromium (scripts/setup.sh), or set CHROMIUM');
const log = (...m) => { if (!args.json) console.log(...m); else console.error(...m); };

// ---- images --------------------------------------------------------------------------------------
let images; // [{name, bytes (PNG), path}]
let source;
if (args.imagesDir) {
  const index = JSON.parse(readFileSync(join(args.imagesDir, 'index.json'), 'utf8'));
  const all = index.images;
  if (!all?.length) throw new Error(`${args.imagesDir}/index.json lists no image`);
  const n = Math.min(args.images, all.length);
  images = Array.from({ length: n }, (_, i) => all[Math.floor(i * all.length / n)]).map((g) => {
    const path = join(args.imagesDir, g.file);
    return { name: g.file, path, bytes: readFileSync(path) };
  });
  source = `CIFAR-10 test images (${args.imagesDir})`;
} else {
  images = Array.from({ length: args.images }, (_, i) => {
    const bytes = encodePng(makeImage(32, 32, 1000 + i), 32, 32);
    return { name: `generated-${i}.png`, bytes, path: null };
  });
  images[0].path = writePng(join(benchDir, images[0].name), makeImage(32, 32, 1000), 32, 32);
  source = 'generated 32×32 test pictures (no CIFAR-10 copy given)';
}

// ---- static server: www/ at /, ONNX Runtime Web at /ort/, the bench page at /bench/ -------------------
const MIME = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8', '.json': 'application/json',
  '.wasm': 'application/wasm', '.png': 'image/png', '.svg': 'image/svg+xml' };
const BENCH_HTML = '<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,"><title>lcnet bench</title><p>bench</p>';
const missing = new Set();
let currentPath = '';
function notFound(res) {
  missing.add(currentPath);
  res.writeHead(404, { 'Content-Type': 'text/plain' });
  res.end('not found');
}

function serveFile(res, path) {
  let st;
  try { st = statSync(path); } catch { st = null; }
  if (!st?.isFile()) { notFound(res); return; }
  res.writeHead(200, { 'Content-Type': MIME[extname(path)] ?? 'application/octet-stream', 'Content-Length': st.size });
  createReadStream(path).pipe(res);
}

function under(base, rel) {
  const p = normalize(join(base, decodeURIComponent(rel)));
  return p === base || p.startsWith(base + sep) ? p : null;
}

const server = createServer((req, res) => {
  const url = new URL(req.url, 'http://x');
  const p = url.pathname;
  currentPath = p;
  res.setHeader('Content-Security-Policy', CSP);
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('Cache-Control', 'no-cache');
  res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
  if (p.startsWith('/bench/')) {
    // The bench page and its worker are cross-origin isolated: performance.now() then has 5 µs resolution
    // instead of 100 µs (numThreads stays 1, so ONNX Runtime Web starts no threads anyway).
    res.setHeader('Cross-Origin-Embedder-Policy', 'require-corp');
  }
  if (p === '/bench/' || p === '/bench/index.html') {
    res.writeHead(200, { 'Content-Type': MIME['.html'] });
    res.end(BENCH_HTML);
  } else if (p === '/bench/worker.js') {
    serveFile(res, join(here, 'bench-worker.js'));
  } else if (p === '/bench/lcnet_bg.wasm') {
    serveFile(res, args.wasm);
  } else if (p === '/bench/model.safetensors') {
    serveFile(res, model);
  } else if (p === '/bench/model.onnx') {
    serveFile(res, args.onnx);
  } else if (p.startsWith('/bench/img/')) {
    const im = images[Number(p.slice('/bench/img/'.length).replace(/\.png$/, ''))];
    if (!im) { notFound(res); return; }
    res.writeHead(200, { 'Content-Type': 'image/png', 'Content-Length': im.bytes.length });
    res.end(im.bytes);
  } else if (p.startsWith('/ort/')) {
    const f = under(ORT_DIST, p.slice(5));
    if (f) serveFile(res, f); else notFound(res);
  } else {
    const f = under(join(root, 'www'), p.endsWith('/') ? `${p.slice(1)}index.html` : p.slice(1));
    if (f) serveFile(res, f); else notFound(res);
  }
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const base = `http://127.0.0.1:${server.address().port}`;

// ---- statistics --------------------------------------------------------------------------------
function spread(v) {
  if (!v.length) return null;
  const s = [...v].sort((a, b) => a - b);
  const n = s.length;
  const median = n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
  return { min: s[0], median, max: s[n - 1] };
}
const mean = (v) => v.reduce((a, b) => a + b, 0) / v.length;

// ---- run -----------------------------------------------------------------------------------------
const browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS, headless: true });
const chromiumVersion = browser.version();
const errors = [];
try {
  // 1. The real page: time to first result, fresh context (no cache) each time.
  const pageRuns = [];
  const pageModel = existsSync(join(root, 'www', 'models', 'index.json'))
    ? JSON.parse(readFileSync(join(root, 'www', 'models', 'index.json'), 'utf8')).default : null;
  for (let r = 0; r < args.pageRuns && pageModel; r++) {
    const ctx = await browser.newContext();
    await ctx.addInitScript(() => {
      const t = (window.__bench = {});
      // When a state is reached in the DOM (`*Dom`) and when the frame showing it has been painted: a task queued
      // from the next animation frame runs after that frame's paint. The painted times are the ones reported.
      const painted = (key) => requestAnimationFrame(() => setTimeout(() => { t[key] = performance.now(); }, 0));
      const see = () => {
        const st = document.getElementById('status');
        if (!t.readyDom && st?.dataset.state === 'ready') { t.readyDom = performance.now(); painted('ready'); }
        const res = document.getElementById('result');
        if (t.change && !t.resultDom && res && !res.hidden && res.dataset.file) { t.resultDom = performance.now(); painted('result'); }
      };
      new MutationObserver(see).observe(document, { subtree: true, childList: true, attributes: true });
      document.addEventListener('change', (e) => {
        if (e.target?.id === 'file' && !t.change) t.change = performance.now();
      }, true);
    });
    const page = await ctx.newPage();
    page.on('pageerror', (e) => errors.push(`page: ${e.message}`));
    await page.goto(`${base}/`);
    await page.waitForFunction(() => window.__bench.ready, null, { timeout: 60_000 });
    if (args.pickAfter) await page.waitForTimeout(args.pickAfter);
    await page.setInputFiles('#file', images[0].path);
    await page.waitForFunction(() => window.__bench.result, null, { timeout: 60_000 });
    const t = await page.evaluate(() => window.__bench);
    pageRuns.push({
      ready: t.ready, first: t.result - t.change, total: t.ready + (t.result - t.change),
      readyDom: t.readyDom, firstDom: t.resultDom - t.change,
    });
    await ctx.close();
  }

  // 2. The benchmark worker: lcnet static/dynamic and ONNX Runtime Web, same images, same worker.
  const ctx = await browser.newContext();
  const page = await ctx.newPage();
  page.on('pageerror', (e) => errors.push(`bench page: ${e.message}`));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(`console: ${m.text()}`); });
  await page.goto(`${base}/bench/`);
  const cfg = { images: images.map((_, i) => `/bench/img/${i}.png`), modelUrl: '/bench/model.safetensors',
    wasmUrl: args.wasm ? '/bench/lcnet_bg.wasm' : null, wasmWant: args.simd128 ? 'simd128' : 'auto',
    onnxUrl: '/bench/model.onnx', warmup: args.warmup, runs: args.runs, tauL: args.tauL, tauC: args.tauC };
  log(`bench: ${images.length} images × ${args.runs} runs (after ${args.warmup} warm-up rounds) in ${chromiumVersion}…`);
  const t0 = Date.now();
  const out = await page.evaluate((c) => new Promise((resolve_) => {
    const w = new Worker('/bench/worker.js', { type: 'module' });
    w.onmessage = (e) => { resolve_(e.data); w.terminate(); };
    w.onerror = (e) => resolve_({ ok: false, error: `worker failed to start: ${e.message}` });
    w.postMessage({ type: 'run', cfg: c });
  }), cfg);
  if (!out.ok) throw new Error(out.error);
  const b = out.result;
  const wallS = (Date.now() - t0) / 1000;

  const sp = Object.fromEntries(Object.entries(b.per_image_ms).map(([k, v]) => [k, spread(v)]));
  const macsS = mean(b.macs_static);
  const macsD = mean(b.macs_dynamic);
  const wasmFile = args.wasm ?? wasmBuilds[b.simd];
  const wasm = readFileSync(wasmFile);
  const page_ = pageRuns.length ? {
    ready: spread(pageRuns.map((p) => p.ready)), first: spread(pageRuns.map((p) => p.first)),
    total: spread(pageRuns.map((p) => p.total)),
    readyDom: spread(pageRuns.map((p) => p.readyDom)), firstDom: spread(pageRuns.map((p) => p.firstDom)) } : null;
  const report = {
    model: b.model,
    model_file: shippedModel,
    random_gates: args.randomGates,
    onnx_file: args.onnx,
    images: images.length,
    image_source: source,
    runs: args.runs,
    warmup: args.warmup,
    options_dynamic: b.options_dynamic,
    ms_static: sp.static.median,
    ms_dynamic: sp.dynamic.median,
    ms_onnx: sp.onnx.median,
    ms_static_stock: sp.stock?.median ?? null,
    ms_static_spread: sp.static,
    ms_dynamic_spread: sp.dynamic,
    ms_onnx_spread: sp.onnx,
    ms_static_stock_spread: sp.stock,
    // The forward pass alone as the trace reports it (pre-processing and the JS boundary excluded).
    ms_static_inner: sp.static_inner?.median ?? null,
    ms_dynamic_inner: sp.dynamic_inner?.median ?? null,
    macs_static: macsS,
    macs_dynamic: macsD,
    blocks_run_mean: mean(b.blocks_run),
    blocks_total: b.blocks_total,
    realised_ratio: (sp.dynamic.median / sp.static.median) / (macsD / macsS),
    ratio_static_to_onnx: sp.static.median / sp.onnx.median,
    ratio_dynamic_to_onnx: sp.dynamic.median / sp.onnx.median,
    ratio_stock_to_static: sp.stock ? sp.stock.median / sp.static.median : null,
    // Medians over images of per-image medians of per-run ratios (static, dynamic and ONNX timed
    // back to back in each run): less sensitive to load on a shared machine than the ratios above.
    // The realised-saving one divides each image's ratio by that image's own share of the MACs.
    paired_static_to_onnx: sp.pair_static_onnx.median,
    paired_dynamic_to_onnx: sp.pair_dynamic_onnx.median,
    paired_realised_ratio: sp.pair_realised.median,
    time_to_first_result_ms: page_?.total.median ?? null,
    page_ready_ms: page_?.ready.median ?? null,
    page_first_result_after_choosing_ms: page_?.first.median ?? null,
    // the same moments in the DOM, before the frame that shows them is painted
    page_ready_in_dom_ms: page_?.readyDom.median ?? null,
    page_first_result_in_dom_after_choosing_ms: page_?.firstDom.median ?? null,
    page_pick_after_ms: args.pickAfter,
    page_runs: pageRuns.length,
    page_model: pageModel,
    time_to_first_result_spread: page_?.total ?? null,
    worker_first_result_ms: b.worker_first_result_ms,
    worker_startup_ms: b.worker_startup_ms,
    onnx_session_first_result_ms: b.onnx_session_first_result_ms,
    onnx_max_abs_diff: b.onnx_max_abs_diff,
    static_max_abs_logit: b.static_max_abs_logit,
    onnx_same_class: b.onnx_same_class,
    wasm_file: wasmFile,
    wasm_simd: args.wasm ? null : b.simd,
    wasm_bytes: wasm.length,
    wasm_gzip_bytes: gzipSync(wasm, { level: 9 }).length,
    chromium: chromiumVersion,
    bench_cross_origin_isolated: b.cross_origin_isolated,
    onnxruntime_web: JSON.parse(readFileSync(join(here, 'node_modules', 'onnxruntime-web', 'package.json'), 'utf8')).version,
    wall_s: wallS,
    split_static: b.split?.static ?? null,
    split_dynamic: b.split?.dynamic ?? null,
  };
  if (missing.size) errors.push(`not found on the bench server: ${[...missing].join(', ')}`);
  if (errors.length) log(`bench: browser messages:\n  ${errors.join('\n  ')}`);
  if (args.json) {
    console.log(JSON.stringify(report, null, 2));
  } else {
    const f = (v, d = 3) => (v === null || v === undefined ? '—' : v.toFixed(d));
    const row = (name, s, m = '') => console.log(
      `${name.padEnd(24)} ${f(s?.median).padStart(8)} ${f(s?.min).padStart(8)} ${f(s?.max).padStart(8)}   ${m}`);
    const mm = (v) => `${(v / 1e6).toFixed(2)} M`;
    console.log(`model ${report.model}${args.randomGates ? ' (its backbone with seeded random gates; ONNX: the same backbone)' : ''}; ${report.images} ${source}; ${report.runs} runs/image after ${report.warmup} warm-up; `
      + `batch 1, one thread, ${chromiumVersion}, onnxruntime-web ${report.onnxruntime_web} (wasm)`);
    console.log(`dynamic thresholds τ_L=${b.options_dynamic.tau_l} τ_C=${b.options_dynamic.tau_c}; `
      + `blocks run ${report.blocks_run_mean.toFixed(2)} of ${report.blocks_total} on average`);
    console.log(`${'per-image median ms'.padEnd(24)} ${'median'.padStart(8)} ${'min'.padStart(8)} ${'max'.padStart(8)}   mean MACs`);
    row('lcnet static', sp.static, mm(macsS));
    row('lcnet dynamic', sp.dynamic, mm(macsD));
    row('onnxruntime-web static', sp.onnx, mm(macsS));
    if (sp.stock) row('lcnet static, stock', sp.stock);
    console.log(`forward pass only (trace elapsed_ms): static ${f(report.ms_static_inner)}, dynamic ${f(report.ms_dynamic_inner)}`);
    console.log(`dynamic/static: time ${f(sp.dynamic.median / sp.static.median)}, MACs ${f(macsD / macsS)}; `
      + `realised-saving ratio ${f(report.realised_ratio)} (1.0 = every MAC skipped is time saved)`);
    console.log(`lcnet static / onnx ${f(report.ratio_static_to_onnx)}; lcnet dynamic / onnx ${f(report.ratio_dynamic_to_onnx)}`
      + (sp.stock ? `; stock / lcnet static ${f(report.ratio_stock_to_static)}` : ''));
    console.log(`paired per run (steadier under load): static/onnx ${f(report.paired_static_to_onnx)}, `
      + `dynamic/onnx ${f(report.paired_dynamic_to_onnx)}, realised-saving ratio ${f(report.paired_realised_ratio)}`);
    console.log(`onnx vs lcnet static logits: max |Δ| ${report.onnx_max_abs_diff.toExponential(2)} `
      + `(largest logit ${f(report.static_max_abs_logit, 1)}), `
      + `same class ${report.onnx_same_class}/${report.images}`);
    if (b.split) {
      const parts = ['stem', 'pool', 'gates', 'shortcut', 'conv1', 'conv2', 'epilogue', 'head', 'total'];
      console.log('time split, ms (Model.timeSplit; means over runs and images; --json has each block):');
      for (const side of ['static', 'dynamic']) {
        console.log(`  ${side.padEnd(8)} ${parts.map((p) => `${p} ${f(b.split[side][p], 4)}`).join(', ')}`);
      }
    }
    if (page_) {
      console.log(`time to first result (page ${pageModel}, ${pageRuns.length} fresh loads): ${f(page_.total.median, 0)} ms `
        + `(min ${f(page_.total.min, 0)}, max ${f(page_.total.max, 0)}) = ready ${f(page_.ready.median, 0)} `
        + `+ image to result painted ${f(page_.first.median, 0)}${args.pickAfter ? ` (chosen ${args.pickAfter} ms after ready)` : ''}`
        + `; in the DOM before painting: ready ${f(page_.readyDom.median, 0)}, result ${f(page_.firstDom.median, 0)}`);
    }
    console.log(`worker alone, wasm + model + first classification: ${f(report.worker_first_result_ms, 0)} ms (`
      + `${Object.entries(b.worker_startup_ms).map(([k, v]) => `${k} ${f(v, 0)}`).join(', ')}); `
      + `ONNX session create + first run: ${f(report.onnx_session_first_result_ms, 0)} ms`);
    console.log(`wasm ${report.wasm_simd ?? report.wasm_file} build, ${report.wasm_bytes} bytes (${report.wasm_gzip_bytes} gzipped); bench ${wallS.toFixed(1)} s`);
  }
  // float32 rounding is relative: jointly trained weights run statically give logits in the thousands
  const onnxTol = 1e-4 * Math.max(10, b.static_max_abs_logit);
  if (b.onnx_max_abs_diff > onnxTol) {
    throw new Error(`ONNX and lcnet static logits differ by ${b.onnx_max_abs_diff} (tolerance ${onnxTol.toExponential(2)}, `
      + `1e-4 of the largest logit ${b.static_max_abs_logit}): not the same network/inputs`);
  }
} finally {
  await browser.close();
  server.close();
}

