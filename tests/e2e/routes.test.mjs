// The routes view, cost vs difficulty and the accuracy–MACs chart, in headless Debian Chromium. With every sample
// loaded (and files of one's own): one row per image and one cell per block, each cell's ran/skipped state and kept
// channels equal to `lcnet classify --json` for that file; rows sorted by MACs; a row opens its image (click, Enter,
// Space); the per-block shares; the scatter (one point per image, right/wrong by shape) and the mean MACs per class;
// the chart (one point per measured setting, labels apart, a visible tooltip, a click or Enter sets the sliders to a
// point's thresholds, and the rows re-run without ever showing old data as current); the 27-block lcnet-r56 from the
// model list; 100+ images paginated; desktop and phone screenshots in tests/e2e/artifacts/routes-*.png. Each test
// opens a page of its own and loads the images and model it needs; every page must also keep the hygiene of
// lib.mjs's openPage.
// Run: node --test tests/e2e/routes.test.mjs   (needs www/pkg + www/models from scripts/build-web.sh and
// target/release/lcnet + lcnet-www)
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  fullShot,
  CHROMIUM, artifacts, browserPerFile, cli, cliClassify, cliInfo, makeImage, need, pageTest, readCard, root, writePng, gotoPage
} from './lib.mjs';

const TIMEOUT = 120_000;
// Above the page waits' own limit, so that a stuck wait fails with its message and the checks made so far.
const TEST_TIMEOUT = 300_000;
const PER_PAGE = 50;

need(cli, 'build it with `cargo build --release`');
need(join(root, 'www', 'pkg', 'lcnet_bg.wasm'), 'run scripts/build-web.sh first');
need(join(root, 'www', 'models', 'index.json'), 'run scripts/build-web.sh first');
need(CHROMIUM, 'install Debian chromium (scripts/setup.sh), or set CHROMIUM');
mkdirSync(artifacts, { recursive: true });

const modelsDir = join(root, 'www', 'models');
const index = JSON.parse(readFileSync(join(modelsDir, 'index.json'), 'utf8'));
const model = join(modelsDir, index.default);
const card = readCard(model);
const info = cliInfo(model);
const r56File = index.models.find((m) => m.file === 'lcnet-r56.safetensors')?.file ?? null;

// ---- inputs: the sample gallery (when built) and files of one's own -------------------------
const galleryIndex = join(root, 'www', 'gallery', 'index.json');
const gallery = existsSync(galleryIndex) ? JSON.parse(readFileSync(galleryIndex, 'utf8')).images ?? [] : [];
const galleryPath = (f) => join(root, 'www', 'gallery', f);
const truth = new Map(gallery.map((g) => [g.file, g.label]));
const tmp = join(artifacts, 'inputs');
mkdirSync(tmp, { recursive: true });
const own = [0, 1, 2].map((i) => writePng(join(tmp, `routes-own-${i}.png`), makeImage(90 + 10 * i, 70, 31 + i), 90 + 10 * i, 70));
const many = Array.from({ length: 72 }, (_, i) => writePng(join(tmp, `routes-many-${String(i).padStart(2, '0')}.png`), makeImage(40, 40, 100 + i), 40, 40));
const pathOf = new Map([...gallery.map((g) => [g.file, galleryPath(g.file)]), ...[...own, ...many].map((p) => [p.split('/').pop(), p])]);

/** `lcnet classify --json` of every named file, by file name. */
function native(modelPath, files, args = []) {
  const out = new Map();
  const paths = files.map((f) => pathOf.get(f));
  for (let i = 0; i < paths.length; i += 40) {
    for (const t of cliClassify(modelPath, paths.slice(i, i + 40), args)) out.set(t.file.split('/').pop(), t);
  }
  return out;
}

// ---- reading the page ---------------------------------------------------------------------
async function ready(page) {
  await page.locator('#status[data-state="ready"]').waitFor({ timeout: TIMEOUT });
}

