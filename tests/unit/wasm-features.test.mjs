// Unit tests of www/wasm-features.js (which wasm build a browser runs), under Node's own test runner.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { F32X4_ADD, F32X4_RELAXED_MADD, simdProbe, supports, wasmFile } from '../../www/wasm-features.js';

test('the SIMD128 probe is a valid module that adds two vectors (every engine that runs the demo has SIMD128)', async () => {
  assert.equal(WebAssembly.validate(simdProbe(F32X4_ADD, 2)), true);
  await WebAssembly.compile(simdProbe(F32X4_ADD, 2)); // compiles, not only validates
});

test('a probe with the wrong operand count or an unknown opcode does not validate', () => {
  assert.equal(supports(WebAssembly, F32X4_ADD, 1), false);
  assert.equal(supports(WebAssembly, 0x7ff, 2), false);
});

test('the relaxed build is chosen exactly when relaxed_madd validates, and never when simd128 is asked for', () => {
  const yes = { validate: () => true };
  const no = { validate: () => false };
  const throws = { validate: () => { throw new Error('no'); } };
  assert.deepEqual(wasmFile(yes), { file: 'lcnet_relaxed_bg.wasm', simd: 'relaxed-simd' });
  assert.deepEqual(wasmFile(yes, 'simd128'), { file: 'lcnet_bg.wasm', simd: 'simd128' });
  assert.deepEqual(wasmFile(no), { file: 'lcnet_bg.wasm', simd: 'simd128' });
  assert.deepEqual(wasmFile(throws), { file: 'lcnet_bg.wasm', simd: 'simd128' });
  assert.deepEqual(wasmFile(undefined), { file: 'lcnet_bg.wasm', simd: 'simd128' });
  // The probe the choice rests on is the relaxed multiply-add itself, three operands.
  let seen = null;
  wasmFile({ validate: (b) => { seen = b; return true; } });
  assert.deepEqual(seen, simdProbe(F32X4_RELAXED_MADD, 3));
});

test('this Node validates relaxed_madd exactly when its V8 has relaxed SIMD on', () => {
  const flag = process.execArgv.includes('--experimental-wasm-relaxed-simd');
  const v8 = Number(process.versions.v8.split('.').slice(0, 2).join('.'));
  // V8 ships relaxed SIMD from 11.4 (Chrome 114); older ones only behind the flag.
  if (flag || v8 >= 11.4) assert.equal(supports(WebAssembly, F32X4_RELAXED_MADD, 3), true);
  else assert.equal(supports(WebAssembly, F32X4_RELAXED_MADD, 3), false);
});
