// The page in headless Debian Chromium (playwright-core, no downloaded browser): it loads the
// wasm and the model, classifies uploaded and dropped PNGs with the same MACs as the native CLI,
// reports a non-image clearly and keeps working, says so when WebAssembly is missing, and
// makes no request outside its own origin. Screenshots go to tests/e2e/artifacts/.
// Run: node tests/e2e/page.mjs   (needs www/pkg + www/models from scripts/build-web.sh and target/release/lcnet)
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { artifacts, cli, cliClassify, makeImage, need, readCard, root, writePng } from './lib.mjs';

process.on('uncaughtException', (e) => {
  console.error(`page: error: ${e?.message ?? e}`);
  process.exit(1);
});

const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const TIMEOUT = 60_000;

need(cli, 'build it with `cargo build --release`');
need(join(root, 'www', 'pkg', 'lcnet_bg.wasm'), 'run scripts/build-web.sh first');
need(join(root, 'www', 'models', 'index.json'), 'run scripts/build-web.sh first');
need(CHROMIUM, 'install Debian chromium (scripts/setup.sh), or set CHROMIUM');
mkdirSync(artifacts, { recursive: true });

const index = JSON.parse(readFileSync(join(root, 'www', 'models', 'index.json'), 'utf8'));
if (!index.default) throw new Error('www/models/index.json lists no model: weights/ is empty');
const model = join(root, 'www', 'models', index.default);

