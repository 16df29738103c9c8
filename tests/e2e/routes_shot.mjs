// The README's picture of the routes view (www/assets/routes.png): 24 pictures drawn here (the sample
// gallery's CIFAR-10 images are not ours to publish), each run through a shipped model at its
// defaults; the shot is the routes grid. Run after scripts/build-web.sh and cargo build --release:
//   node tests/e2e/routes_shot.mjs [OUT.png] [--model lcnet-r20-perimage.safetensors]
import { join } from 'node:path';
import { mkdirSync } from 'node:fs';
import { chromium } from 'playwright-core';
import { ARGS, CHROMIUM, artifacts, drawPlane, makeImage, openDemo, root, startServer, writePng } from './lib.mjs';

const N = 24;
const out = process.argv.find((a) => a.endsWith('.png')) ?? join(root, 'www', 'assets', 'routes.png');
const modelArg = process.argv.indexOf('--model');
const model = modelArg > 0 ? process.argv[modelArg + 1] : null;
const dir = join(artifacts, 'inputs', 'routes-shot');
mkdirSync(dir, { recursive: true });
// Drawn scenes of several sizes: discs over gradients, and aeroplanes.
const files = Array.from({ length: N }, (_, i) => {
  const [w, h] = [[96, 96], [128, 80], [80, 120]][i % 3];
  const px = i % 4 === 3 ? drawPlane(w, h) : makeImage(w, h, 300 + i);
  return writePng(join(dir, `drawn-${String(i + 1).padStart(2, '0')}.png`), px, w, h);
});
const { proc, base } = await startServer();
const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS });
try {
  const page = await openDemo(browser, base, { viewport: { width: 1366, height: 1000 }, model });
  await page.setInputFiles('#file', files);
  await page.waitForFunction((n) => {
    const r = document.querySelector('#routes');
    return r && !r.hidden && r.dataset.rows === String(n) && r.dataset.complete === 'true';
  }, N, { timeout: 120000 });
  await page.locator('#routes').screenshot({ path: out });
  const summary = await page.locator('#routes p').first().textContent();
  console.log(`routes_shot: ${out}: ${summary.trim()}`);
} finally {
  await browser.close();
  proc.kill();
}
