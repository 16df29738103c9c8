// The page's inference worker (www/worker.js, the file the page uses) in headless Chromium: 1,000
// classifications in a row — images of several sizes, every mode, changing thresholds — and its
// memory must not grow. WebAssembly memory only ever grows, so its size is the high-water mark of
// what the Rust side allocated; the JS side is measured as the resident memory (RSS) of Chromium's
// renderer processes (a dedicated worker lives in its page's renderer), after a forced collection
// in the worker (--expose-gc). Prints the figures; fails when the wasm memory grows after the first
// 100 classifications or the renderer RSS grows by more than 16 MiB between 100 and N (medians of the three
// samples at each end). The page is one of
// its own (lib.mjs's openPage), so it must also keep that page hygiene.
// Run: node --test tests/e2e/worker_memory.test.mjs   (needs www/pkg + www/models and target/release/lcnet
// + lcnet-www); `node tests/e2e/worker_memory.test.mjs N` runs N classifications instead of 1,000.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ARGS, CHROMIUM, browserPerFile, cli, gotoPage, need, pageTest, root } from './lib.mjs';

// Run directly, the test file takes N as its argument; `node --test` passes none.
const N = Number(process.argv[2] ?? 1000);
need(cli, 'build it with `cargo build --release`');
need(join(root, 'www', 'pkg', 'lcnet_bg.wasm'), 'run scripts/build-web.sh first');
need(CHROMIUM, 'install Debian chromium (scripts/setup.sh), or set CHROMIUM');
const index = JSON.parse(readFileSync(join(root, 'www', 'models', 'index.json'), 'utf8'));
if (!index.default) throw new Error('www/models/index.json lists no model');

/** Summed RSS (bytes) of the renderer processes among this process's descendants (Linux /proc). */
function rendererRss() {
  const kids = new Map();
  for (const d of readdirSync('/proc')) {
    if (!/^[0-9]+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (!kids.has(ppid)) kids.set(ppid, []);
      kids.get(ppid).push(Number(d));
    } catch { /* exited */ }
  }
  let total = 0;
  const todo = [process.pid];
  while (todo.length) {
    const pid = todo.pop();
    for (const k of kids.get(pid) ?? []) {
      todo.push(k);
      try {
        if (!readFileSync(`/proc/${k}/cmdline`, 'utf8').includes('--type=renderer')) continue;
        const m = /VmRSS:\s+([0-9]+) kB/.exec(readFileSync(`/proc/${k}/status`, 'utf8'));
        if (m) total += Number(m[1]) * 1024;
      } catch { /* exited */ }
    }
  }
  return total;
}

// Its own Chromium: --expose-gc lets the worker's JS heap be collected before each measurement.
const env = browserPerFile({ args: [...ARGS, '--js-flags=--expose-gc'] });

pageTest(env, `${N} classifications in the page's worker: wasm memory and renderer RSS do not grow`,
  { viewport: { width: 1366, height: 900 }, timeout: 300_000 }, async ({ page, check }, t) => {
    await page.exposeFunction('rendererRss', rendererRss);
    await gotoPage(page, `${env.base}/`);
    const samples = await page.evaluate(async ({ n, modelUrl }) => {
      const w = new Worker('worker.js', { type: 'module' });
      let next = 0;
      const waiting = new Map();
      w.onmessage = (e) => {
        const m = e.data;
        if (m.type === 'progress') return;
        const p = waiting.get(m.id);
        waiting.delete(m.id);
        if (m.ok) p.resolve(m.result); else p.reject(new Error(m.error));
      };
      const ask = (msg, transfer = []) => new Promise((resolve, reject) => {
        const id = ++next;
        waiting.set(id, { resolve, reject });
        w.postMessage({ ...msg, id }, transfer);
      });
      await ask({ type: 'init' });
      await ask({ type: 'load', url: modelUrl });
      const sizes = [[32, 32], [640, 480], [97, 311], [1, 1], [1200, 800]];
      const modes = ['lc', 'static', 'l', 'c'];
      let seed = 7;
      const rand = () => { seed = (seed * 1103515245 + 12345) >>> 0; return seed >>> 24; };
      const out = [];
      for (let i = 1; i <= n; i++) {
        const [width, height] = sizes[i % sizes.length];
        const rgba = new Uint8Array(width * height * 4);
        for (let j = 0; j < rgba.length; j += 4096) rgba.fill(rand(), j, j + 4096);
        const options = { mode: modes[i % modes.length], tau_l: (i % 11) / 10, tau_c: (i % 7) / 7 };
        await ask({ type: 'classify', rgba: rgba.buffer, width, height, options }, [rgba.buffer]);
        if (i === 1 || i === 10 || i % 100 === 0) {
          const mem = await ask({ type: 'memory' });
          if (typeof window.gc === 'function') window.gc();
          out.push({ i, ...mem, rss: await window.rendererRss() });
        }
      }
      w.terminate();
      return out;
    }, { n: N, modelUrl: `models/${index.default}` });
    const mib = (b) => (b / 1048576).toFixed(2);
    for (const s of samples) {
      t.diagnostic(`after ${String(s.i).padStart(4)}: wasm memory ${mib(s.wasmBytes)} MiB, renderer RSS ${mib(s.rss)} MiB`);
    }
    const at = (i) => samples.find((s) => s.i === i);
    const first = at(Math.min(100, N));
    const last = samples[samples.length - 1];
    t.diagnostic(`worker_memory: ${N} classifications; wasm memory ${mib(first.wasmBytes)} → ${mib(last.wasmBytes)} MiB ` +
      `(after ${first.i} → ${last.i}); renderer RSS ${mib(first.rss)} → ${mib(last.rss)} MiB`);
    check(`all ${N} classifications ran`, last.i === N, `${last.i} of ${N} ran`);
    check(`wasm memory does not grow after classification ${first.i}`, last.wasmBytes <= first.wasmBytes,
      `${first.wasmBytes} → ${last.wasmBytes} bytes`);
    check('a renderer process found to measure', first.rss > 0, `renderer RSS ${mib(first.rss)} MiB`);
    // RSS is the sum over Chromium's renderer processes, which jumps now and then (once by 19 MiB at the very
    // last sample of a fresh-clone run, flat from 100 to 900): the median of the first three samples from 100 on
    // is compared with that of the last three, which a steady leak moves apart and a one-off jump does not.
    const steady = samples.filter((s) => s.i >= first.i);
    const k = Math.min(3, Math.floor(steady.length / 2)) || 1;
    const med = (xs) => { const v = xs.map((s) => s.rss).sort((a, b) => a - b); return v[v.length >> 1]; };
    const [early, late] = [med(steady.slice(0, k)), med(steady.slice(-k))];
    check(`renderer RSS grows by at most 16 MiB from classification ${first.i} to ${last.i} (medians of ${k} samples at each end)`,
      late - early <= 16 * 1048576, `${mib(early)} → ${mib(late)} MiB`);
  });
