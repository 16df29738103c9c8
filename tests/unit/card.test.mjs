// Unit tests of www/card.js (what the page reads out of a model card), under Node's own test runner:
// `node --test tests/unit/`. The cards are made here, in the shape src/model/card.rs validates.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  defaultPoint, evaluationOf, gatesSummary, jointlyTrained, runnable, staticReferenceOf, staticSide, trainedAsOneNetwork,
  trainerAccuracy,
} from '../../www/card.js';

const point = (mode, tau, accuracy, macs_fraction, rate = 0.5) => ({
  mode, tau_l: tau, tau_c: tau, accuracy, macs_fraction, macs_mean: 0, macs_std: 0, macs_gates_mean: 0,
  block_exec_rate: [1, rate, 1], channel_density: [1, 1, 1],
});

/** A trained LC-Net card; `over` replaces top-level keys. */
function card(over = {}) {
  return {
    name: 'test-model',
    gates: { l_net: true, c_net: true, trained: true },
    thresholds: { tau_l: 0.3, tau_c: 0.3 },
    provenance: { config: { freeze_backbone: false }, phases: [{ phase: 'backbone', final: { acc_static: 0.8776 } }] },
    evaluation: {
      dataset: 'CIFAR-10 (JPEG copy) test split', n: 10000, static_accuracy: 0.1, measured_by: 'lcnet eval --sweep',
      curve: [point('static', 0, 0.1, 1, 1), point('lc', 0.2, 0.85, 0.6), point('lc', 0.30000001192092896, 0.84, 0.45)],
    },
    ...over,
  };
}

test('a static model has no gates to describe', () => {
  const s = gatesSummary(card({ gates: null }));
  assert.equal(s.kind, 'static');
  assert.match(s.note, /every block and every channel runs/);
});

test('untrained gates say so, with the value they start near', () => {
  const s = gatesSummary(card({ gates: { l_net: true, c_net: false, trained: false }, provenance: { config: { gate_init_bias: 0.95 } } }));
  assert.equal(s.kind, 'untrained');
  assert.equal(s.short, 'L-Net (blocks), UNTRAINED');
  assert.match(s.note, /near 0\.95/);
});

test('jointly trained weights compare with the backbone they started from', () => {
  const j = jointlyTrained(card());
  assert.equal(j.backboneAccuracy, 0.8776);
  assert.match(j.note, /scored 87\.8 %/);
  assert.equal(jointlyTrained(card({ provenance: { config: { freeze_backbone: true } } })), null);
  assert.equal(jointlyTrained(card({ gates: { l_net: true, c_net: true, trained: false } })), null);
});

test('a named static reference replaces the backbone, with its measured accuracy', () => {
  const c = card({ static_reference: 'r20-backbone.safetensors' });
  assert.deepEqual(staticReferenceOf(c), { file: 'r20-backbone.safetensors', name: 'r20-backbone', accuracy: null });
  c.evaluation.static_reference = { file: 'r20-backbone.safetensors', name: 'backbone', accuracy: 0.8776 };
  assert.deepEqual(staticReferenceOf(c), { file: 'r20-backbone.safetensors', name: 'backbone', accuracy: 0.8776 });
  assert.equal(jointlyTrained(c).backboneLabel, 'static reference backbone');
  assert.equal(staticReferenceOf(card()), null);
});

test('the static side runs the reference when loaded, and says why not when it failed', () => {
  const c = card({ static_reference: 'r.safetensors' });
  assert.match(staticSide(c, { name: 'r', file: 'r.safetensors' }).kind, /static reference: r, every block and channel/);
  const failed = staticSide(c, { file: 'r.safetensors', error: 'not found' });
  assert.equal(failed.kind, '(every block and channel)');
  assert.match(failed.note, /could not be loaded \(not found\).*out of calibration/);
  assert.equal(staticSide(card({ provenance: {} }), null).note, null);
});

test('sandwich-trained weights are one network; without the full pass they are not', () => {
  const one = card({ provenance: { config: { sandwich: true, sw_full: 1, freeze_backbone: false } } });
  assert.ok(trainedAsOneNetwork(one));
  assert.equal(jointlyTrained(one), null);
  assert.match(gatesSummary(one).note, /One network for the whole range/);
  const gatedOnly = card({ provenance: { config: { sandwich: true, sw_full: 0, freeze_backbone: false } } });
  assert.ok(!trainedAsOneNetwork(gatedOnly));
  assert.notEqual(jointlyTrained(gatedOnly), null);
});

test('the default point is the LC point at the card thresholds, f32 rounding allowed', () => {
  assert.equal(defaultPoint(card()).accuracy, 0.84);
  assert.equal(defaultPoint(card({ thresholds: { tau_l: 0.25, tau_c: 0.25 } })), null);
  assert.equal(defaultPoint(card({ evaluation: null })), null);
  assert.equal(evaluationOf(card({ evaluation: null })), null);
  assert.equal(evaluationOf(card()).staticAccuracy, 0.1);
});

test('a curve where no block was ever skipped is called out', () => {
  const c = card();
  for (const p of c.evaluation.curve) p.block_exec_rate = [1, 1, 1];
  assert.match(gatesSummary(c).note, /every block ran for every test image/);
  assert.doesNotMatch(gatesSummary(card()).note, /every block ran for every test image/);
});

test('a point runs only where the model has the gates its mode needs', () => {
  const lOnly = card({ gates: { l_net: true, c_net: false, trained: true } });
  assert.ok(runnable(lOnly, 'l') && runnable(lOnly, 'static'));
  assert.ok(!runnable(lOnly, 'c') && !runnable(lOnly, 'lc'));
  assert.ok(runnable(card(), 'lc'));
});

test('the trainer accuracy is read when recorded', () => {
  assert.equal(trainerAccuracy(card({ provenance: { pytorch_test_eval: { acc_static: 0.87 } } })), 0.87);
  assert.equal(trainerAccuracy(card()), null);
});