/** Waits until the routes view shows `n` images, every one up to date. */
async function settled(page, n) {
  try {
    await page.waitForFunction((n) => {
      const r = document.querySelector('#routes');
      return r && !r.hidden && r.dataset.rows === String(n) && r.dataset.complete === 'true' &&
        document.querySelector('#batch')?.dataset.complete === 'true';
    }, n, { timeout: TIMEOUT });
  } catch (e) {
    const s = await page.evaluate(() => ({ ...document.querySelector('#routes')?.dataset }));
    throw new Error(`the routes view never settled on ${n} images (${JSON.stringify(s)}): ${e.message}`);
  }
  await ready(page);
}

/** The rows of the page shown: [{file, fresh, macs, wrong, text, cells: [[executed, kept]], stages: [cells per stage]}]. */
const readRows = (page) => page.$$eval('#routes .route-row', (rows) => rows.map((r) => ({
  file: r.dataset.file, fresh: r.dataset.fresh === 'true', macs: r.dataset.macs === undefined ? null : Number(r.dataset.macs),
  wrong: r.classList.contains('is-wrong'), text: r.querySelector('.route-pred')?.textContent ?? '',
  rank: Number(r.querySelector('.route-rank')?.textContent),
  cells: [...r.querySelectorAll('.route-cell')].map((c) => [c.dataset.executed ?? null, c.dataset.kept ?? null]),
  stages: [...r.querySelectorAll('.route-stage')].map((s) => s.querySelectorAll('.route-cell').length),
})));

/** Every row over every page (paging forward from the first, then back to it). */
async function allRows(page) {
  const pages = Number(await page.locator('#routes-pager').getAttribute('data-pages') ?? 1) || 1;
  while (Number(await page.locator('#routes-pager').getAttribute('data-page') ?? 1) > 1) await page.click('#routes-prev');
  const out = [];
  for (let p = 0; p < pages; p++) {
    if (p > 0) await page.click('#routes-next');
    out.push(...await readRows(page));
  }
  while (Number(await page.locator('#routes-pager').getAttribute('data-page') ?? 1) > 1) await page.click('#routes-prev');
  return out;
}

const cellsOf = (t) => t.blocks.map((b) => [String(b.executed), `${b.channels_kept}/${b.channels_total}`]);
const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);