const checks = [];
function check(name, ok, detail = '') {
  checks.push({ name, ok: !!ok, detail });
  console.log(`  ${ok ? 'ok  ' : 'FAIL'} ${name}${detail ? ` — ${detail}` : ''}`);
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

async function startServer() {
  const port = await freePort();
  const proc = spawn(cli, ['serve', '--dir', join(root, 'www'), '--port', String(port), '--host', '127.0.0.1'],
    { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  proc.stderr.on('data', (d) => { stderr += d; });
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    if (proc.exitCode !== null) throw new Error(`lcnet serve exited (${proc.exitCode}): ${stderr}`);
    try { if ((await fetch(`${base}/`)).ok) return { proc, base }; } catch { /* not yet */ }
    await new Promise((r) => setTimeout(r, 100));
  }
  proc.kill();
  throw new Error(`lcnet serve did not answer on ${base}: ${stderr}`);
}

const text = (page, sel) => page.locator(sel).textContent();
const digits = (s) => Number(String(s).replace(/[^0-9]/g, ''));

async function expectResult(page, fileName) {
  await page.locator(`#result[data-file="${fileName}"]`).waitFor({ state: 'visible', timeout: TIMEOUT });
  await page.locator('#status[data-state="ready"]').waitFor({ timeout: TIMEOUT });
}

/** The page's numbers for the current result against `lcnet classify --json` on the same file. */
async function compareWithCli(page, pngPath, tag, modelPath = model) {
  const native = cliClassify(modelPath, [pngPath])[0];
  const label = (await text(page, '#label')).trim();
  const macs = digits(await text(page, '#macs'));
  const macsStatic = digits(await text(page, '#macs-static'));
  const executed = await page.locator('#blocks .blk[data-executed="true"]').count();
  const boxes = await page.locator('#blocks .blk').count();
  check(`${tag}: a label is shown`, label.length > 0, label);
  check(`${tag}: label equals the CLI's`, label === native.label, `${label} vs ${native.label}`);
  check(`${tag}: MACs shown equal the CLI's`, macs === native.macs, `${macs} vs ${native.macs}`);
  check(`${tag}: static MACs shown equal the CLI's`, macsStatic === native.macs_static, `${macsStatic} vs ${native.macs_static}`);
  check(`${tag}: one box per block`, boxes === native.blocks_total, `${boxes} boxes, ${native.blocks_total} blocks`);
  check(`${tag}: blocks run equal the CLI's`, executed === native.blocks_executed, `${executed} vs ${native.blocks_executed}`);
  const trace = JSON.parse(await text(page, '#trace-json'));
  const d = Math.max(...trace.logits.map((v, i) => Math.abs(v - native.logits[i])));
  check(`${tag}: page logits equal the CLI's (≤ 1e-5)`, d <= 1e-5, `max |Δ| ${d.toExponential(2)}`);
}

const { proc, base } = await startServer();
const origin = new URL(base).origin;
const requests = [];
const pageErrors = [];
const consoleErrors = [];
let browser;
try {
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS });
  const context = await browser.newContext({ viewport: { width: 1200, height: 900 } });
  context.on('request', (r) => requests.push(r.url()));
  // Anything leaving the origin is recorded above and must not get through.
  await context.route((url) => url.origin !== origin && url.protocol.startsWith('http'), (route) => route.abort());
  const page = await context.newPage();
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });

  // 1. load
  await page.goto(`${base}/`);
  await page.locator('#status[data-state="ready"]').waitFor({ timeout: TIMEOUT });
  const name = (await text(page, '#card')).trim();
  check('model loaded and card shown', name.length > 0 && (await page.locator('#model').isVisible()));
  const note = (await text(page, '#gates-note')).trim();
  const g = readCard(model).gates;   // from the file itself, not from the page
  const wantNote = !g ? /static model/i : !g.trained ? /gates untrained: they skip almost nothing yet/i : /trained/i;
  check('gates state stated plainly', wantNote.test(note), note);
  await page.screenshot({ path: join(artifacts, '01-loaded.png'), fullPage: true });

  // 2. upload a generated PNG
  const img1 = writePng(join(artifacts, 'input-1.png'), makeImage(120, 80, 5), 120, 80);
  await page.setInputFiles('#file', img1);
  await expectResult(page, 'input-1.png');
  await compareWithCli(page, img1, 'upload');
  await page.screenshot({ path: join(artifacts, '02-result.png'), fullPage: true });

  // 3. a non-image named .png: a clear message, and the page keeps working
  const bad = join(artifacts, 'not-an-image.png');
  writeFileSync(bad, 'this is text, not a PNG\n');
  await page.setInputFiles('#file', bad);
  await page.locator('#error').waitFor({ state: 'visible', timeout: TIMEOUT });
  const err = (await text(page, '#error')).trim();
  check('non-image: clear error message', /could not read .*not-an-image\.png.* as an image/i.test(err), err);
  check('non-image: stale result hidden', !(await page.locator('#result').isVisible()));
  await page.screenshot({ path: join(artifacts, '03-non-image.png'), fullPage: true });

  // 4. drop a valid image afterwards (drag and drop path)
  const img2path = join(artifacts, 'input-2.png');
  writePng(img2path, makeImage(64, 100, 9, { alpha: false }), 64, 100);
  const dt = await page.evaluateHandle(({ b64, fname }) => {
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    const t = new DataTransfer();
    t.items.add(new File([bytes], fname, { type: 'image/png' }));
    return t;
  }, { b64: readFileSync(img2path).toString('base64'), fname: 'input-2.png' });
  await page.dispatchEvent('#drop', 'drop', { dataTransfer: dt });
  await expectResult(page, 'input-2.png');
  check('after the error: error message cleared', !(await page.locator('#error').isVisible()));
  await compareWithCli(page, img2path, 'drop after error');

  // 5. a large image is scaled down in the page and still classified
  const bigW = 2400, bigH = 1500;
  const big = writePng(join(artifacts, 'input-big.png'), makeImage(bigW, bigH, 13), bigW, bigH);
  await page.setInputFiles('#file', big);
  await expectResult(page, 'input-big.png');
  check('large image (2400×1500): classified', (await text(page, '#label')).trim().length > 0);
  await page.screenshot({ path: join(artifacts, '04-result-2.png'), fullPage: true });

  // 6. switching models (when www/models holds more than one) re-runs the image with the new one
  const others = index.models.map((m) => m.file).filter((f) => f !== index.default);
  if (others.length === 0) {
    console.log('  skip model switching: www/models holds one model');
  } else {
    const other = join(root, 'www', 'models', others[0]);
    const otherName = readCard(other).name;
    await page.selectOption('#model-select', others[0]);
    const nameShown = (n) => page.waitForFunction((x) => document.querySelector('#card dd')?.textContent === x, n, { timeout: TIMEOUT });
    await nameShown(otherName);
    await page.setInputFiles('#file', img1);
    await expectResult(page, 'input-1.png');
    check(`model switch: card shows ${otherName}`, (await text(page, '#card')).includes(otherName));
    await compareWithCli(page, img1, `after switching to ${others[0]}`, other);
    await page.selectOption('#model-select', index.default);
    await nameShown(readCard(model).name);
  }

  // 7. phone width
  await page.setViewportSize({ width: 390, height: 844 });
  await page.screenshot({ path: join(artifacts, '05-phone.png'), fullPage: true });

  // 8. a browser without WebAssembly gets a message, not a blank page
  const noWasm = await context.newPage();
  await noWasm.addInitScript(() => { delete globalThis.WebAssembly; });
  await noWasm.goto(`${base}/`);
  await noWasm.locator('#fatal').waitFor({ state: 'visible', timeout: TIMEOUT });
  const fatalText = (await text(noWasm, '#fatal')).trim();
  check('no WebAssembly: says so', /does not support WebAssembly/i.test(fatalText), fatalText);
  await noWasm.screenshot({ path: join(artifacts, '06-no-wasm.png'), fullPage: true });
  await noWasm.close();

  // 9. requests: the worker's fetches are seen, and none leaves the origin
  const outside = requests.filter((u) => !(u.startsWith(`${origin}/`) || u.startsWith(`blob:${origin}/`) || u.startsWith('data:')));
  check('requests recorded include the worker\'s wasm and model fetches',
    requests.some((u) => u.endsWith('/pkg/lcnet_bg.wasm')) && requests.some((u) => u.includes('/models/') && u.endsWith('.safetensors')),
    `${requests.length} requests`);
  check('no request outside the page\'s origin', outside.length === 0, outside.join(', '));
  check('no uncaught page errors', pageErrors.length === 0, pageErrors.join(' | '));
  check('no console errors (CSP, 404…)', consoleErrors.length === 0, consoleErrors.join(' | '));
  await context.close();
} catch (e) {
  check('page test ran to the end', false, e.stack ?? String(e));
} finally {
  await browser?.close();
  proc.kill();
}

const failed = checks.filter((c) => !c.ok);
console.log(`page: ${checks.length - failed.length}/${checks.length} checks passed; screenshots in ${artifacts}`);
process.exit(failed.length ? 1 : 0);
