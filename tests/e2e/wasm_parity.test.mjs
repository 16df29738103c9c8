// wasm (Node) vs native CLI: the same model and pixels must give the same logits (within 1e-5 of
// the largest logit's size, at least 1e-5 absolute: float32 rounding is relative, and jointly trained
// weights run without their gates — static mode — give logits in the hundreds), the
// same MACs and the same gate decisions, in every mode and at several thresholds.
// Model: $LCNET_MODEL or weights/ (see lib.mjs); a copy of it with seeded random gates is also
// tested, so that skipping is exercised whatever the shipped gates' training state. One test per
// model and setting (each compares every image), and one that the random gates do skip.
// Both builds of the module are compared (www/wasm-features.js): the SIMD128 one always, the relaxed-SIMD one
// where this Node validates relaxed SIMD (Node 20 behind --experimental-wasm-relaxed-simd, which tests/e2e/run.sh
// passes when Node takes it), else skipped with the reason.
// Run: node --test tests/e2e/wasm_parity.test.mjs   (needs www/pkg from scripts/build-web.sh and target/release/lcnet)
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, describe, test } from 'node:test';
import { checks, cliClassify, makeImage, need, pickModel, root, withRandomGates, writePng } from './lib.mjs';
import { F32X4_RELAXED_MADD, supports } from '../../www/wasm-features.js';

const TOL = 1e-5;
const pkg = join(root, 'www', 'pkg');
need(join(pkg, 'lcnet.js'), 'run scripts/build-web.sh first');
/** One build of the module: the glue imported afresh (its own instance; the query makes it a new module). */
async function loadBuild(name, file) {
  need(join(pkg, file), 'run scripts/build-web.sh first (it builds both modules)');
  const glue = await import(`${pathToFileURL(join(pkg, 'lcnet.js')).href}?${name}`);
  await glue.default({ module_or_path: readFileSync(join(pkg, file)) });
  return { name, Model: glue.Model };
}
const relaxed = supports(WebAssembly, F32X4_RELAXED_MADD, 3);
const builds = [await loadBuild('simd128', 'lcnet_bg.wasm')];
if (relaxed) builds.push(await loadBuild('relaxed-simd', 'lcnet_relaxed_bg.wasm'));
else test.skip('relaxed-simd build: this Node does not validate relaxed SIMD (run with --experimental-wasm-relaxed-simd)', () => {});
const { Model } = builds[0];

const tmp = mkdtempSync(join(tmpdir(), 'lcnet-parity-'));
// The figures over every test that ran, for the one summary line the README quotes.
const total = { compared: 0, maxDelta: 0, maxRel: 0 };
after(() => {
  rmSync(tmp, { recursive: true, force: true });
  console.log(`wasm_parity: ${total.compared} image×setting comparisons, max |Δlogit| wasm vs native = ${total.maxDelta.toExponential(3)}` +
    ` (relative to the largest logit ${total.maxRel.toExponential(3)}; tolerance ${TOL} relative)`);
});

// Non-square, not a multiple of 32 (crop + fractional area weights), one with transparency.
const images = [
  { w: 77, h: 53, seed: 7, alpha: false },
  { w: 40, h: 96, seed: 11, alpha: true },
  { w: 32, h: 32, seed: 3, alpha: false },
].map((s, i) => {
  const rgba = makeImage(s.w, s.h, s.seed, { alpha: s.alpha });
  return { ...s, rgba, path: writePng(join(tmp, `img${i}.png`), rgba, s.w, s.h) };
});

const shipped = pickModel();
const gated = (() => {
  const m = new Model(new Uint8Array(readFileSync(shipped)));
  const { blocks } = m.info();
  m.free();
  return withRandomGates(shipped, join(tmp, 'random-gates.safetensors'), blocks, 1);
})();

const cases = [
  { mode: 'static' },
  {},                                    // the card's defaults
  { mode: 'lc', tau_l: 0.5, tau_c: 0.5 },
  { mode: 'lc', tau_l: 0.3, tau_c: 0.6 },
  { mode: 'lc', tau_l: 0.7, tau_c: 0.4 },
  { mode: 'l', tau_l: 0.5 },
  { mode: 'c', tau_c: 0.5 },
  { mode: 'lc', tau_l: 1, tau_c: 1 },    // everything skippable is skipped
  { mode: 'lc', tau_l: -1, tau_c: -1 },  // nothing skipped: the static network plus gate cost
  { mode: 'lc', tau_l: 0.5, tau_c: 0.5, force_on: ['1.0'], force_off: ['2.1'] },
];

function cliArgs(opts) {
  const args = [];
  if (opts.mode) args.push('--mode', opts.mode);
  if (opts.tau_l !== undefined) args.push('--tau-l', String(opts.tau_l));
  if (opts.tau_c !== undefined) args.push('--tau-c', String(opts.tau_c));
  if (opts.force_on) args.push('--force-on', opts.force_on.join(','));
  if (opts.force_off) args.push('--force-off', opts.force_off.join(','));
  return args;
}