/** The routes view against the CLI: rows, cells, order, right/wrong marks, shares, scatter and class table. */
async function compareAll({ page, check }, tag, modelPath, files, args, nBlocks) {
  const want = native(modelPath, files, args);
  const rows = await allRows(page);
  check(`${tag}: one row per loaded image`, rows.length === files.length && new Set(rows.map((r) => r.file)).size === files.length,
    `${rows.length} rows, ${files.length} images`);
  check(`${tag}: one cell per block in every row, grouped in 3 stages`,
    rows.every((r) => r.cells.length === nBlocks && r.stages.length === 3 && r.stages.every((n) => n === nBlocks / 3)), `${nBlocks} blocks`);
  const bad = rows.filter((r) => !want.has(r.file) || !same(r.cells, cellsOf(want.get(r.file))));
  check(`${tag}: every cell's ran/skipped state and kept channels equal \`lcnet classify --json\` for its file (${rows.length} images)`,
    bad.length === 0, bad.slice(0, 3).map((r) => `${r.file}: ${JSON.stringify(r.cells)} vs ${JSON.stringify(want.get(r.file) && cellsOf(want.get(r.file)))}`).join('; '));
  const macs = rows.map((r) => r.macs);
  check(`${tag}: rows sorted by MACs, cheapest first, each equal to the CLI's`,
    macs.every((m, i) => i === 0 || m >= macs[i - 1]) && rows.every((r) => r.macs === want.get(r.file)?.macs) &&
      rows.every((r, i) => r.rank === i + 1),
    `${macs[0]} … ${macs[macs.length - 1]}`);
  const marks = rows.filter((r) => truth.has(r.file));
  check(`${tag}: right/wrong marked against the true label where known, nowhere else`,
    marks.every((r) => r.wrong === (want.get(r.file).label !== truth.get(r.file)) && r.text.includes(want.get(r.file).label) &&
      r.text.includes(r.wrong ? '✗' : '✓')) &&
      rows.filter((r) => !truth.has(r.file)).every((r) => !/[✓✗]/.test(r.text) && !r.wrong),
    `${marks.filter((r) => r.wrong).length} wrong of ${marks.length} labelled`);
  // per block: the share of the images that ran it
  const shares = await page.$$eval('#routes .route-foot .route-cell.share', (cs) => cs.map((c) => c.dataset.share));
  const ts = [...want.values()];
  const wantShares = ts[0].blocks.map((_, i) => `${ts.filter((t) => t.blocks[i].executed).length}/${ts.length}`);
  check(`${tag}: per block, the share of the images that ran it`, same(shares, wantShares), `${shares.join(' ')}`);
  // cost vs difficulty
  const pts = await page.$$eval('#scatter .sc-pt', (ps) => ps.map((p) => ({ file: p.dataset.file, right: p.dataset.right, x: Number(p.dataset.x), y: Number(p.dataset.y),
    shape: p.querySelector('.mk')?.tagName })));
  const shape = { true: 'circle', false: 'path', unknown: 'rect' };
  check(`${tag}: the scatter has one point per image, at its MACs and confidence, right/wrong by shape`,
    pts.length === files.length && pts.every((p) => {
      const t = want.get(p.file);
      const right = truth.has(p.file) ? String(t.label === truth.get(p.file)) : 'unknown';
      return t && Math.abs(p.x - t.macs / t.macs_static) < 1e-5 && Math.abs(p.y - t.prob) < 1e-5 && p.right === right && p.shape === shape[right];
    }), `${pts.length} points`);
  const classes = await page.$$eval('#class-table tbody tr', (trs) => trs.map((tr) => ({ label: tr.dataset.class, n: Number(tr.dataset.n), mean: Number(tr.dataset.meanMacs) })));
  const byClass = new Map();
  for (const t of ts) byClass.set(t.label, [...(byClass.get(t.label) ?? []), t.macs]);
  check(`${tag}: mean MACs per predicted class equal the CLI's`,
    classes.length === byClass.size && classes.every((c) => byClass.get(c.label)?.length === c.n &&
      Math.abs(c.mean - byClass.get(c.label).reduce((a, b) => a + b, 0) / c.n) < 1e-6), `${classes.length} classes`);
  return want;
}

/** Labels of the chart whose boxes overlap each other or a marker of this model. */
async function chartOverlaps(page) {
  return page.evaluate(() => {
    const boxes = (sel) => [...document.querySelectorAll(sel)].map((e) => ({ e, r: e.getBoundingClientRect() }));
    const labels = boxes('#chart svg .labels text').filter((b) => b.r.width > 0);
    const marks = boxes('#chart svg .pt:not(.pt-other)');
    const hit = (a, b) => Math.min(a.right, b.right) - Math.max(a.left, b.left) > 1 && Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top) > 1;
    const out = [];
    labels.forEach((a, i) => {
      for (const b of labels.slice(i + 1)) if (hit(a.r, b.r)) out.push(`"${a.e.textContent}" × "${b.e.textContent}"`);
      for (const m of marks) if (hit(a.r, m.r)) out.push(`"${a.e.textContent}" × a point`);
    });
    return { n: labels.length, out };
  });
}

async function noPageOverflow(page) {
  return page.evaluate(() => [document.documentElement.scrollWidth - document.documentElement.clientWidth,
    ...[...document.querySelectorAll('body *')].filter((e) => e.getBoundingClientRect().right > innerWidth + 1 && !e.closest('.table-wrap, .class-wrap'))
      .slice(0, 5).map((e) => `${e.tagName.toLowerCase()}#${e.id}.${e.className?.baseVal ?? e.className}`)]);
}

