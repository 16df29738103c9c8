// The demo page in headless Debian Chromium (playwright-core, no downloaded browser). It loads
// the wasm and the model and shows the card; an uploaded image gets a label, a map with one
// element per block, and MACs equal to `lcnet classify --json` for the same file and thresholds;
// sliders (driven by the keyboard) change the MACs, again equal to the CLI's; static mode runs
// every block; a non-image gets a clear message and the page keeps working; the sample gallery
// (when built) and the batch table and export work; a bad model file is refused clearly and a
// good one (with an accuracy–MACs curve, and a deeper R56) is used; phone width; no
// WebAssembly; the worker's protocol (a card read beside a queued load, the warm-up); and no request leaves
// the page's origin. Each test opens a page of its own and sets up
// what it needs (uploads, models); every page must also keep the hygiene of lib.mjs's openPage.
// Screenshots: tests/e2e/artifacts/.
// Run: node --test tests/e2e/page.test.mjs   (needs www/pkg + www/models from scripts/build-web.sh and
// target/release/lcnet + lcnet-www)
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import {
  fullShot,
  CHROMIUM, artifacts, browserPerFile, cli, cliClassify, cliInfo, makeImage, need, pageTest, readCard, root, withCard, www,
  withRandomGates, writePng, gotoPage
} from './lib.mjs';

const TIMEOUT = 60_000;
const SHARED = resolve(process.env.LCNET_SHARED ?? join(root, '..', 'shared'));

need(cli, 'build it with `cargo build --release`');
need(www, 'build it with `cargo build --release`');
need(join(root, 'www', 'pkg', 'lcnet_bg.wasm'), 'run scripts/build-web.sh first');
need(join(root, 'www', 'models', 'index.json'), 'run scripts/build-web.sh first');
need(CHROMIUM, 'install Debian chromium (scripts/setup.sh), or set CHROMIUM');
mkdirSync(artifacts, { recursive: true });

const index = JSON.parse(readFileSync(join(root, 'www', 'models', 'index.json'), 'utf8'));
if (!index.default) throw new Error('www/models/index.json lists no model: weights/ is empty');
const model = join(root, 'www', 'models', index.default);
const card = readCard(model);
// The LC-Net points of a card's measured curve, as the chart draws them for other models.
const lcPoints = (c) => (c.evaluation?.curve ?? []).filter((p) => p.mode === 'lc' && typeof p.macs_fraction === 'number').length;
// Every shipped model but `exceptFile`, of ResNet-`depth`: the chart's grey points.
const othersOfDepth = (depth, exceptFile) => index.models.filter((m) => m.file !== exceptFile)
  .map((m) => ({ file: m.file, card: readCard(join(root, 'www', 'models', m.file)) }))
  .filter((m) => m.card.arch.depth === depth && lcPoints(m.card) > 0);

// Sandwich-trained with its full pass (sw_full > 0): these weights are their own static baseline.
const trainedAsOne = (c) => Boolean(c.gates?.trained && c.provenance?.config?.sandwich === true && (c.provenance.config.sw_full ?? 1) > 0);
// The static network the page compares a model with: the static reference its card names, or itself.
const staticModelOf = (path, c) => (c.static_reference ? join(root, 'www', 'models', c.static_reference) : path);

const text = async (page, sel) => (await page.locator(sel).textContent()).trim();
const digits = (s) => Number(String(s).replace(/[^0-9]/g, ''));
const shot = (page, name) => fullShot(page, join(artifacts, name));

async function ready(page) {
  await page.locator('#status[data-state="ready"]').waitFor({ timeout: TIMEOUT });
}

async function expectResult(page, fileName) {
  await page.locator(`#result[data-file="${fileName}"]`).waitFor({ state: 'visible', timeout: TIMEOUT });
  await ready(page);
}

/** Waits until the result shown is for these settings (`mode`, τ_L, τ_C as the page holds them). */
async function expectSetting(page, mode, tauL, tauC) {
  const suffix = `|${mode}|${tauL}|${tauC}`;
  try {
    await page.waitForFunction((s) => document.querySelector('#result')?.dataset.key?.endsWith(s), suffix, { timeout: TIMEOUT });
  } catch (e) {
    const key = await page.evaluate(() => document.querySelector('#result')?.dataset.key);
    throw new Error(`the result never showed the setting ${suffix} (last shown: ${key}): ${e.message}`);
  }
  await ready(page);
}

function cliArgs({ mode, tauL, tauC } = {}) {
  const a = [];
  if (mode) a.push('--mode', mode);
  if (tauL !== undefined) a.push('--tau-l', String(tauL));
  if (tauC !== undefined) a.push('--tau-c', String(tauC));
  return a;
}

