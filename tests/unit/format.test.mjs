// www/format.js: the integer formatting every view uses writes what toLocaleString('en-US') writes, without it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fmtInt } from '../../www/format.js';

test('fmtInt writes integers as en-US does', () => {
  const values = [0, 1, -1, 999, 1000, -1000, 40551040, 125485696, 2 ** 53 - 1, -(2 ** 53 - 1), '4718592'];
  let seed = 7;
  for (let i = 0; i < 2000; i++) {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    values.push((seed % 2 ? -1 : 1) * Math.floor(seed * 4.7e5));
  }
  for (const v of values) assert.equal(fmtInt(v), Number(v).toLocaleString('en-US'), String(v));
});

test('fmtInt leaves other numbers to toLocaleString', () => {
  for (const v of [1234.5678, 0.5, NaN, Infinity, 1e20]) assert.equal(fmtInt(v), v.toLocaleString('en-US'));
});