/** Screenshots with no tooltip up: the focus and the pointer moved off the charts first. */
async function calm(page) {
  await page.evaluate(() => document.activeElement?.blur?.());
  await page.mouse.move(1, 1);
}
const shot = async (page, name) => { await calm(page); await fullShot(page, join(artifacts, name)); };
const part = async (page, sel, name) => { await calm(page); await page.locator(sel).screenshot({ path: join(artifacts, name) }); };

// ---- the tests ----------------------------------------------------------------------------
const env = browserPerFile();
const OPTS = { viewport: { width: 1366, height: 900 }, timeout: TEST_TIMEOUT };
const nameOf = (p) => p.split('/').pop();
// Every sample, or files of one's own where no gallery is built.
const firstFiles = gallery.length ? gallery.map((g) => g.file) : many.slice(0, 30).map(nameOf);
const firstTag = gallery.length ? 'every sample' : '30 files of one\'s own (no www/gallery)';
const r56 = r56File ? join(modelsDir, r56File) : null;
const r56card = r56 ? readCard(r56) : null;
const r56info = r56 ? cliInfo(r56) : null;

async function open(page) {
  await gotoPage(page, `${env.base}/`);
  await ready(page);
}

/** Loads every sample (or 30 files of one's own) and waits for their routes, and for the other models' cards (read
 *  once the page is idle, they redraw the chart); returns the file names. */
async function loadFirst(page) {
  if (gallery.length) await page.click('#gallery-all');
  else await page.setInputFiles('#file', many.slice(0, 30));
  await settled(page, firstFiles.length);
  await page.locator('#chart[data-cards="read"]').waitFor({ state: 'attached', timeout: TIMEOUT });
  return [...firstFiles];
}

/** Adds files of one's own to `files` (names) and waits for every route. */
async function add(page, files, paths) {
  await page.setInputFiles('#file', paths);
  const out = [...files, ...paths.map(nameOf)];
  await settled(page, out.length);
  return out;
}

/** Picks a shipped model and waits until its card is shown. */
async function pickModel(page, file, name) {
  await page.selectOption('#model-select', file);
  await page.waitForFunction((n) => document.querySelector('#card dd')?.textContent === n, name, { timeout: TIMEOUT });
}

/**
 * What the last two tests start from: lcnet-r56 (when shipped) with the first images, three of one's own and
 * 72 more; without it, the default model with the first images and three of one's own. The model is picked
 * before any image is loaded, so that nothing is run twice.
 */
async function loadMany(page) {
  if (r56) {
    await pickModel(page, r56File, r56card.name);
    await ready(page);
  }
  let files = await loadFirst(page);
  files = await add(page, files, own);
  if (r56) files = await add(page, files, many);
  return files;
}

pageTest(env, 'no image loaded: the routes and cost views are hidden', OPTS, async ({ page, check }) => {
  await open(page);
  check('no image loaded: the routes and cost views are hidden', !(await page.locator('#routes').isVisible()) && !(await page.locator('#cost').isVisible()));
});

// 1. every sample, or files of one's own where no gallery is built
pageTest(env, `${firstTag}: rows, cells, order, marks, shares, scatter and classes equal the CLI's; head and legend`, OPTS, async (p) => {
  const { page, check } = p;
  await open(page);
  const files = await loadFirst(page);
  await compareAll(p, `${card.name}, ${files.length} images`, model, files, [], info.blocks.length);
  check('the grid has a head naming the stages and a legend',
    (await page.locator('#routes .route-head .route-stage-name').allTextContents()).join(',') === 'stage 1,stage 2,stage 3' &&
      (await page.locator('#routes .routes-legend li').count()) >= 3);
});

// 2. the order can be turned round
pageTest(env, '"most expensive first" reverses the order', OPTS, async ({ page, check }) => {
  await open(page);
  await loadFirst(page);
  await page.click('#routes-order');
  const desc = (await readRows(page)).map((r) => r.macs);
  check('"most expensive first" reverses the order', desc.every((m, i) => i === 0 || m <= desc[i - 1]) && desc[0] > desc[desc.length - 1]);
});