/** The page's numbers for the current result against `lcnet classify --json` on the same file. */
async function compareWithCli({ page, check }, pngPath, tag, { modelPath = model, setting = {} } = {}) {
  const native = cliClassify(modelPath, [pngPath], cliArgs(setting))[0];
  const label = await text(page, '#label');
  const macs = digits(await text(page, '#macs'));
  const macsStatic = digits(await text(page, '#macs-static'));
  const executed = await page.locator('#blocks .blk[data-executed="true"]').count();
  const boxes = await page.locator('#blocks .blk').count();
  check(`${tag}: label equals the CLI's`, label.length > 0 && label === native.label, `${label} vs ${native.label}`);
  check(`${tag}: MACs shown equal the CLI's`, macs === native.macs, `${macs} vs ${native.macs}`);
  check(`${tag}: static MACs shown equal the CLI's`, macsStatic === native.macs_static, `${macsStatic} vs ${native.macs_static}`);
  check(`${tag}: map has one element per block`, boxes === native.blocks_total, `${boxes} elements, ${native.blocks_total} blocks`);
  check(`${tag}: blocks run equal the CLI's`, executed === native.blocks_executed, `${executed} vs ${native.blocks_executed}`);
  const trace = JSON.parse(await text(page, '#trace-json'));
  const d = Math.max(...trace.logits.map((v, i) => Math.abs(v - native.logits[i])));
  check(`${tag}: page logits equal the CLI's (≤ 1e-5)`, d <= 1e-5, `max |Δ| ${d.toExponential(2)}`);
  const keptPage = trace.blocks.map((b) => b.kept.join(',')).join('|');
  const keptCli = native.blocks.map((b) => b.kept.join(',')).join('|');
  check(`${tag}: kept channels equal the CLI's`, keptPage === keptCli);
  return native;
}

/** Sets a range input the way a script can (the keyboard path is tested separately). */
async function setSlider(page, id, value) {
  await page.evaluate(({ id, value }) => {
    const s = document.getElementById(id);
    s.value = String(value);
    s.dispatchEvent(new Event('input', { bubbles: true }));
  }, { id, value });
}

// ---- test inputs ---------------------------------------------------------------------------
const tmp = join(artifacts, 'inputs');
mkdirSync(tmp, { recursive: true });
const img1 = writePng(join(tmp, 'input-1.png'), makeImage(120, 80, 5), 120, 80);
const img2 = writePng(join(tmp, 'input-2.png'), makeImage(64, 100, 9), 64, 100);
const big = writePng(join(tmp, 'input-big.png'), makeImage(2400, 1500, 13), 2400, 1500);
const notImage = join(tmp, 'not-an-image.png');
writeFileSync(notImage, 'this is text, not a PNG\n');
const notModel = join(tmp, 'not-a-model.safetensors');
writeFileSync(notModel, 'this is not a model file either\n');
// A copy of the shipped model with seeded random gates (so the default thresholds skip) and a
// synthetic accuracy–MACs curve in its card (the shape the page reads), for the chart.
const info = cliInfo(model);
const curveModel = withRandomGates(model, join(tmp, 'curve-model.safetensors'), info.blocks, 3);
// a complete evaluation, as the loader's typed card requires (src/model/evaluation.rs); the numbers are made up
const synthPoint = (mode, tau_l, tau_c, accuracy, macs_fraction) => ({
  mode, tau_l, tau_c, accuracy, macs_fraction, macs_mean: 0, macs_std: 0, macs_gates_mean: 0,
  block_exec_rate: info.blocks.map(() => 1), channel_density: [1, 1, 1],
});
const SYNTH = {
  dataset: 'synthetic curve (test fixture, not measured)',
  n: 1,
  static_accuracy: 0.9,
  measured_by: 'tests/e2e/page.test.mjs',
  curve: [
    ...[[0.3, 0.3], [0.4, 0.4], [0.5, 0.5], [0.6, 0.6], [0.7, 0.7]].map(([l, c], i) => synthPoint('lc', l, c, 0.9 - 0.04 * i * i / 4, 0.95 - 0.17 * i)),
    ...[0.3, 0.5, 0.7].map((l, i) => synthPoint('l', l, 0.5, 0.89 - 0.05 * i, 0.9 - 0.2 * i)),
    ...[0.3, 0.5, 0.7].map((c, i) => synthPoint('c', 0.5, c, 0.895 - 0.03 * i, 0.92 - 0.15 * i)),
  ],
};
withCard(curveModel, curveModel, (c) => {
  c.name = 'r20-random-gates-with-curve';
  c.evaluation = SYNTH;
  c.thresholds = { tau_l: 0.5, tau_c: 0.5 }; // a point of SYNTH, whatever the shipped model's defaults
});
// ResNet-56 (the reference weights, imported, with random gates) for a deeper map, when available.
let r56 = null;
const r56ref = join(SHARED, 'reference', 'resnet56-reference.safetensors');
if (existsSync(r56ref)) {
  const plain = join(tmp, 'r56-plain.safetensors');
  execFileSync(cli, ['import', r56ref, '-o', plain], { stdio: 'ignore' });
  r56 = withRandomGates(plain, join(tmp, 'r56-random-gates.safetensors'), cliInfo(plain).blocks, 5);
}
// The sample gallery: built from the local CIFAR-10 copy when the page has none yet.
const galleryIndex = join(root, 'www', 'gallery', 'index.json');
const dataPath = process.env.LCNET_DATA ?? join(SHARED, 'data', 'cifar10-jpeg.tar.gz');
let gallery = existsSync(galleryIndex) ? JSON.parse(readFileSync(galleryIndex, 'utf8')).images ?? [] : [];
if (gallery.length === 0 && existsSync(dataPath)) {
  execFileSync(www, ['gallery', '--data', dataPath, '--out', join(root, 'www', 'gallery'), '--per-class', '3'], { stdio: 'ignore' });
  gallery = JSON.parse(readFileSync(galleryIndex, 'utf8')).images;
}

