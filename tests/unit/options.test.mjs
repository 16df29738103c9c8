// Unit tests of www/options.js (the run options the controls edit), under Node's own test runner:
// `node --test tests/unit/`.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { defaultOptions, pickedOptions, roundTau, usesTau } from '../../www/options.js';

test('roundTau drops the noise of an f32 threshold read as f64', () => {
  assert.equal(roundTau(0.30000001192092896), 0.3);
  assert.equal(roundTau(0.12345), 0.1235);   // four decimals, what a slider step can show
  assert.equal(roundTau(0), 0);
});

test('defaultOptions: the library defaults, thresholds rounded', () => {
  const info = { defaults: { mode: 'lc', tau_l: 0.30000001192092896, tau_c: 0.25, top_k: 5 } };
  assert.deepEqual(defaultOptions(info), { mode: 'lc', tau_l: 0.3, tau_c: 0.25 });
});

test('pickedOptions: a point sets mode and thresholds; a static point keeps the thresholds', () => {
  const was = { mode: 'lc', tau_l: 0.3, tau_c: 0.3 };
  assert.deepEqual(pickedOptions({ mode: 'l', tau_l: 0.45000001788139343, tau_c: 0.2 }, was), { mode: 'l', tau_l: 0.45, tau_c: 0.2 });
  assert.deepEqual(pickedOptions({ mode: 'static' }, was), { mode: 'static', tau_l: 0.3, tau_c: 0.3 });
  assert.deepEqual(was, { mode: 'lc', tau_l: 0.3, tau_c: 0.3 }, 'the old options are left as they were');
});

test('usesTau: which slider a mode reads', () => {
  assert.ok(usesTau('l', 'l') && usesTau('lc', 'l') && !usesTau('c', 'l') && !usesTau('static', 'l'));
  assert.ok(usesTau('c', 'c') && usesTau('lc', 'c') && !usesTau('l', 'c') && !usesTau('static', 'c'));
});