// 3. a row opens its image: click, Enter, Space
pageTest(env, 'a row opens its image: click, Enter, Space', OPTS, async ({ page, check }) => {
  await open(page);
  await loadFirst(page);
  const rows = await readRows(page);
  const pick = (i) => rows[Math.min(rows.length - 1, i)].file;
  await page.locator(`#routes .route-row[data-file="${pick(4)}"]`).click();
  await page.locator(`#result[data-file="${pick(4)}"]`).waitFor({ state: 'visible', timeout: TIMEOUT });
  check('clicking a row opens that image in the result view', (await page.locator('#result').getAttribute('data-file')) === pick(4) &&
    (await page.locator(`#routes .route-row[data-file="${pick(4)}"]`).getAttribute('aria-current')) === 'true');
  check('the opened image comes into view, with the focus on the result', await page.evaluate(() => {
    const r = document.querySelector('#result').getBoundingClientRect();
    return r.top < innerHeight && r.bottom > 0 && document.activeElement?.id === 'result-h';
  }));
  await page.locator(`#routes .route-row[data-file="${pick(9)}"]`).focus();
  await page.keyboard.press('Enter');
  await page.locator(`#result[data-file="${pick(9)}"]`).waitFor({ state: 'visible', timeout: TIMEOUT });
  await page.locator(`#routes .route-row[data-file="${pick(2)}"]`).focus();
  await page.keyboard.press('Space');
  await page.locator(`#result[data-file="${pick(2)}"]`).waitFor({ state: 'visible', timeout: TIMEOUT });
  check('a focused row opens with Enter and with Space', (await page.locator('#result').getAttribute('data-file')) === pick(2));
  await ready(page);
});

// 4. the scatter: hover and keyboard show which image a point is
pageTest(env, 'the scatter: hover and arrow keys show which image a point is; Enter opens it', OPTS, async ({ page, check }) => {
  await open(page);
  await loadFirst(page);
  const rows = await readRows(page);
  const pick = (i) => rows[Math.min(rows.length - 1, i)].file;
  const pt = page.locator(`#scatter .sc-pt[data-file="${pick(7)}"]`);
  // The panels below the fold are laid out only near the viewport (content-visibility: auto): scroll
  // there and let two frames lay them out first, or the points can move under a pointer already on one.
  await page.locator('#scatter').scrollIntoViewIfNeeded();
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
  await pt.hover();
  const tip = page.locator('#scatter .chart-tip');
  check('hovering a scatter point shows which image it is', (await tip.isVisible()) && (await tip.textContent()).includes(pick(7)), await tip.textContent());
  await page.mouse.move(0, 0); // the keyboard's turn: no point left under the pointer
  await page.locator('#scatter .sc-pt[tabindex="0"]').focus();
  await page.keyboard.press('End');
  const lastFile = await page.evaluate(() => document.activeElement?.dataset.file);
  check('arrow keys move through the scatter, the tooltip follows the focus',
    Boolean(lastFile) && (await tip.isVisible()) && (await tip.textContent()).includes(lastFile), `${lastFile}`);
  await page.keyboard.press('Enter');
  await page.locator(`#result[data-file="${lastFile}"]`).waitFor({ state: 'visible', timeout: TIMEOUT });
  check('Enter on a scatter point opens its image', (await page.locator('#result').getAttribute('data-file')) === lastFile);
  await ready(page);
});