// The default model's blocks and static MACs, and every other shipped model's, for the picker tests.
const shipped = index.models.map((m) => {
  const path = join(root, 'www', 'models', m.file);
  const mi = cliInfo(path);
  return { file: m.file, path, card: readCard(path), blocks: mi.blocks.length, macsStatic: digits(mi.macs_static) };
});
const g = card.gates;

/**
 * Thresholds inside the gates' range for `native` (the CLI's result at the defaults): some blocks
 * (where the s_L differ) and channels skipped, others kept.
 */
function midThresholds(native) {
  const between = (values) => {
    const v = [...new Set(values.map((x) => Math.round(100 * x) / 100))].sort((a, b) => a - b);
    if (v.length < 2) return { tau: Math.max(0, v[0] - 0.01), split: false }; // one value: keep them all
    const i = Math.floor((v.length - 1) / 2);
    return { tau: v[i], split: true }; // skips v[0..i], keeps the rest
  };
  return { pickL: between(native.blocks.map((b) => b.s_l)), pickC: between(native.blocks.flatMap((b) => b.s_c)) };
}

const env = browserPerFile();
/** Every test's page: desktop size, downloads kept (the export). */
const PAGE = { viewport: { width: 1366, height: 900 }, acceptDownloads: true };

async function open(page, query = '') {
  await gotoPage(page, `${env.base}/${query}`);
  await ready(page);
}

async function upload(page, path) {
  await page.setInputFiles('#file', path);
  await expectResult(page, path.split('/').pop());
}

/** Waits until the batch table holds `n` rows, every one of them run. */
async function batchOf(page, n) {
  await page.waitForFunction((n) => document.querySelectorAll('#batch-table tbody tr').length === n && document.querySelector('#batch')?.dataset.complete === 'true',
    n, { timeout: TIMEOUT });
}

/** The three files of one's own the batch tests start with, uploaded one by one. */
async function loadOwn(page) {
  for (const [i, path] of [img1, img2, big].entries()) {
    await upload(page, path);
    await batchOf(page, i + 1);
  }
}

/** Every sample (when built) after loadOwn's files. */
async function loadGallery(page) {
  if (gallery.length === 0) return;
  await page.click('#gallery-all');
  await batchOf(page, 3 + gallery.length);
}

/** The batch the page tests work on: the three files of one's own, then every sample when built. */
async function loadBatch(page) {
  await loadOwn(page);
  await loadGallery(page);
}

/** Loads a model file of one's own and waits until its card names `name`. */
async function ownModel(page, path, name) {
  await page.setInputFiles('#model-file', path);
  await page.waitForFunction((n) => document.querySelector('#card')?.textContent.includes(n), name, { timeout: TIMEOUT });
}

/** Picks a shipped model and waits until its card is shown and it is ready (and the map is its own, with a result shown). */
async function pickShipped(page, m, { withResult }) {
  await page.selectOption('#model-select', m.file);
  await page.waitForFunction((n) => document.querySelector('#card dd')?.textContent === n, m.card.name, { timeout: TIMEOUT });
  if (withResult) await page.waitForFunction((n) => document.querySelectorAll('#blocks .blk').length === n, m.blocks, { timeout: TIMEOUT });
  await ready(page);
}

