// Helpers shared by the end-to-end tests: paths, a tiny PNG encoder, deterministic test
// images, the native CLI, a random-gates variant of a model file, and the node:test harness
// (soft checks, one browser per file, one context and page per test).
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createServer } from 'node:net';
import { deflateSync } from 'node:zlib';
import { after, before, test } from 'node:test';
import { chromium } from 'playwright-core';

export const here = dirname(fileURLToPath(import.meta.url));
export const root = resolve(here, '..', '..');
export const cli = join(root, 'target', 'release', 'lcnet');
/** The demo's server and gallery writer (tools/www). */
export const www = join(root, 'target', 'release', 'lcnet-www');
export const artifacts = join(here, 'artifacts');
/** Debian's Chromium (scripts/setup.sh installs it) and the flags every browser test uses. */
export const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
export const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

export function need(path, hint) {
  if (!existsSync(path)) throw new Error(`${path} is missing: ${hint}`);
}

// ---- PNG ---------------------------------------------------------------------------------
const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

function crc32(buf) {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type, data) {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, 'latin1');
  data.copy(out, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}

/** 8-bit RGBA (colour type 6) PNG of `width × height` pixels, no colour-space chunks. */
export function encodePng(rgba, width, height) {
  if (rgba.length !== width * height * 4) throw new Error('encodePng: wrong pixel count');
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; ihdr[9] = 6; ihdr[10] = 0; ihdr[11] = 0; ihdr[12] = 0;
  const raw = Buffer.alloc((width * 4 + 1) * height);
  for (let y = 0; y < height; y++) {
    raw[y * (width * 4 + 1)] = 0; // filter: none
    Buffer.from(rgba.buffer, rgba.byteOffset + y * width * 4, width * 4)
      .copy(raw, y * (width * 4 + 1) + 1);
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** A small deterministic PRNG (mulberry32). */
export function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A deterministic test picture: smooth gradients, a few discs and some noise, so the
 * network's activations are far from trivial. `alpha`: also vary transparency.
 */
export function makeImage(width, height, seed, { alpha = false } = {}) {
  const r = rng(seed);
  const discs = Array.from({ length: 5 }, () => ({
    x: r() * width, y: r() * height, rad: (0.1 + 0.3 * r()) * Math.min(width, height),
    c: [r() * 255, r() * 255, r() * 255],
  }));
  const px = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let c = [255 * x / width, 255 * y / height, 128 + 100 * Math.sin((x + 2 * y) / 7)];
      for (const d of discs) {
        if ((x - d.x) ** 2 + (y - d.y) ** 2 < d.rad ** 2) c = d.c;
      }
      const o = (y * width + x) * 4;
      for (let k = 0; k < 3; k++) px[o + k] = Math.max(0, Math.min(255, Math.round(c[k] + 40 * (r() - 0.5))));
      px[o + 3] = alpha ? Math.round(255 * (0.3 + 0.7 * ((x * 7 + y * 3) % 17) / 16)) : 255;
    }
  }
  return px;
}

export function writePng(path, rgba, width, height) {
  writeFileSync(path, encodePng(rgba, width, height));
  return path;
}

// ---- models ------------------------------------------------------------------------------
/** The model the tests use: $LCNET_MODEL, else the default weights/lcnet-r20-perimage.safetensors, else the first. */
/** The shipped default model's file name (as scripts/build-web.sh and the CLI have it). */
export const DEFAULT_MODEL = 'lcnet-r20-perimage.safetensors';

export function pickModel() {
  if (process.env.LCNET_MODEL) {
    need(process.env.LCNET_MODEL, 'LCNET_MODEL names a file that does not exist');
    return resolve(process.env.LCNET_MODEL);
  }
  const dir = join(root, 'weights');
  const files = existsSync(dir)
    ? readdirSync(dir).filter((f) => f.endsWith('.safetensors') && !f.endsWith('.fixtures.safetensors')).sort()
    : [];
  if (files.length === 0) {
    throw new Error('no model file in weights/ (and LCNET_MODEL is not set): nothing to test with');
  }
  return join(dir, files.includes(DEFAULT_MODEL) ? DEFAULT_MODEL : files[0]);
}