// 5. the chart: in the main column, one point per measured setting, labels apart, tooltips, click to apply
const curve = (card.evaluation?.curve ?? []).filter((p) => typeof p.macs_fraction === 'number');
pageTest(env, 'the chart: its points, labels apart, tooltips; a click or Enter applies a point and the rows re-run',
  { ...OPTS, skip: curve.length === 0 && 'the default model\'s card has no measured curve' }, async (p) => {
    const { page, check } = p;
    await open(page);
    const files = await loadFirst(page);
    const box = await page.locator('#curve').boundingBox();
    const mainBox = await page.locator('.col-main').boundingBox();
    check('the chart sits in the main column, full width', box.width >= mainBox.width - 2 && box.x >= mainBox.x - 1, `${Math.round(box.width)} px of ${Math.round(mainBox.width)}`);
    check('the chart\'s points equal the card\'s curve', Number(await page.locator('#chart').getAttribute('data-points')) === curve.length &&
      (await page.locator('#chart svg .pt:not(.pt-other)').count()) === curve.filter((p) => p.mode !== 'static').length + (card.evaluation.static_accuracy != null ? 1 : 0) &&
      (await page.locator('#chart svg .pt title').count()) === (await page.locator('#chart svg .pt').count()),
    `${curve.length} points`);
    const ov = await chartOverlaps(page);
    check('chart labels ("you are here", reference line, other models) do not overlap each other or this model\'s points',
      ov.n >= 2 && ov.out.length === 0, `${ov.n} labels; ${ov.out.join(', ')}`);
    const target = curve.filter((p) => p.mode === 'lc' && (Math.abs(p.tau_l - card.thresholds.tau_l) > 1e-4 || Math.abs(p.tau_c - card.thresholds.tau_c) > 1e-4))
      .sort((a, b) => Math.abs(a.tau_l - 0.4) - Math.abs(b.tau_l - 0.4))[0];
    const keyOf = (p) => `${p.mode}|${p.tau_l.toFixed(2)}|${p.tau_c.toFixed(2)}`;
    const ptSel = (p) => `#chart .pt-g[data-key="${keyOf(p)}"]`;
    await page.locator(ptSel(target)).hover();
    const ctip = page.locator('#chart .chart-tip');
    check('hovering a chart point shows a visible tooltip with its setting and numbers',
      (await ctip.isVisible()) && (await ctip.textContent()).includes(`τ_L ${target.tau_l.toFixed(2)}, τ_C ${target.tau_c.toFixed(2)}`) &&
        (await ctip.textContent()).includes(`${(100 * target.accuracy).toFixed(1)} %`), await ctip.textContent());
    await page.locator(ptSel(target)).click();
    const tl = Math.round(target.tau_l * 1e4) / 1e4, tc = Math.round(target.tau_c * 1e4) / 1e4;
    const during = await readRows(page);
    check('clicking a chart point sets the sliders to its thresholds',
      Number(await page.inputValue('#tau-l')) === tl && Number(await page.inputValue('#tau-c')) === tc &&
        (await page.locator('input[name="mode"]:checked').getAttribute('value')) === 'lc', `τ_L ${tl}, τ_C ${tc}`);
    const wantNew = native(model, files, ['--tau-l', String(tl), '--tau-c', String(tc)]);
    check('right after a change, rows are shown as updating, never with the old setting\'s data as current',
      during.every((r) => (r.fresh ? same(r.cells, cellsOf(wantNew.get(r.file))) : r.cells.every(([e, k]) => e === null && k === null))),
      `${during.filter((r) => !r.fresh).length} of ${during.length} updating`);
    await page.waitForFunction((s) => document.querySelector('#result')?.dataset.key?.endsWith(s), `|lc|${tl}|${tc}`, { timeout: TIMEOUT });
    await settled(page, files.length);
    await compareAll(p, `${card.name} at the clicked point (τ_L ${tl}, τ_C ${tc})`, model, files, ['--tau-l', String(tl), '--tau-c', String(tc)], info.blocks.length);
    check('the chart marks the clicked point as the current setting', /you are here/.test(await page.locator('#chart').textContent()) &&
      (await page.locator('#chart-note').textContent()).includes(`Current setting: ${(100 * target.accuracy).toFixed(1)} %`));
    // keyboard: Tab to a point, Enter applies it (here an L-Net only point, if measured, then the defaults again)
    const lpt = curve.find((p) => p.mode === 'l');
    if (lpt) {
      await page.locator(ptSel(lpt)).focus();
      check('focusing a chart point shows its tooltip', (await ctip.isVisible()) && (await ctip.textContent()).includes('L-Net only'));
      await page.keyboard.press('Enter');
      check('Enter on a focused chart point applies its mode and thresholds',
        (await page.locator('input[name="mode"]:checked').getAttribute('value')) === 'l' && Number(await page.inputValue('#tau-l')) === Math.round(lpt.tau_l * 1e4) / 1e4 &&
          (await page.evaluate(() => document.activeElement?.getAttribute('data-key'))) === keyOf(lpt));
    }
    const def = curve.find((p) => p.mode === 'lc' && Math.abs(p.tau_l - card.thresholds.tau_l) < 1e-4 && Math.abs(p.tau_c - card.thresholds.tau_c) < 1e-4);
    if (def) {
      await page.locator(ptSel(def)).focus();
      await page.keyboard.press('Enter');
      check('Enter on the defaults\' point brings the sliders back to the card\'s defaults',
        Number(await page.inputValue('#tau-l')) === card.thresholds.tau_l && Number(await page.inputValue('#tau-c')) === card.thresholds.tau_c);
    } else {
      await page.click('#reset');
    }
    await settled(page, files.length);
  });

