// The page sees what the CLI sees: for generated photos of several sizes and aspect ratios (up to
// 4000 px a side, the 4000×3 strip included) the page's pipeline — www/image.js (the project's header
// checks in wasm, the centre square cut at full resolution) and the worker — gives the label of
// `lcnet classify` and logits within 1e-3 of its; and each bad file gets the CLI's own message in the
// page. Run: node tests/e2e/same_as_cli.mjs   (needs www/pkg + www/models and target/release/lcnet)
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import {
  ARGS, CHROMIUM, artifacts, checkList, cli, cliClassify, encodePng, makeImage, need, root, startServer, gotoPage
} from './lib.mjs';

process.on('uncaughtException', (e) => {
  console.error(`same_as_cli: error: ${e?.message ?? e}`);
  process.exit(1);
});

const TIMEOUT = 120_000;
need(cli, 'build it with `cargo build --release`');
need(join(root, 'www', 'pkg', 'lcnet_bg.wasm'), 'run scripts/build-web.sh first');
const index = JSON.parse(readFileSync(join(root, 'www', 'models', 'index.json'), 'utf8'));
const modelFile = index.default;
const model = join(root, 'www', 'models', modelFile);

const { check, finish } = checkList('same_as_cli');

const tmp = join(artifacts, 'same-as-cli');
mkdirSync(tmp, { recursive: true });
// Photos of several shapes: landscape, portrait, odd sides (the crop offset rounds down), a thin
// strip (a 3×3 centre square), and 4000 px sides.
const SIZES = [[120, 80], [81, 200], [333, 334], [1500, 997], [4000, 3], [3, 500], [4000, 3000]];
const photos = SIZES.map(([w, h], i) => {
  const path = join(tmp, `photo-${w}x${h}.png`);
  writeFileSync(path, encodePng(makeImage(w, h, 40 + i), w, h));
  return { path, name: `photo-${w}x${h}.png`, w, h };
});