/** Runs `lcnet classify --json` and returns the parsed array (throws with stderr on failure). */
export function cliClassify(model, images, args = []) {
  need(cli, 'build it with `cargo build --release`');
  const out = execFileSync(cli, ['classify', '-m', model, ...args, '--json', ...images], {
    encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 << 20,
  });
  return JSON.parse(out);
}

function readSafetensors(bytes) {
  const n = Number(Buffer.from(bytes.buffer, bytes.byteOffset, 8).readBigUInt64LE(0));
  const header = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset + 8, n).toString('utf8'));
  return { header, data: bytes.subarray(8 + n) };
}

/** The model card stored in a model file's metadata. */
export function readCard(path) {
  return JSON.parse(readSafetensors(new Uint8Array(readFileSync(path))).header.__metadata__.lcnet);
}

function writeSafetensors(metadata, tensors) {
  // tensors: [{name, dtype, shape, bytes}] in order
  const header = { __metadata__: metadata };
  let off = 0;
  for (const t of tensors) {
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [off, off + t.bytes.length] };
    off += t.bytes.length;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8);
  const head = Buffer.alloc(8);
  head.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  return Buffer.concat([head, Buffer.from(json, 'utf8'), ...tensors.map((t) => Buffer.from(t.bytes))]);
}

/**
 * Writes to `out` a copy of the model file at `path` whose L-Net and C-Net gates are replaced
 * by seeded random ones (biases around 0.5), so that thresholds near 0.5 skip a real share of
 * blocks and channels whatever the gates' training state. `blocks`: Model.info().blocks.
 */
export function withRandomGates(path, out, blocks, seed = 1) {
  const { header, data } = readSafetensors(new Uint8Array(readFileSync(path)));
  const meta = header.__metadata__ ?? {};
  const card = JSON.parse(meta.lcnet);
  card.name = `${card.name}-random-gates`;
  card.gates = { l_net: true, c_net: true, trained: false };
  const tensors = [];
  for (const [name, t] of Object.entries(header)) {
    if (name === '__metadata__' || name.includes('.gate_')) continue;
    tensors.push({ name, dtype: t.dtype, shape: t.shape, bytes: data.subarray(t.data_offsets[0], t.data_offsets[1]) });
  }
  const r = rng(seed);
  const f32 = (n, f) => new Uint8Array(Float32Array.from({ length: n }, f).buffer);
  for (const b of blocks) {
    const p = `layer${b.stage}.${b.index}`;
    const w = b.out_ch, cin = b.in_ch;
    tensors.push({ name: `${p}.gate_l.weight`, dtype: 'F32', shape: [1, cin], bytes: f32(cin, () => (r() - 0.5) * 0.6) });
    tensors.push({ name: `${p}.gate_l.bias`, dtype: 'F32', shape: [1], bytes: f32(1, () => 0.3 + 0.4 * r()) });
    tensors.push({ name: `${p}.gate_c.weight`, dtype: 'F32', shape: [w, cin], bytes: f32(w * cin, () => (r() - 0.5) * 0.6) });
    tensors.push({ name: `${p}.gate_c.bias`, dtype: 'F32', shape: [w], bytes: f32(w, () => 0.2 + 0.6 * r()) });
  }
  writeFileSync(out, writeSafetensors({ ...meta, lcnet: JSON.stringify(card) }, tensors));
  return out;
}

/** Writes to `out` a copy of the model file at `path` with its card changed by `mutate(card)`. */
export function withCard(path, out, mutate) {
  const { header, data } = readSafetensors(new Uint8Array(readFileSync(path)));
  const meta = header.__metadata__ ?? {};
  const card = JSON.parse(meta.lcnet);
  mutate(card);
  const tensors = Object.entries(header)
    .filter(([name]) => name !== '__metadata__')
    .sort((a, b) => a[1].data_offsets[0] - b[1].data_offsets[0])
    .map(([name, t]) => ({ name, dtype: t.dtype, shape: t.shape, bytes: data.subarray(t.data_offsets[0], t.data_offsets[1]) }));
  writeFileSync(out, writeSafetensors({ ...meta, lcnet: JSON.stringify(card) }, tensors));
  return out;
}

/** `lcnet info --json` of a model file. */
export function cliInfo(model) {
  need(cli, 'build it with `cargo build --release`');
  return JSON.parse(execFileSync(cli, ['info', '--json', model], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }));
}

function freePort() {
  return new Promise((resolve_, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve_(port)); });
  });
}

