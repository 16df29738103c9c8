// Unit tests of www/state.js (the page's shared state and the keys that tell fresh traces from stale ones), under
// Node's own test runner: `node --test tests/unit/`. Each test sets the fields it reads on the one state object.
import assert from 'node:assert/strict';
import { beforeEach, test } from 'node:test';

import {
  clearForce, current, currentFraction, forceKey, hasForce, hasReference, isFresh, optsKey, otherModels, state, timingKey,
} from '../../www/state.js';

beforeEach(() => {
  state.modelGen = 3;
  state.opts = { mode: 'lc', tau_l: 0.3, tau_c: 0.25 };
  state.images = [];
  state.currentId = null;
  state.reference = null;
  clearForce();
});

/** An image whose traces were made under the current model and settings. */
const fresh = (id, macs = 50, macs_static = 200) =>
  ({ id, dyn: { key: optsKey(), trace: { macs, macs_static } }, stat: { gen: state.modelGen } });

test('optsKey names the model generation, the mode and both thresholds', () => {
  assert.equal(optsKey(), '3|lc|0.3|0.25');
  state.opts = { ...state.opts, tau_c: 0.4 };
  assert.equal(optsKey(), '3|lc|0.3|0.4');
});

test('isFresh: both traces must belong to the current model, the dynamic one also to the settings', () => {
  const img = fresh(1);
  assert.ok(isFresh(img));
  state.opts = { ...state.opts, tau_l: 0.5 };
  assert.ok(!isFresh(img), 'another threshold');
  state.opts = { ...state.opts, tau_l: 0.3 };
  assert.ok(isFresh(img));
  state.modelGen++;
  assert.ok(!isFresh(img), 'another model');
  assert.ok(!isFresh({ id: 2, dyn: null, stat: null }), 'not run yet');
});

test('current and currentFraction follow currentId and the freshness of its trace', () => {
  state.images = [fresh(1), fresh(2, 30, 120)];
  assert.equal(current(), null);
  assert.equal(currentFraction(), null);
  state.currentId = 2;
  assert.equal(current().id, 2);
  assert.equal(currentFraction(), 0.25);
  state.opts = { ...state.opts, mode: 'l' };
  assert.equal(currentFraction(), null, 'a trace of another setting gives no fraction');
  state.currentId = 9;
  assert.equal(current(), null);
});

test('timingKey: the image under the current model and settings', () => {
  assert.equal(timingKey({ id: 7 }), '7|3|lc|0.3|0.25');
});

test('hasReference only once a static reference loaded (an error leaves it out)', () => {
  assert.ok(!hasReference());
  state.reference = { file: 'r.safetensors', error: 'missing' };
  assert.ok(!hasReference());
  state.reference = { file: 'r.safetensors', name: 'resnet-static' };
  assert.ok(hasReference());
});

test('forced blocks: key is order-independent, clearForce empties both sets', () => {
  assert.ok(!hasForce());
  assert.equal(forceKey(), '|');
  state.force.on.add('2.1').add('1.0');
  state.force.off.add('3.2');
  assert.ok(hasForce());
  assert.equal(forceKey(), '1.0,2.1|3.2');
  clearForce();
  assert.ok(!hasForce());
});

test('otherModels: the other loaded cards of the same depth, by card name', () => {
  state.info = { card: { name: 'a', arch: { depth: 20 } } };
  state.modelKey = 'a.safetensors';
  state.cards = new Map([
    ['a.safetensors', { name: 'a', arch: { depth: 20 } }],
    ['b.safetensors', { name: 'b', arch: { depth: 20 } }],
    ['c.safetensors', { name: 'c', arch: { depth: 56 } }],
    ['d.safetensors', { arch: { depth: 20 } }],
  ]);
  assert.deepEqual(otherModels().map((o) => o.name), ['b', 'd.safetensors']);
  assert.equal(otherModels()[0].card, state.cards.get('b.safetensors'));
});