// 1. load: the card, the gates' state, the chart's "no curve" message
pageTest(env, 'load: card, gates note, static side, chart, picker and defaults; the worker fetches the wasm and the model', PAGE, async (p) => {
  const { page, check, requests } = p;
  await open(page);
  check('model loaded and card shown', (await text(page, '#card')).includes(card.name) && (await page.locator('#model').isVisible()));
  const note = await text(page, '#gates-note');
  const wantNote = !g ? /static model/i : !g.trained ? /gates untrained: they skip almost nothing yet/i : /trained/i;
  check('gates state stated plainly', wantNote.test(note), note);
  const gated = (card.evaluation?.curve ?? []).filter((p) => (p.mode === 'l' || p.mode === 'lc') && Array.isArray(p.block_exec_rate));
  const neverSkips = g?.trained && g.l_net && gated.length > 0 && gated.every((p) => p.block_exec_rate.every((r) => r >= 0.9995));
  check('a model whose curve never skips a block says so (and only then)',
    /every block ran for every test image/i.test(note) === Boolean(neverSkips), note);
  // Gates trained with the backbone: the static side's prediction is no baseline, and the page says so.
  // Sandwich-trained weights (the full network trained at every step) are their own static baseline.
  const oneNetwork = trainedAsOne(card);
  const joint = Boolean(g?.trained && card.provenance?.config?.freeze_backbone === false) && !oneNetwork;
  check('weights trained as one network for the whole range say so, and call the static side the baseline (and only then)',
    /one network for the whole range/i.test(note) === oneNetwork, note);
  const staticNote = page.locator('#static-note');
  check('jointly trained weights: the static side is marked as no accuracy baseline (and only then)',
    ((await staticNote.getAttribute('hidden')) === null) === joint &&
      /out of calibration/i.test(await staticNote.textContent()) === joint &&
      /backbone was trained together with the gates/i.test(note) === joint, note);
  if (joint && !card.static_reference) {
    const acc = card.provenance.phases.find((ph) => ph.phase === 'backbone').final.acc_static;
    check('jointly trained weights: the card names the backbone\'s accuracy',
      (await text(page, '#card')).includes(`${(100 * acc).toFixed(1)} %`) && note.includes(`${(100 * acc).toFixed(1)} %`));
  }
  if (card.static_reference) {
    const ref = readCard(staticModelOf(model, card));
    const acc = `${(100 * card.evaluation.static_reference.accuracy).toFixed(1)} %`;
    check(`static reference: the card names ${ref.name} and its measured accuracy, the static side says it runs it`,
      (await text(page, '#card')).includes(`${ref.name} (${card.static_reference}): ${acc}`) && note.includes(ref.name) &&
        (await text(page, '#static-kind')).includes(`static reference: ${ref.name}`) &&
        (await staticNote.textContent()).includes(`models/${card.static_reference}`),
      await staticNote.textContent());
  }
  if (!card.evaluation?.curve) {
    check('no curve: the chart says so', /no accuracy–MACs curve measured for this model yet/i.test(await text(page, '#chart-empty')));
  }
  // Every other shipped model of this depth: its measured LC-Net points in grey, named.
  const others = othersOfDepth(card.arch.depth, index.default);
  const wantOthers = others.reduce((n, m) => n + lcPoints(m.card), 0);
  if (card.evaluation?.curve) {
    await page.waitForFunction((n) => document.querySelector('#chart')?.dataset.others === String(n), wantOthers, { timeout: TIMEOUT })
      .catch(() => {});
    const chartText = await text(page, '#chart');
    check(`chart: the ${others.length} other shipped models of this depth drawn beside (${wantOthers} grey points, named)`,
      (await page.locator('#chart svg .pt-other').count()) === wantOthers && others.every((m) => chartText.includes(m.card.name)),
      `${await page.locator('#chart svg .pt-other').count()} grey points; ${await text(page, '#chart-note')}`);
  }
  if (joint) {
    const dts = await page.locator('#card dt').allTextContents();
    check('jointly trained weights: the card leads with the default operating point, the gateless figure last',
      dts.indexOf('At the defaults') >= 0 && dts.indexOf('At the defaults') < dts.indexOf('Without its gates') && !dts.includes('Test accuracy'), dts.join(' | '));
    check('jointly trained weights: the chart draws the backbone it started from', (await page.locator('#chart svg .backbone-line').count()) === 1);
  }
  const firstOption = (await page.locator('#model-select option').first().textContent()).trim();
  const defPt = (card.evaluation?.curve ?? []).find((p) => p.mode === 'lc' && Math.abs(p.tau_l - card.thresholds.tau_l) < 1e-4 && Math.abs(p.tau_c - card.thresholds.tau_c) < 1e-4);
  check('model picker: the default first, with its accuracy and MACs at its defaults once its card is read',
    firstOption.startsWith(card.name) && (!defPt || firstOption.includes(`${(100 * defPt.accuracy).toFixed(1)} %, ${Math.round(100 * defPt.macs_fraction)} % MACs`)), firstOption);
  check('mode and sliders start at the card\'s defaults',
    (await page.locator('input[name="mode"]:checked').getAttribute('value')) === (g ? 'lc' : 'static') &&
    Number(await page.inputValue('#tau-l')) === card.thresholds.tau_l && Number(await page.inputValue('#tau-c')) === card.thresholds.tau_c);
  // The worker's fetches show up among the context's requests (so the origin check sees them too).
  // Chromium validates relaxed SIMD, so the worker runs the fused multiply-add build (www/wasm-features.js).
  check('requests recorded include the worker\'s wasm (the relaxed-SIMD build) and model fetches',
    requests.some((u) => u.endsWith('/pkg/lcnet_relaxed_bg.wasm')) && !requests.some((u) => u.endsWith('/pkg/lcnet_bg.wasm')) &&
      requests.some((u) => u.includes('/models/') && u.endsWith('.safetensors')),
    `${requests.length} requests`);
  await shot(page, '01-loaded.png');
});

// 1b. the SIMD128 build, which browsers without relaxed SIMD run: forced with ?wasm=simd128, the same results
pageTest(env, 'the SIMD128 build (?wasm=simd128, as without relaxed SIMD) loads and equals the CLI', PAGE, async (p) => {
  const { page, check, requests } = p;
  await open(page, '?wasm=simd128');
  check('the worker fetched the SIMD128 build only',
    requests.some((u) => u.endsWith('/pkg/lcnet_bg.wasm')) && !requests.some((u) => u.endsWith('/pkg/lcnet_relaxed_bg.wasm')),
    requests.filter((u) => u.includes('/pkg/')).join(', '));
  await upload(page, img1);
  await compareWithCli(p, img1, 'simd128 build');
  await page.locator('#timing[data-state="done"]').waitFor({ timeout: TIMEOUT });
  check('the timing note does not claim fused multiply-adds', !/relaxed SIMD/.test(await text(page, '#timing')), await text(page, '#timing'));
});