// 6. files of one's own beside the samples: no true label, no right/wrong mark
pageTest(env, 'files of one\'s own beside the samples: equal to the CLI\'s, no true label, no right/wrong mark', OPTS, async (p) => {
  const { page } = p;
  await open(page);
  const files = await add(page, await loadFirst(page), own);
  await compareAll(p, `${card.name} + 3 files of one's own`, model, files, [], info.blocks.length);
  await page.locator('#routes').scrollIntoViewIfNeeded();
  await shot(page, 'routes-01-desktop.png');
  await part(page, '#routes', 'routes-01-grid.png');
  await part(page, '#cost', 'routes-01-cost.png');
  await part(page, '#curve', 'routes-01-chart.png');
});

// 7. the 27-block lcnet-r56 from the model list: rows marked as updating, then its routes
pageTest(env, `switching to ${r56card?.name ?? 'lcnet-r56'} from the model list: rows marked as updating, then its routes; its chart and zoom`,
  { ...OPTS, skip: !r56 && 'lcnet-r56 is not among the shipped models' }, async (p) => {
    const { page, check } = p;
    await open(page);
    const files = await add(page, await loadFirst(page), own);
    await pickModel(page, r56File, r56card.name);
    const during = await readRows(page);
    const early = native(r56, files);
    check(`switching to ${r56card.name}: rows from the previous model are shown as updating, never as its data`,
      during.length > 0 && during.every((r) => (r.fresh ? same(r.cells, cellsOf(early.get(r.file))) : r.cells.every(([e]) => e === null))),
      `${during.filter((r) => !r.fresh).length} of ${during.length} updating`);
    await settled(page, files.length);
    await compareAll(p, `${r56card.name}, ${files.length} images`, r56, files, [], r56info.blocks.length);
    const chartPts = (r56card.evaluation?.curve ?? []).filter((p) => typeof p.macs_fraction === 'number').length;
    check(`${r56card.name}: the chart shows its curve`, Number(await page.locator('#chart').getAttribute('data-points')) === chartPts, `${chartPts} points`);
    const ov = await chartOverlaps(page);
    check(`${r56card.name}: chart labels do not overlap`, ov.out.length === 0, ov.out.join(', '));
    // its LC-Net points crowd the top of the chart: zooming in spreads them
    if (await page.locator('#chart .chart-zoom').count()) {
      const spread = () => page.evaluate(() => {
        const c = [...document.querySelectorAll('#chart .pt-g[data-mode="lc"][tabindex="0"] .pt')].map((e) => e.getBoundingClientRect())
          .map((r) => [r.left + r.width / 2, r.top + r.height / 2]);
        let d = Infinity;
        c.forEach((a, i) => c.slice(i + 1).forEach((b) => { d = Math.min(d, Math.hypot(a[0] - b[0], a[1] - b[1])); }));
        return { n: c.length, d };
      });
      const before = await spread();
      await page.click('#chart .chart-zoom');
      const after = await spread();
      const ovz = await chartOverlaps(page);
      check(`${r56card.name}: zooming in on the top of the curve spreads its points apart, labels still apart`,
        (await page.locator('#chart .chart-zoom').getAttribute('aria-pressed')) === 'true' && after.n >= 3 && after.d > 1.5 * before.d && ovz.out.length === 0 &&
          /Zoomed in/.test(await page.locator('#chart-note').textContent()),
        `closest points ${before.d.toFixed(1)} px → ${after.d.toFixed(1)} px (${after.n} in view); ${ovz.out.join(', ')}`);
      await part(page, '#curve', 'routes-02-r56-chart-zoomed.png');
      await page.click('#chart .chart-zoom');
      check(`${r56card.name}: the zoom turns off again, every point back`,
        (await page.locator('#chart .chart-zoom').getAttribute('aria-pressed')) === 'false' && (await spread()).n === before.n);
    }
    await page.locator('#routes').scrollIntoViewIfNeeded();
    await part(page, '#routes', 'routes-02-r56-grid.png');
    await part(page, '#curve', 'routes-02-r56-chart.png');
  });

