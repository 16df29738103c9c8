// Unit tests of www/model-list.js (models/index.json read into the picker's list, and its labels), under Node's
// own test runner: `node --test tests/unit/`.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { modelLabel, modelList } from '../../www/model-list.js';

test('modelList puts the default first and keeps the others in order', () => {
  const index = { default: 'b.safetensors', models: [{ file: 'a.safetensors', size: 1 }, { file: 'b.safetensors', size: 2 }, { file: 'c.safetensors', size: 3 }] };
  const { models, def } = modelList(index);
  assert.equal(def, 'b.safetensors');
  assert.deepEqual(models.map((m) => m.file), ['b.safetensors', 'a.safetensors', 'c.safetensors']);
});

test('modelList falls back to the first model, and skips entries without a file name', () => {
  const { models, def } = modelList({ default: 'gone.safetensors', models: [{ size: 4 }, { file: 'x.safetensors' }, { file: 'y.safetensors' }] });
  assert.equal(def, 'x.safetensors');
  assert.deepEqual(models.map((m) => m.file), ['x.safetensors', 'y.safetensors']);
});

test('modelList refuses an index without a model', () => {
  assert.throws(() => modelList({}), /No model to load/);
  assert.throws(() => modelList({ models: [{ size: 1 }] }), /No model to load/);
});

test('modelLabel: the name, with accuracy and MACs at the defaults once the card is known', () => {
  assert.equal(modelLabel('r20.safetensors', undefined), 'r20');
  const card = {
    thresholds: { tau_l: 0.3, tau_c: 0.3 },
    evaluation: { curve: [{ mode: 'lc', tau_l: 0.30000001192092896, tau_c: 0.3, accuracy: 0.9012, macs_fraction: 0.456 }] },
  };
  assert.equal(modelLabel('r20.safetensors', card), 'r20 · 90.1 %, 46 % MACs');
  assert.equal(modelLabel('r20.safetensors', { ...card, evaluation: null }), 'r20', 'no measured curve: the name only');
});