/** Starts `lcnet-www serve` on www/ at a free local port; returns the process and the base URL. */
export async function startServer() {
  const port = await freePort();
  const proc = spawn(www, ['serve', '--dir', join(root, 'www'), '--port', String(port), '--host', '127.0.0.1'],
    { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  proc.stderr.on('data', (d) => { stderr += d; });
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    if (proc.exitCode !== null) throw new Error(`lcnet-www serve exited (${proc.exitCode}): ${stderr}`);
    try { if ((await fetch(`${base}/`)).ok) return { proc, base }; } catch { /* not yet */ }
    await new Promise((r) => setTimeout(r, 100));
  }
  proc.kill();
  throw new Error(`lcnet-www serve did not answer on ${base}: ${stderr}`);
}

/** A drawn aeroplane: sky gradient, fuselage, swept wings and tail, a little noise. */
export function drawPlane(w, h) {
  const px = new Uint8Array(w * h * 4);
  let s = 7;
  const noise = () => ((s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32 - 0.5) * 10;
  const inTri = (x, y, [ax, ay], [bx, by], [cx, cy]) => {
    const d = (px1, py1, px2, py2, px3, py3) => (px1 - px3) * (py2 - py3) - (px2 - px3) * (py1 - py3);
    const d1 = d(x, y, ax, ay, bx, by), d2 = d(x, y, bx, by, cx, cy), d3 = d(x, y, cx, cy, ax, ay);
    return !((d1 < 0 || d2 < 0 || d3 < 0) && (d1 > 0 || d2 > 0 || d3 > 0));
  };
  const cx = w / 2, cy = h / 2;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const t = y / h;
      let c = [90 + 80 * t, 150 + 60 * t, 220 + 25 * t];           // sky, lighter towards the horizon
      const body = ((x - cx) / (0.42 * w)) ** 2 + ((y - cy) / (0.07 * h)) ** 2 < 1;
      const wing = inTri(x, y, [cx - 0.05 * w, cy], [cx + 0.12 * w, cy], [cx - 0.18 * w, cy + 0.36 * h]) ||
        inTri(x, y, [cx - 0.05 * w, cy], [cx + 0.12 * w, cy], [cx - 0.18 * w, cy - 0.36 * h]);
      const tail = inTri(x, y, [cx - 0.40 * w, cy], [cx - 0.30 * w, cy], [cx - 0.43 * w, cy - 0.2 * h]);
      if (body || wing || tail) c = [225 - 30 * t, 228 - 30 * t, 232 - 30 * t];
      const o = (y * w + x) * 4;
      for (let k = 0; k < 3; k++) px[o + k] = Math.max(0, Math.min(255, Math.round(c[k] + noise())));
      px[o + 3] = 255;
    }
  }
  return px;
}

// ---- node:test harness --------------------------------------------------------------------
/** Per-test limit: page tests wait for the wasm and model loads, on a small machine. */
export const TEST_TIMEOUT = 120_000;

/**
 * Soft checks for one test: `check(name, ok, detail)` records one and logs it (`log`: the test's
 * diagnostic channel), so that one failed check does not hide the next; `verify()` then throws one
 * error that names every failed check with its detail.
 */
export function checks(log = console.log) {
  const all = [];
  const check = (name, ok, detail = '') => {
    all.push({ name, ok: !!ok, detail });
    log(`${ok ? 'ok  ' : 'FAIL'} ${name}${detail ? ` — ${detail}` : ''}`);
  };
  const verify = () => {
    const failed = all.filter((c) => !c.ok);
    if (failed.length === 0) return;
    throw new Error(`${failed.length} of ${all.length} checks failed:\n` +
      failed.map((c) => `  ✗ ${c.name}${c.detail ? ` — ${c.detail}` : ''}`).join('\n'));
  };
  return { check, verify };
}

/**
 * One server and one Chromium for a test file, started in its before() and closed in its after(); each
 * test still gets a context of its own (openPage). Returns an object whose `browser`, `base` and
 * `origin` are set once before() has run.
 */
export function browserPerFile({ args = ARGS } = {}) {
  const env = { browser: null, base: null, origin: null };
  let proc = null;
  before(async () => {
    need(www, 'build it with `cargo build --release`');
    need(CHROMIUM, 'install Debian chromium (scripts/setup.sh), or set CHROMIUM');
    ({ proc, base: env.base } = await startServer());
    env.origin = new URL(env.base).origin;
    env.browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args });
  });
  after(async () => {
    await env.browser?.close();
    proc?.kill();
  });
  return env;
}

