// The page sees what the CLI sees: for generated photos of several sizes and aspect ratios (up to
// 4000 px a side, the 4000×3 strip included) the page's pipeline — www/image.js (the project's header
// checks in wasm, the centre square cut at full resolution) and the worker — gives the label of
// `lcnet classify` and logits within 1e-3 of its; and each bad file gets the CLI's own message in the
// page. Each case opens a page of its own, which must also keep the hygiene of lib.mjs's openPage.
// Run: node --test tests/e2e/same_as_cli.test.mjs   (needs www/pkg + www/models and target/release/lcnet + lcnet-www)
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  fullShot,
  artifacts, browserPerFile, cli, cliClassify, encodePng, makeImage, need, pageTest, root, gotoPage
} from './lib.mjs';

const TIMEOUT = 120_000;
// Above the page waits' own limit, so that a stuck wait fails with its message and the checks made so far.
const TEST_TIMEOUT = 300_000;
need(cli, 'build it with `cargo build --release`');
need(join(root, 'www', 'pkg', 'lcnet_bg.wasm'), 'run scripts/build-web.sh first');
const index = JSON.parse(readFileSync(join(root, 'www', 'models', 'index.json'), 'utf8'));
const modelFile = index.default;
const model = join(root, 'www', 'models', modelFile);

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

const env = browserPerFile();
const OPTS = { viewport: { width: 1366, height: 900 }, timeout: TEST_TIMEOUT };

async function open(page) {
  await gotoPage(page, `${env.base}/`);
  await page.locator('#status[data-state="ready"]').waitFor({ timeout: TIMEOUT });
}

/** Runs a file through the page's own modules in the page: image.js decodes, the worker runs the model. */
const pageRun = (page, name, b64) => page.evaluate(async ({ name, b64, modelUrl }) => {
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
}, { name, b64, modelUrl: new URL(`models/${modelFile}`, `${env.base}/`).href });

async function upload(page, p) {
  await page.setInputFiles('#file', p.path);
  await page.locator(`#result[data-file="${p.name}"]`).waitFor({ state: 'visible', timeout: TIMEOUT });
}

for (const p of photos) {
  pageTest(env, `${p.w}×${p.h} photo: the page's pipeline gives lcnet classify's label and logits`, OPTS, async ({ page, check }) => {
    await open(page);
    const want = cliClassify(model, [p.path])[0];
    const got = await pageRun(page, p.name, readFileSync(p.path).toString('base64'));
    const diff = got.logits ? Math.max(...got.logits.map((v, k) => Math.abs(v - want.logits[k]))) : NaN;
    check(`${p.w}×${p.h}: page label and logits = lcnet classify (centre square ${Math.min(p.w, p.h)} px at full resolution)`,
      !got.error && got.label === want.label && diff <= 1e-3 && got.exact && got.side === Math.min(p.w, p.h),
      got.error ?? `${got.label} vs ${want.label}, max |Δlogit| ${diff.toExponential(2)}`);
  });
}

// Through the real interface too: the 4000×3 strip, where shrinking before the crop changed the label.
pageTest(env, 'the 4000×3 strip through the interface: lcnet classify\'s label shown', OPTS, async ({ page, check }) => {
  await open(page);
  const strip = photos.find((p) => p.w === 4000 && p.h === 3);
  const want = cliClassify(model, [strip.path])[0];
  await upload(page, strip);
  const shown = (await page.locator('#label').textContent()).trim();
  check('the page itself shows lcnet classify\'s label for the 4000×3 strip', shown === want.label, `${shown} vs ${want.label}`);
});

// What if: a block of the map forced the other way re-runs the image with that override, as
// `lcnet classify --force-on/--force-off` does; picking it again, or "Clear what-if", undoes it.
pageTest(env, 'what if: forcing blocks (click, Enter) = lcnet classify --force-on/--force-off; cleared again', OPTS, async ({ page, check }) => {
  await open(page);
  const photo = photos[0];
  await upload(page, photo);
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
  await page.locator('#blocks').screenshot({ path: join(artifacts, 'same-as-cli-whatif.png') });
  await fullShot(page, join(artifacts, 'same-as-cli-whatif-page.png'));
  await page.locator(`#blocks .blk[data-stage="${a.id[0]}"][data-index="${a.id.slice(2)}"]`).click();
  await page.waitForFunction(() => document.querySelectorAll('#blocks .blk[data-forced]').length === 1, null, { timeout: TIMEOUT });
  await page.click('#whatif-clear');
  await page.locator('#whatif').waitFor({ state: 'hidden', timeout: TIMEOUT });
  const cliNone = cliClassify(model, [photo.path])[0];
  check('what if cleared: no block forced, the map and MACs are the gates\' own again',
    (await page.locator('#blocks .blk[data-forced]').count()) === 0 &&
      Number(await page.locator('#macs').getAttribute('data-value')) === cliNone.macs &&
      (await tiles.nth(1).getAttribute('data-executed')) === String(a.ran));
});

for (const b of BAD) {
  pageTest(env, `${b.name}: the page gives the CLI's message`, OPTS, async ({ page, check }) => {
    await open(page);
    const got = await pageRun(page, b.name, readFileSync(b.path).toString('base64'));
    check(`${b.name}: the page gives the CLI's message`, b.message && got.error === `“${b.name}”: ${b.message}`,
      `page: ${got.error} | CLI: ${b.message}`);
  });
}

// And in the interface: the message shown, the previous result kept.
pageTest(env, 'a 60000×60000 PNG in the interface: the CLI\'s message, the previous result kept', OPTS, async ({ page, check }) => {
  await open(page);
  await upload(page, photos[0]);
  const huge = BAD.find((b) => b.name === 'huge.png');
  await page.setInputFiles('#file', huge.path);
  await page.locator('#error').waitFor({ state: 'visible', timeout: TIMEOUT });
  const err = (await page.locator('#error').textContent()).trim();
  check('a 60000×60000 PNG in the interface: the CLI\'s message, the previous result kept',
    err.includes(huge.message) && (await page.locator('#result').getAttribute('data-file')) === photos[0].name, err);
  await page.screenshot({ path: join(artifacts, 'same-as-cli-error.png'), fullPage: false });
});