// Bad files: the CLI's message for each (its one error line, after the file name).
function pngHeader(w, h) {
  const b = Buffer.alloc(33);
  Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]).copy(b, 0);
  b.write('IHDR', 12, 'latin1');
  b.writeUInt32BE(w, 16);
  b.writeUInt32BE(h, 20);
  b[24] = 8; b[25] = 6;
  return b;
}
const BAD = [
  ['empty.png', Buffer.alloc(0)],
  ['notes.jpg', Buffer.from('hello, I am a text file called notes.jpg\n')],
  ['drawing.svg', Buffer.from('<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>')],
  ['scan.tiff', Buffer.from('II*\0\x08\0\0\0\0\0\0\0', 'latin1')],
  ['huge.png', pngHeader(60000, 60000)],
  ['wide.png', pngHeader(20000, 100)],
].map(([name, bytes]) => {
  const path = join(tmp, name);
  writeFileSync(path, bytes);
  let message = null;
  try {
    execFileSync(cli, ['classify', '-m', model, path], { stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    // "… invalid image: PATH: what" → "invalid image: what", as the page words it after the file's name
    const line = String(e.stderr).split('\n').find((l) => l.includes('invalid image:')) ?? '';
    const what = line.slice(line.indexOf('invalid image:') + 'invalid image:'.length).trim();
    message = what.startsWith(`${path}: `) ? `invalid image: ${what.slice(path.length + 2)}` : null;
  }
  return { name, path, message };
});

const { proc, base } = await startServer();
let browser;
try {
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS });
  const page = await browser.newPage({ viewport: { width: 1366, height: 900 } });
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await gotoPage(page, `${base}/`);
  await page.locator('#status[data-state="ready"]').waitFor({ timeout: TIMEOUT });

  // The page's own modules in the page: image.js decodes, the worker runs the model.
  const pageRun = (name, b64) => page.evaluate(async ({ name, b64, modelUrl }) => {
    const { InferenceClient } = await import('./client.js');
    const { decodeImage } = await import('./image.js');
    window.__sameAsCli ??= new InferenceClient();
    const c = window.__sameAsCli;
    if (!window.__sameAsCliLoaded) { await c.load(modelUrl); window.__sameAsCliLoaded = true; }
    const bytes = Uint8Array.from(atob(b64), (ch) => ch.charCodeAt(0));
    try {
      const img = await decodeImage(new File([bytes], name, { type: 'image/png' }), c);
      const r = await c.classify(img.rgba, img.width, img.height, {});
      return { label: r.trace.label, logits: r.trace.logits, side: img.width, exact: img.exact };
    } catch (e) {
      return { error: e.message };
    }
  }, { name, b64, modelUrl: new URL(`models/${modelFile}`, `${base}/`).href });

  const native = cliClassify(model, photos.map((p) => p.path));
  for (const [i, p] of photos.entries()) {
    const got = await pageRun(p.name, readFileSync(p.path).toString('base64'));
    const want = native[i];
    const diff = got.logits ? Math.max(...got.logits.map((v, k) => Math.abs(v - want.logits[k]))) : NaN;
    check(`${p.w}×${p.h}: page label and logits = lcnet classify (centre square ${Math.min(p.w, p.h)} px at full resolution)`,
      !got.error && got.label === want.label && diff <= 1e-3 && got.exact && got.side === Math.min(p.w, p.h),
      got.error ?? `${got.label} vs ${want.label}, max |Δlogit| ${diff.toExponential(2)}`);
  }

  // Through the real interface too: the 4000×3 strip, where shrinking before the crop changed the label.
  const strip = photos.find((p) => p.w === 4000 && p.h === 3);
  await page.setInputFiles('#file', strip.path);
  await page.locator(`#result[data-file="${strip.name}"]`).waitFor({ state: 'visible', timeout: TIMEOUT });
  const shown = (await page.locator('#label').textContent()).trim();
  check('the page itself shows lcnet classify\'s label for the 4000×3 strip', shown === native[photos.indexOf(strip)].label,
    `${shown} vs ${native[photos.indexOf(strip)].label}`);

  // What if: a block of the map forced the other way re-runs the image with that override, as
  // `lcnet classify --force-on/--force-off` does; picking it again, or "Clear what-if", undoes it.
  const photo = photos[0];
  await page.setInputFiles('#file', photo.path);
  await page.locator(`#result[data-file="${photo.name}"]`).waitFor({ state: 'visible', timeout: TIMEOUT });
  const tiles = page.locator('#blocks .blk');
  const pick = async (i) => {
    const t = tiles.nth(i);
    return { id: `${await t.getAttribute('data-stage')}.${await t.getAttribute('data-index')}`, ran: (await t.getAttribute('data-executed')) === 'true' };
  };
  const a = await pick(1);
  await tiles.nth(1).click();
  await page.locator('#whatif:not([hidden])').waitFor({ timeout: TIMEOUT });
  await page.waitForFunction((id) => document.querySelector(`#blocks .blk[data-stage="${id[0]}"][data-index="${id.slice(2)}"]`)?.dataset.forced !== undefined, a.id, { timeout: TIMEOUT });
  const cliA = cliClassify(model, [photo.path], [a.ran ? '--force-off' : '--force-on', a.id])[0];
  const box = page.locator('#whatif');
  check(`what if ${a.id} forced ${a.ran ? 'off' : 'on'} (click): MACs and label = lcnet classify ${a.ran ? '--force-off' : '--force-on'} ${a.id}`,
    Number(await box.getAttribute('data-macs')) === cliA.macs && (await box.getAttribute('data-label')) === cliA.label &&
      (await tiles.nth(1).getAttribute('data-executed')) === String(!a.ran),
    `${await box.getAttribute('data-macs')} vs ${cliA.macs}: ${(await page.locator('#whatif-text').textContent()).trim()}`);
  const b = await pick(4);
  await tiles.nth(4).focus();
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => document.querySelectorAll('#blocks .blk[data-forced]').length === 2, null, { timeout: TIMEOUT });
  const flags = (x) => [x.ran ? '--force-off' : '--force-on', x.id];
  const cliAB = cliClassify(model, [photo.path], [...flags(a), ...flags(b)])[0];
  await page.waitForFunction((m) => document.querySelector('#whatif')?.dataset.macs === String(m), cliAB.macs, { timeout: TIMEOUT }).catch(() => {});
  check(`what if ${a.id} and ${b.id} forced (Enter on a focused block): MACs = the CLI's with both overrides`,
    Number(await box.getAttribute('data-macs')) === cliAB.macs, `${await box.getAttribute('data-macs')} vs ${cliAB.macs}`);
  await page.locator('#map-h').screenshot({ path: join(artifacts, 'same-as-cli-whatif.png') }).catch(() => {});
  await page.screenshot({ path: join(artifacts, 'same-as-cli-whatif-page.png'), fullPage: true });
  await page.locator(`#blocks .blk[data-stage="${a.id[0]}"][data-index="${a.id.slice(2)}"]`).click();
  await page.waitForFunction(() => document.querySelectorAll('#blocks .blk[data-forced]').length === 1, null, { timeout: TIMEOUT });
  await page.click('#whatif-clear');
  await page.locator('#whatif').waitFor({ state: 'hidden', timeout: TIMEOUT });
  const cliNone = cliClassify(model, [photo.path])[0];
  check('what if cleared: no block forced, the map and MACs are the gates\' own again',
    (await page.locator('#blocks .blk[data-forced]').count()) === 0 &&
      Number(await page.locator('#macs').getAttribute('data-value')) === cliNone.macs &&
      (await tiles.nth(1).getAttribute('data-executed')) === String(a.ran));

  for (const b of BAD) {
    const got = await pageRun(b.name, readFileSync(b.path).toString('base64'));
    check(`${b.name}: the page gives the CLI's message`, b.message && got.error === `“${b.name}”: ${b.message}`,
      `page: ${got.error} | CLI: ${b.message}`);
  }
  // And in the interface: the message shown, the previous result kept.
  const huge = BAD.find((b) => b.name === 'huge.png');
  await page.setInputFiles('#file', huge.path);
  await page.locator('#error').waitFor({ state: 'visible', timeout: TIMEOUT });
  const err = (await page.locator('#error').textContent()).trim();
  check('a 60000×60000 PNG in the interface: the CLI\'s message, the previous result kept',
    err.includes(huge.message) && (await page.locator('#result').getAttribute('data-file')) === photos[0].name, err);
  await page.screenshot({ path: join(artifacts, 'same-as-cli-error.png'), fullPage: false });
  check('no uncaught error in the page', errors.length === 0, errors.join(' | '));
} catch (e) {
  check('same_as_cli test ran to the end', false, e.message);
} finally {
  await browser?.close();
  proc.kill();
}
finish();