/**
 * A fresh browser context and page for test `t`, with the hygiene every page of the demo must keep:
 * requests leaving the page's origin are aborted (and recorded, so that they fail the test), and
 * uncaught errors and console errors of any page of the context are collected. `finish(error)` adds
 * those checks (and `error`, when the test body threw), closes the context and throws when any check
 * failed. Returns { context, page, requests, check, finish }.
 */
export async function openPage(t, env, { viewport = { width: 1366, height: 900 }, ...contextOptions } = {}) {
  const { check, verify } = checks((m) => t.diagnostic(m));
  const context = await env.browser.newContext({ viewport, ...contextOptions });
  const requests = [];
  const pageErrors = [];
  const consoleErrors = [];
  context.on('request', (r) => requests.push(r.url()));
  context.on('weberror', (e) => pageErrors.push(String(e.error())));
  context.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
  await context.route((url) => url.origin !== env.origin && url.protocol.startsWith('http'), (route) => route.abort());
  const page = await context.newPage();
  const finish = async (error = null) => {
    if (error) check('test ran to the end', false, error.stack ?? String(error));
    const { origin } = env;
    const outside = requests.filter((u) => !(u.startsWith(`${origin}/`) || u.startsWith(`blob:${origin}/`) || u.startsWith('data:')));
    check('no request outside the page\'s origin', outside.length === 0, outside.join(', '));
    check('no uncaught page errors', pageErrors.length === 0, pageErrors.join(' | '));
    check('no console errors (CSP, 404…)', consoleErrors.length === 0, consoleErrors.join(' | '));
    await context.close().catch(() => {});
    verify();
  };
  return { context, page, requests, check, finish };
}

/**
 * A test on a page of its own: `body(p)` gets openPage's object, and the page is always finished, so
 * a body that throws half-way still reports the checks made so far and the page's hygiene.
 * `options`: node:test's (skip, timeout) and the browser context's (viewport, acceptDownloads…).
 */
export function pageTest(env, name, options, body) {
  const { skip = false, timeout = TEST_TIMEOUT, ...contextOptions } = options;
  test(name, { skip, timeout }, async (t) => {
    const p = await openPage(t, env, contextOptions);
    let error = null;
    try {
      await body(p, t);
    } catch (e) {
      error = e;
    }
    await p.finish(error);
  });
}

/**
 * For the README's pictures: a page of the demo at `base` in `browser`, without the sample gallery (its
 * CIFAR-10 images are not ours to publish), ready, with `model` (a shipped file name) picked when given.
 */
export async function openDemo(browser, base, { viewport, model = null }) {
  const page = await browser.newPage({ viewport });
  await page.route('**/gallery/index.json', (r) => r.fulfill({ json: { images: [] } }));
  await gotoPage(page, `${base}/`);
  await page.locator('#status[data-state="ready"]').waitFor({ timeout: 60000 });
  if (model) {
    await page.selectOption('#model-select', model);
    await page.waitForFunction((n) => document.querySelector('#status-text')?.textContent.includes(`Ready: ${n} `), model.replace(/\.safetensors$/, ''), { timeout: 60000 });
  }
  return page;
}

/** A screenshot of the whole page. The views below the fold are laid out and painted only near the viewport
 *  (style.css: content-visibility), which a full-page capture does not scroll; they are made visible for it. */
export async function fullShot(page, path) {
  await page.evaluate(() => {
    for (const e of document.querySelectorAll('body *')) {
      if (getComputedStyle(e).contentVisibility === 'auto') { e.style.contentVisibility = 'visible'; e.dataset.shotCv = ''; }
    }
  });
  await page.screenshot({ path, fullPage: true });
  await page.evaluate(() => {
    for (const e of document.querySelectorAll('[data-shot-cv]')) { e.style.contentVisibility = ''; delete e.dataset.shotCv; }
  });
}

/** Opens `url` and waits for the load event: every script, style and module the page names was served.
 *  (Navigations that never reached "load" here were the demo server's: tiny_http left a connection unread;
 *  tools/www/tests/server.rs keeps that from coming back.) */
export async function gotoPage(page, url) {
  await page.goto(url, { waitUntil: 'load', timeout: 30000 });
}
