// The README's screenshot (www/assets/demo.png): the page with the shipped default model at its
// default thresholds, on a picture drawn here, a block that ran part of its channels focused. The sample
// gallery is kept out (its CIFAR-10 images are not ours to publish): only the result panel is taken. Run after scripts/build-web.sh and cargo build --release:
//   node tests/e2e/demo_shot.mjs [OUT.png] [--model lcnet-r56.safetensors]   (another shipped model, from the picker)
import { join } from 'node:path';
import { mkdirSync } from 'node:fs';
import { chromium } from 'playwright-core';
import { ARGS, CHROMIUM, artifacts, root, startServer, writePng } from './lib.mjs';

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

const out = process.argv.find((a) => a.endsWith('.png')) ?? join(root, 'www', 'assets', 'demo.png');
const modelArg = process.argv.indexOf('--model');
const model = modelArg > 0 ? process.argv[modelArg + 1] : null;
mkdirSync(join(artifacts, 'inputs'), { recursive: true });
const img = writePng(join(artifacts, 'inputs', 'drawn-plane.png'), drawPlane(256, 256), 256, 256);
const { proc, base } = await startServer();
const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS });
try {
  const page = await browser.newPage({ viewport: { width: 1366, height: 1060 } });
  await page.route('**/gallery/index.json', (r) => r.fulfill({ json: { images: [] } }));
  await page.goto(`${base}/`);
  await page.locator('#status[data-state="ready"]').waitFor({ timeout: 60000 });
  if (model) {
    await page.selectOption('#model-select', model);
    await page.waitForFunction((n) => document.querySelector('#status-text')?.textContent.includes(`Ready: ${n} `), model.replace(/\.safetensors$/, ''), { timeout: 60000 });
  }
  await page.setInputFiles('#file', img);
  await page.locator('#result[data-file="drawn-plane.png"]').waitFor({ state: 'visible', timeout: 60000 });
  await page.locator('#timing[data-state="done"]').waitFor({ timeout: 60000 });
  // a block that ran some of its channels: its detail shows what the C-Net kept
  const partial = await page.evaluate(() => [...document.querySelectorAll('#blocks .blk.run')].findIndex((t) => {
    const [k, n] = (t.querySelector('.blk-state')?.textContent ?? '').split('/').map(Number);
    return k < n;
  }));
  if (partial >= 0) await page.locator('#blocks .blk.run').nth(partial).focus();
  await page.locator('#result').screenshot({ path: out });
  console.log(`demo_shot: ${out}: ${(await page.locator('#status-text').textContent()).trim()}`);
} finally {
  await browser.close();
  proc.kill();
}