/**
 * How the wasm trace `w` (or one of its blocks) differs from the CLI's `n` in form: keys and their
 * order (the CLI's `file` aside), types, list lengths, and values (gate values and scales within 1e-4, the rest exactly;
 * elapsed_ms, logits and nested blocks are compared elsewhere). The wasm module builds the blocks in
 * JavaScript (src/wasm_trace.js), not with serde: this keeps the two objects the same.
 */
function sameShape(w, n, where) {
  const out = [];
  const keys = Object.keys(n).filter((k) => k !== 'file'); // the CLI's own: which input the trace is of
  if (Object.keys(w).join() !== keys.join()) {
    return [`${where}: keys wasm [${Object.keys(w)}] vs native [${keys}]`];
  }
  const near = (a, b, key) => (['s_l', 's_c', 'scales', 'prob', 'tau_l', 'tau_c'].includes(key) ? Math.abs(a - b) <= 1e-4 : a === b);
  for (const key of keys) {
    if (['elapsed_ms', 'logits', 'blocks', 'top'].includes(key)) continue;
    const a = w[key];
    const b = n[key];
    if (Array.isArray(b)) {
      if (!Array.isArray(a) || a.length !== b.length || a.some((v, i) => !near(v, b[i], key))) {
        out.push(`${where}: ${key} differs (wasm ${JSON.stringify(a)?.slice(0, 80)})`);
      }
    } else if (b === null || typeof b !== 'number' ? a !== b : typeof a !== 'number' || !near(a, b, key)) {
      out.push(`${where}: ${key} wasm ${JSON.stringify(a)} vs native ${JSON.stringify(b)}`);
    }
  }
  return out;
}

/** Runs `fn(model)` on a fresh wasm Model (of `build`, default the SIMD128 one) of the file at `path`, freed afterwards. */
function withModel(path, fn, build = builds[0]) {
  const model = new build.Model(new Uint8Array(readFileSync(path)));
  try {
    return fn(model);
  } finally {
    model.free();
  }
}

for (const build of builds) for (const [model_, path] of [[shipped.replace(root + '/', ''), shipped], ['random gates', gated]]) {
  const tag = `${model_} (${build.name})`;
  describe(`wasm = native: ${tag}`, () => {
    for (const opts of cases) {
      test(`${tag} ${JSON.stringify(opts)}: logits, MACs and gate decisions equal the CLI's for ${images.length} images`, (t) => {
        const failures = [];
        let maxDelta = 0;
        let maxRel = 0;
        const native = cliClassify(path, images.map((i) => i.path), cliArgs(opts));
        withModel(path, (model) => images.forEach((img, k) => {
          const where = `${tag} ${JSON.stringify(opts)} ${img.w}x${img.h}${img.alpha ? ' alpha' : ''}`;
          const w = model.classify(img.rgba, img.w, img.h, opts);
          const n = native[k];
          if (n.error) { failures.push(`${where}: native error ${n.error}`); return; }
          total.compared++;
          let d = 0;
          if (w.logits.length !== n.logits.length) failures.push(`${where}: ${w.logits.length} vs ${n.logits.length} logits`);
          w.logits.forEach((v, i) => { d = Math.max(d, Math.abs(v - n.logits[i])); });
          maxDelta = Math.max(maxDelta, d);
          const scale = Math.max(1, ...n.logits.map(Math.abs));
          maxRel = Math.max(maxRel, d / scale);
          if (!(d <= TOL * scale)) failures.push(`${where}: max |Δlogit| ${d.toExponential(2)} > ${TOL} × ${scale.toPrecision(3)}`);
          // Every key of the trace and of each block, its order and value (kept channels exactly).
          if (w.blocks.length !== n.blocks.length) { failures.push(`${where}: block count differs`); return; }
          w.blocks.forEach((b, i) => {
            const nb = n.blocks[i];
            failures.push(...sameShape(b, nb, `${where}: block ${b.stage}.${b.index}`));
          });
          failures.push(...sameShape(w, n, where));
        }), build);
        total.maxDelta = Math.max(total.maxDelta, maxDelta);
        total.maxRel = Math.max(total.maxRel, maxRel);
        t.diagnostic(`max |Δlogit| wasm vs native = ${maxDelta.toExponential(3)} (relative to the largest logit ${maxRel.toExponential(3)}; tolerance ${TOL} relative)`);
        const { check, verify } = checks((m) => t.diagnostic(m));
        for (const f of failures.slice(0, 30)) check(f, false);
        if (failures.length > 30) check(`… and ${failures.length - 30} more`, false);
        verify();
      });
    }
  });
}

// The random-gates model must actually skip something, or the comparisons above proved little.
test('random gates: the compared settings skip blocks and channels', (t) => {
  const { check, verify } = checks((m) => t.diagnostic(m));
  let skippedBlocks = 0;
  let skippedChannels = 0;
  withModel(gated, (model) => {
    for (const opts of cases) {
      for (const img of images) {
        for (const b of model.classify(img.rgba, img.w, img.h, opts).blocks) {
          if (!b.executed) skippedBlocks++;
          skippedChannels += b.executed ? b.channels_total - b.channels_kept : 0;
        }
      }
    }
  });
  check('skipping exercised', skippedBlocks > 0 && skippedChannels > 0,
    `blocks skipped ${skippedBlocks}, channels skipped ${skippedChannels}`);
  verify();
});