// 2. upload → a label, the map, MACs equal to the CLI's, static side, measured times
pageTest(env, 'upload: label, map, MACs and static side equal the CLI\'s; times measured; block detail', PAGE, async (p) => {
  const { page, check } = p;
  await open(page);
  await upload(page, img1);
  await compareWithCli(p, img1, 'upload');
  const nativeStatic = cliClassify(staticModelOf(model, card), [img1], ['--static'])[0];
  check(`static side: label and MACs equal \`classify --static\` of ${card.static_reference ?? 'these weights'}`,
    (await text(page, '#label-static')) === nativeStatic.label && digits(await text(page, '#macs-static')) === nativeStatic.macs);
  check('map: every stage drawn in order with its blocks',
    (await page.locator('#blocks .map-stage').count()) === 3 &&
    (await page.locator('#blocks .map-stage[data-stage="1"] .blk').count()) === card.arch.blocks_per_stage);
  check('top-5 bars for dynamic and static', (await page.locator('#top li').count()) === 5 && (await page.locator('#top-static li').count()) === 5);
  await page.locator('#timing[data-state="done"]').waitFor({ timeout: TIMEOUT });
  const msDyn = Number(await page.locator('#ms-dyn').getAttribute('data-value'));
  const msStatic = Number(await page.locator('#ms-static').getAttribute('data-value'));
  check('measured ms shown for both (median of warm runs), by the relaxed-SIMD build',
    msDyn > 0 && msStatic > 0 && /median of \d+ warm runs/.test(await text(page, '#timing')) && /relaxed SIMD/.test(await text(page, '#timing')),
    `dynamic ${await text(page, '#ms-dyn')}, static ${await text(page, '#ms-static')} (${await text(page, '#ms-pct')} ${await text(page, '#ms-x')})`);
  await page.locator('#blocks .blk').nth(1).focus();
  check('focusing a block shows its numbers', /Channels kept/.test(await text(page, '#block-detail')), await text(page, '#block-detail'));
  await shot(page, '02-result.png');
});

const noGates = !g && 'a static model: no gates, no thresholds to move';

// 3. sliders, by keyboard: τ_C to 1 (End) skips every channel; the MACs change and equal the CLI's
pageTest(env, 'sliders: τ_C to 1 by keyboard, then thresholds inside the gates\' range; MACs equal the CLI\'s', { ...PAGE, skip: noGates }, async (p) => {
  const { page, check } = p;
  await open(page);
  await upload(page, img1);
  // the result at the defaults the slider change is measured against
  const atDefaults = cliClassify(model, [img1], cliArgs())[0];
  await page.locator('#tau-c').focus();
  await page.keyboard.press('End');
  await expectSetting(page, 'lc', card.thresholds.tau_l, 1);
  const n = await compareWithCli(p, img1, 'τ_C = 1 (keyboard)', { setting: { tauL: card.thresholds.tau_l, tauC: 1 } });
  check('slider change changes the MACs', n.macs !== atDefaults.macs && digits(await text(page, '#macs')) !== atDefaults.macs,
    `${atDefaults.macs} → ${n.macs}`);
  const { pickL, pickC } = midThresholds(atDefaults);
  const tauL = pickL.tau;
  const tauC = pickC.tau;
  await setSlider(page, 'tau-l', tauL);
  await setSlider(page, 'tau-c', tauC);
  await expectSetting(page, 'lc', tauL, tauC);
  const m = await compareWithCli(p, img1, `τ_L = ${tauL}, τ_C = ${tauC}`, { setting: { tauL, tauC } });
  const keptCh = m.blocks.reduce((a, b) => a + b.channels_kept, 0);
  const allCh = m.blocks.reduce((a, b) => a + (b.executed ? b.channels_total : 0), 0);
  if (pickL.split) {
    check('mid thresholds: some blocks skipped and some run', m.blocks_executed > 0 && m.blocks_executed < m.blocks_total,
      `${m.blocks_executed}/${m.blocks_total}`);
  } else {
    check('mid thresholds: every s_L is the same for this image, so every block runs', m.blocks_executed === m.blocks_total,
      `${m.blocks_executed}/${m.blocks_total}`);
  }
  check('mid thresholds: some channels skipped and some kept', keptCh > 0 && keptCh < allCh, `${keptCh}/${allCh}`);
  check('skipped blocks drawn as bypassed', (await page.locator('#blocks .blk.skip .bypass').count()) === m.blocks_total - m.blocks_executed);
  await page.locator('#timing[data-state="done"]').waitFor({ timeout: TIMEOUT });
  await shot(page, '03-thresholds.png');
});

// 4. static mode runs every block, from thresholds that skip some; reset brings the defaults back
pageTest(env, 'static mode runs every block, sliders disabled; reset brings the card\'s defaults back', { ...PAGE, skip: noGates }, async (p) => {
  const { page, check } = p;
  await open(page);
  await upload(page, img1);
  const { pickL, pickC } = midThresholds(cliClassify(model, [img1], cliArgs())[0]);
  const tauL = pickL.tau;
  const tauC = pickC.tau;
  await setSlider(page, 'tau-l', tauL);
  await setSlider(page, 'tau-c', tauC);
  await expectSetting(page, 'lc', tauL, tauC);
  await page.locator('input[name="mode"][value="static"]').check();
  await expectSetting(page, 'static', tauL, tauC);
  const all = await page.locator('#blocks .blk[data-executed="true"]').count();
  check('static mode runs every block', all === info.blocks.length && digits(await text(page, '#macs')) === info.macs_static,
    `${all}/${info.blocks.length} blocks, ${await text(page, '#macs')} MACs`);
  check('static mode: τ sliders disabled', await page.locator('#tau-l').isDisabled());
  await page.click('#reset');
  await expectSetting(page, 'lc', card.thresholds.tau_l, card.thresholds.tau_c);
});

