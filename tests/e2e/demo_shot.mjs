// The README's screenshot (www/assets/demo.png): the page with the shipped default model at its
// default thresholds, on a picture drawn here, a block that ran part of its channels focused. The sample
// gallery is kept out (its CIFAR-10 images are not ours to publish): only the result panel is taken. Run after scripts/build-web.sh and cargo build --release:
//   node tests/e2e/demo_shot.mjs [OUT.png] [--model lcnet-r56.safetensors]   (another shipped model, from the picker)
import { join } from 'node:path';
import { mkdirSync } from 'node:fs';
import { chromium } from 'playwright-core';
import { ARGS, CHROMIUM, artifacts, drawPlane, openDemo, root, startServer, writePng } from './lib.mjs';

const out = process.argv.find((a) => a.endsWith('.png')) ?? join(root, 'www', 'assets', 'demo.png');
const modelArg = process.argv.indexOf('--model');
const model = modelArg > 0 ? process.argv[modelArg + 1] : null;
mkdirSync(join(artifacts, 'inputs'), { recursive: true });
const img = writePng(join(artifacts, 'inputs', 'drawn-plane.png'), drawPlane(256, 256), 256, 256);
const { proc, base } = await startServer();
const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS });
try {
  const page = await openDemo(browser, base, { viewport: { width: 1366, height: 1060 }, model });
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
