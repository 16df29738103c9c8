// Which build of the wasm module this browser can run. Pure (no DOM): the worker and the browser
// benchmark pick with it, and tests/unit/ checks it under Node.
//
// Two builds ship in www/pkg/ with one JS glue: `lcnet_bg.wasm` (SIMD128: a multiply, then an add)
// and `lcnet_relaxed_bg.wasm` (SIMD128 + relaxed SIMD: f32x4.relaxed_madd, which the browser runs
// as a fused multiply-add where the CPU has one). The convolutions are bound by those multiply-adds,
// so the relaxed build is the faster one wherever it validates.

/** The bytes of a module with one function `() -> v128` that pushes `operands` zero vectors and
 *  applies the SIMD instruction `opcode` (its number after the 0xfd prefix) to them. */
export function simdProbe(opcode, operands) {
  const leb = [];
  for (let v = opcode; ; v >>>= 7) {
    if (v < 0x80) { leb.push(v); break; }
    leb.push((v & 0x7f) | 0x80);
  }
  const zero = [0xfd, 0x0c, ...new Array(16).fill(0)]; // v128.const 0
  const body = [0x00, ...Array.from({ length: operands }, () => zero).flat(), 0xfd, ...leb, 0x0b];
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version 1
    0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7b,       // type section: () -> v128
    0x03, 0x02, 0x01, 0x00,                         // function section: one function of type 0
    0x0a, body.length + 2, 0x01, body.length, ...body, // code section: its body
  ]);
}

/** f32x4.add (SIMD128) and f32x4.relaxed_madd (relaxed SIMD). */
export const F32X4_ADD = 0xe4;
export const F32X4_RELAXED_MADD = 0x105;

/** Whether `wasm` (the WebAssembly namespace) validates a module using `opcode` on `operands` vectors. */
export function supports(wasm, opcode, operands) {
  try {
    return Boolean(wasm?.validate(simdProbe(opcode, operands)));
  } catch {
    return false;
  }
}

/** The module file (in www/pkg/) to run: the relaxed-SIMD build where `wasm` validates relaxed SIMD
 *  and `want` is not "simd128", else the SIMD128 one. */
export function wasmFile(wasm = globalThis.WebAssembly, want = 'auto') {
  const relaxed = want !== 'simd128' && supports(wasm, F32X4_RELAXED_MADD, 3);
  return { file: relaxed ? 'lcnet_relaxed_bg.wasm' : 'lcnet_bg.wasm', simd: relaxed ? 'relaxed-simd' : 'simd128' };
}