// 5. a non-image: a clear message; the page keeps working
pageTest(env, 'a non-image: the CLI\'s message; the previous result stays', PAGE, async (p) => {
  const { page, check } = p;
  await open(page);
  await upload(page, img1);
  await page.setInputFiles('#file', notImage);
  await page.locator('#error').waitFor({ state: 'visible', timeout: TIMEOUT });
  const err = await text(page, '#error');
  check('non-image: the CLI\'s message (the project\'s header check, in wasm)', /not-an-image\.png.*invalid image: not a recognised image format/i.test(err), err);
  check('non-image: the previous result stays, labelled with its own file', (await page.locator('#result').getAttribute('data-file')) === 'input-1.png');
  await shot(page, '04-non-image.png');
});

// 6. drop a valid image after an error; then a large one; the strip holds all three
pageTest(env, 'after an error: a dropped image clears it; a large image; the thumbnail strip', PAGE, async (p) => {
  const { page, check } = p;
  await open(page);
  await upload(page, img1);
  await page.setInputFiles('#file', notImage);
  await page.locator('#error').waitFor({ state: 'visible', timeout: TIMEOUT });
  const dt = await page.evaluateHandle(({ b64, fname }) => {
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    const t = new DataTransfer();
    t.items.add(new File([bytes], fname, { type: 'image/png' }));
    return t;
  }, { b64: readFileSync(img2).toString('base64'), fname: 'input-2.png' });
  await page.dispatchEvent('#drop', 'drop', { dataTransfer: dt });
  await expectResult(page, 'input-2.png');
  check('after the error: error message cleared', !(await page.locator('#error').isVisible()));
  await compareWithCli(p, img2, 'drop after error');
  await page.setInputFiles('#file', big);
  await expectResult(page, 'input-big.png');
  check('large image (2400×1500): classified', (await text(page, '#label')).length > 0);
  check('thumbnail strip holds the 3 images', (await page.locator('#strip .thumb').count()) === 3);
  await page.locator('#strip .thumb').first().click();
  await expectResult(page, 'input-1.png');
});

// 7. the sample gallery (when built), the batch table, histogram and export
pageTest(env, `${gallery.length ? 'gallery, ' : 'no gallery: hidden; '}batch table, histogram and export`, PAGE, async (p) => {
  const { page, check } = p;
  await open(page);
  await loadOwn(page);
  if (gallery.length === 0) {
    check('no gallery: its section is hidden', !(await page.locator('#gallery').isVisible()), `no www/gallery and no CIFAR-10 copy at ${dataPath}`);
  } else {
    check('gallery shown with true labels', (await page.locator('#gallery-items .gthumb').count()) === gallery.length);
    await loadGallery(page);
    const g0 = gallery[0];
    await expectResult(page, g0.file);
    await compareWithCli(p, join(root, 'www', 'gallery', g0.file), `gallery ${g0.file}`);
    check('gallery image: true label shown', (await text(page, '#true-label')).includes(g0.label));
    const row = page.locator('#batch-table tbody tr').filter({ hasText: g0.file });
    check('batch row: MACs equal the CLI\'s', digits(await row.locator('td').nth(4).textContent()) === digits(await text(page, '#macs')));
    check('batch: histogram drawn', (await page.locator('#hist svg rect').count()) > 0);
  }
  const rows = await page.locator('#batch-table tbody tr').count();
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#export')]);
  const exported = JSON.parse(readFileSync(await download.path(), 'utf8'));
  check('export: one trace per loaded image', exported.images.length === rows && exported.images.every((i) => i.trace && i.trace.blocks.length === info.blocks.length),
    `${exported.images.length} images, ${rows} rows`);
  await shot(page, '05-batch.png');
});

// 8. bring your own weights: a bad file is refused clearly, the page keeps its model
pageTest(env, 'a bad model file: refused clearly, the page keeps its model', PAGE, async (p) => {
  const { page, check } = p;
  await open(page);
  await page.setInputFiles('#model-file', notModel);
  await page.locator('#model-error').waitFor({ state: 'visible', timeout: TIMEOUT });
  const merr = await text(page, '#model-error');
  check('bad model file: clear error', /not-a-model\.safetensors.* is not a usable lcnet model/i.test(merr) && merr.includes(card.name), merr);
  await ready(page);
  check('bad model file: the page keeps its model', (await text(page, '#card')).includes(card.name));
  await shot(page, '06-bad-model.png');
});