// 8. 100+ images: 50 rows a page, prev/next, the order holds across pages
pageTest(env, `${r56card?.name ?? 'lcnet-r56'} with 100+ images: ${PER_PAGE} rows a page, prev/next, every page equal to the CLI's`,
  { ...OPTS, skip: !r56 && 'lcnet-r56 is not among the shipped models' }, async (p) => {
    const { page, check } = p;
    await open(page);
    const files = await loadMany(page);
    const pages = Math.ceil(files.length / PER_PAGE);
    check(`${files.length} images: ${pages} pages of at most ${PER_PAGE} rows, with prev/next`,
      (await page.locator('#routes-pager').isVisible()) && Number(await page.locator('#routes-pager').getAttribute('data-pages')) === pages &&
        (await page.locator('#routes .route-row').count()) === PER_PAGE && await page.locator('#routes-prev').isDisabled());
    await page.click('#routes-next');
    const second = await readRows(page);
    check('the next page goes on where the first ended', second.length === Math.min(PER_PAGE, files.length - PER_PAGE) && second[0].rank === PER_PAGE + 1,
      await page.locator('#routes-page').textContent());
    await page.click('#routes-prev');
    await compareAll(p, `${r56card.name}, ${files.length} images over ${pages} pages`, r56, files, [], r56info.blocks.length);
    await page.locator('#routes').scrollIntoViewIfNeeded();
    await shot(page, 'routes-03-desktop-many.png');
    await part(page, '#routes', 'routes-03-many-grid.png');
    await part(page, '#cost', 'routes-03-many-cost.png');
  });

// 9. phone width: nothing wider than the screen; screenshots
pageTest(env, 'phone width: the routes, cost and chart views fit the screen; block cells stay distinguishable', OPTS, async ({ page, check }) => {
  await open(page);
  await loadMany(page);
  await page.setViewportSize({ width: 390, height: 844 });
  await page.waitForTimeout(500);
  const overflow = await noPageOverflow(page);
  check('phone width: the routes, cost and chart views fit the screen (no horizontal scrolling)', overflow[0] <= 0 && overflow.length === 1,
    `${overflow[0]}px wider ${overflow.slice(1).join(' ')}`);
  const cellW = await page.locator('#routes .route-row .route-cell').first().boundingBox();
  check('phone width: block cells stay distinguishable (≥ 6 px wide)', cellW && cellW.width >= 6, `${cellW?.width.toFixed(1)} px`);
  await part(page, '#routes', 'routes-04-phone-grid.png');
  await part(page, '#cost', 'routes-04-phone-cost.png');
  await part(page, '#curve', 'routes-04-phone-chart.png');
  await page.locator('#routes').scrollIntoViewIfNeeded();
  await page.screenshot({ path: join(artifacts, 'routes-04-phone.png') });
});
