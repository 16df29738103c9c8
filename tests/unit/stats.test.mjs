// Unit tests of www/stats.js (the median of the timing samples), under Node's own test runner: `node --test tests/unit/`.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { median } from '../../www/stats.js';

test('median of an odd count is the middle value, of an even count the mean of the middle two', () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.equal(median([7]), 7);
});

test('median sorts numerically and leaves its input as it was', () => {
  const xs = [10, 9, 100, 2, 1, 3, 5];
  assert.equal(median(xs), 5);
  assert.deepEqual(xs, [10, 9, 100, 2, 1, 3, 5]);
});