// 9. a good model of one's own (after a bad one), with an accuracy–MACs curve: the chart and its operating point
pageTest(env, 'a model of one\'s own with a curve, after a bad one: listed, charted, its result equal to the CLI\'s', PAGE, async (p) => {
  const { page, check } = p;
  await open(page);
  await upload(page, img1);
  await page.setInputFiles('#model-file', notModel);
  await page.locator('#model-error').waitFor({ state: 'visible', timeout: TIMEOUT });
  await ready(page);
  await ownModel(page, curveModel, 'r20-random-gates-with-curve');
  await page.locator('#chart svg').waitFor({ timeout: TIMEOUT });
  await expectSetting(page, 'lc', 0.5, 0.5);
  check('own model: error cleared, listed in the picker', !(await page.locator('#model-error').isVisible()) &&
    (await page.locator('#model-select option').filter({ hasText: 'curve-model.safetensors' }).count()) === 1);
  check('chart: one marker per curve point plus static', (await page.locator('#chart svg .pt:not(.pt-other)').count()) === SYNTH.curve.length + 1);
  check('chart: an own model is drawn beside every shipped model of its depth',
    (await page.locator('#chart svg .pt-other').count()) === othersOfDepth(card.arch.depth, null).reduce((n, m) => n + lcPoints(m.card), 0));
  check('chart: the current setting is marked', /you are here/.test(await text(page, '#chart')) && /Current setting: 86\.0 % accuracy at 61\.0 %/.test(await text(page, '#chart-note')),
    await text(page, '#chart-note'));
  const cur = await page.locator('#result').getAttribute('data-file');
  const curPath = cur.startsWith('input-') ? join(tmp, cur) : join(root, 'www', 'gallery', cur);
  await compareWithCli(p, curPath, 'own model with random gates', { modelPath: curveModel });
  await page.locator('#timing[data-state="done"]').waitFor({ timeout: TIMEOUT });
  await shot(page, '07-own-model-curve.png');
  await page.locator('#blocks').screenshot({ path: join(artifacts, '07-map-detail.png') });
  await page.locator('#curve').screenshot({ path: join(artifacts, '07-chart-detail.png') });
});

// 10. a deeper model: ResNet-56, 27 blocks in the map
pageTest(env, 'a deeper model of one\'s own: ResNet-56, 27 blocks in the map, equal to the CLI\'s', { ...PAGE, skip: !r56 && `${r56ref} is absent` }, async (p) => {
  const { page } = p;
  await open(page);
  await upload(page, img1);
  await ownModel(page, r56, 'ResNet-56');
  await page.waitForFunction(() => document.querySelectorAll('#blocks .blk').length === 27, null, { timeout: TIMEOUT });
  await ready(page);
  await compareWithCli(p, img1, 'R56 (random gates)', { modelPath: r56 });
  await page.locator('#blocks .blk').nth(20).hover();
  await shot(page, '08-r56-map.png');
  await page.locator('#result').screenshot({ path: join(artifacts, '08-r56-map-detail.png') });
});

// Every other shipped model opens from the picker with its own map and its card's defaults, and the batch
// rows of the model before it are never shown as its own. The model before it is one whose static MACs
// differ from its (a stale row would then give itself away), picked before any image is loaded.
for (const m of shipped.filter((x) => x.file !== index.default)) {
  const mc = m.card;
  const prev = shipped.find((x) => x.file === index.default && x.macsStatic !== m.macsStatic) ??
    shipped.find((x) => x.file !== m.file && x.macsStatic !== m.macsStatic) ?? shipped.find((x) => x.file === index.default);
  pageTest(env, `shipped ${m.file} from the picker: batch rows re-run, its map, its defaults, its static side`, PAGE, async (p) => {
    const { page, check } = p;
    await open(page);
    if (prev.file !== index.default) await pickShipped(page, prev, { withResult: false });
    await loadBatch(page);
    // a batch row's figures, as the page shows them: [stale?, static MACs or null when not run yet]
    const batchRows = async () => (await page.$$eval('#batch-table tbody tr', (trs) => trs.map((tr) => [tr.classList.contains('stale'), tr.querySelectorAll('td')[5]?.textContent ?? ''])))
      .map(([stale, macs]) => [stale, macs.trim() === '' ? null : digits(macs)]);
    await page.selectOption('#model-select', m.file);
    await page.waitForFunction((n) => document.querySelector('#card dd')?.textContent === n, mc.name, { timeout: TIMEOUT });
    const during = await batchRows();
    check(`switching to ${mc.name}: batch rows from the previous model are marked as updating, never shown as this model's`,
      during.length > 0 && during.every(([stale, macs]) => stale || macs === null || macs === m.macsStatic),
      `${during.filter(([s]) => s).length} of ${during.length} marked (previous model ${prev.card.name})`);
    await page.locator('#batch[data-complete="true"]').waitFor({ timeout: TIMEOUT });
    const after = await batchRows();
    check(`switching to ${mc.name}: every batch row re-run on it (static MACs ${m.macsStatic})`,
      after.every(([stale, macs]) => !stale && macs === m.macsStatic) && !/updating/.test(await text(page, '#batch-summary')));
    await page.waitForFunction((n) => document.querySelectorAll('#blocks .blk').length === n, m.blocks, { timeout: TIMEOUT });
    await ready(page);
    check(`shipped ${mc.name} from the picker: ${m.blocks} blocks in the map, sliders at its defaults`,
      (await page.locator('#blocks .blk').count()) === m.blocks &&
      (await page.locator('input[name="mode"]:checked').getAttribute('value')) === (mc.gates ? 'lc' : 'static') &&
      Number(await page.inputValue('#tau-l')) === mc.thresholds.tau_l && Number(await page.inputValue('#tau-c')) === mc.thresholds.tau_c);
    // Weights trained as one network (the full pass every step): the static side is their baseline.
    const one = trainedAsOne(mc);
    const gnote = await text(page, '#gates-note');
    check(`shipped ${mc.name}: ${one ? 'trained as one network, its static side called the baseline' : 'not called one network'}`,
      /one network for the whole range/i.test(gnote) === one &&
        (!one || ((await page.locator('#static-note').getAttribute('hidden')) !== null && !/not a baseline/i.test(gnote))), gnote);
    if (mc.static_reference) {
      const refName = readCard(staticModelOf(m.path, mc)).name;
      check(`shipped ${mc.name}: its static side runs its static reference ${refName}`,
        (await text(page, '#static-kind')).includes(`static reference: ${refName}`));
    }
    await shot(page, `10-shipped-${mc.name}.png`);
  });
}

// Back to the default from another shipped model (one with another map, where there is one).
{
  const other = shipped.find((x) => x.file !== index.default && x.blocks !== info.blocks.length) ?? shipped.find((x) => x.file !== index.default);
  pageTest(env, 'back to the shipped default model from the picker', { ...PAGE, skip: !other && 'only one shipped model' }, async (p) => {
    const { page, check } = p;
    await open(page);
    await upload(page, img1);
    await pickShipped(page, other, { withResult: true });
    await page.selectOption('#model-select', index.default);
    await page.waitForFunction((n) => document.querySelector('#card dd')?.textContent === n, card.name, { timeout: TIMEOUT });
    await page.waitForFunction((n) => document.querySelectorAll('#blocks .blk').length === n, info.blocks.length, { timeout: TIMEOUT });
    await expectSetting(page, g ? 'lc' : 'static', card.thresholds.tau_l, card.thresholds.tau_c);
    check('back to the shipped model from the picker', (await page.locator('#blocks .blk').count()) === info.blocks.length,
      `from ${other.card.name}`);
  });
}

// 11. phone width, with a result, the batch table and the chart on the page
pageTest(env, 'phone width: no horizontal scrolling of the page', PAGE, async (p) => {
  const { page, check } = p;
  await open(page);
  await loadBatch(page);
  await ready(page);
  await page.setViewportSize({ width: 390, height: 844 });
  await page.locator('#result').scrollIntoViewIfNeeded();
  await page.screenshot({ path: join(artifacts, '09-phone-result.png') });
  await shot(page, '09-phone.png');
  const overflow = await page.evaluate(() => [document.documentElement.scrollWidth - document.documentElement.clientWidth,
    ...[...document.querySelectorAll('body *')].filter((e) => e.getBoundingClientRect().right > innerWidth + 1 && !e.closest('.table-wrap'))
      .slice(0, 5).map((e) => `${e.tagName.toLowerCase()}#${e.id}.${e.className}`)]);
  check('phone width: no horizontal scrolling of the page', overflow[0] <= 0 && overflow.length === 1, `${overflow[0]}px wider ${overflow.slice(1).join(' ')}`);
});

// 12. the worker: a card is read beside a queued load; the warm-up runs with or without a model
pageTest(env, 'worker: a card request is not queued behind a load; warm-up before and after a load', PAGE, async (p) => {
  const { page, check } = p;
  await gotoPage(page, `${env.base}/`);
  const biggest = [...index.models].sort((a, b) => b.size - a.size)[0].file;
  const other = index.models.find((m) => m.file !== biggest).file;
  // the model being loaded arrives 1.5 s late, so a card queued behind its load would too
  await page.context().route(`**/models/${biggest}`, async (route) => {
    await new Promise((done) => setTimeout(done, 1500));
    await route.continue();
  });
  const r = await page.evaluate(async ({ big, small }) => {
    const w = new Worker('worker.js', { type: 'module' });
    const waiting = new Map();
    const order = [];
    let next = 0;
    w.onmessage = (e) => {
      const m = e.data;
      if (m.type === 'progress') return;
      order.push(waiting.get(m.id).type);
      waiting.get(m.id).done(m);
      waiting.delete(m.id);
    };
    const ask = (msg) => new Promise((done) => { const id = ++next; waiting.set(id, { type: msg.type, done }); w.postMessage({ ...msg, id }); });
    const before = await ask({ type: 'warm-up' });
    await ask({ type: 'init' }); // as in the page: the module is compiled before the cards are asked for
    const t0 = performance.now();
    const loading = ask({ type: 'load', url: `models/${big}` }).then((m) => ({ ...m, ms: performance.now() - t0 }));
    const cardReply = await ask({ type: 'card', url: `models/${small}` });
    const cardMs = performance.now() - t0;
    const load = await loading;
    const after = await ask({ type: 'warm-up' });
    w.terminate();
    return { before: before.ok, load: load.ok, card: cardReply.ok && cardReply.result.card?.name, after: after.ok,
      order: order.slice(2, 4), cardMs: Math.round(cardMs), loadMs: Math.round(load.ms) };
  }, { big: biggest, small: other });
  check('warm-up with no model loaded: answered, nothing to run', r.before === true);
  check(`card of ${other} read while ${biggest} loads (its file held back 1.5 s): answered first, in under 1 s`,
    r.card && r.load && r.order.join() === 'card,load' && r.cardMs < 1000 && r.loadMs >= 1500, JSON.stringify(r));
  check('warm-up after the load: answered', r.after === true);
});

// 13. a browser without WebAssembly gets a message, not a blank page
pageTest(env, 'no WebAssembly: a message, not a blank page', PAGE, async (p) => {
  const { page, check } = p;
  await page.addInitScript(() => { delete globalThis.WebAssembly; });
  await gotoPage(page, `${env.base}/`);
  await page.locator('#fatal').waitFor({ state: 'visible', timeout: TIMEOUT });
  const fatalText = await text(page, '#fatal');
  check('no WebAssembly: says so', /does not support WebAssembly/i.test(fatalText), fatalText);
  await fullShot(page, join(artifacts, '10-no-wasm.png'));
});
