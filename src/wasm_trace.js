// The JavaScript half of `Model.classify`'s hand-over (src/wasm.rs, `trace_to_js`): wasm-bindgen
// copies this module into www/pkg/snippets/ and the glue imports it. Built here, a trace's blocks
// cost one call across the boundary instead of one or more per number (serde: ≈ 0.13 ms a pass
// for ResNet-56, 3–4 % of its dynamic pass); the object is the one serde would make, key for key.

// Per block, NUMS_PER_BLOCK numbers in this order; the layout `trace_to_js` writes.
const NUMS_PER_BLOCK = 13;

/**
 * Completes `head` (a trace serialised without its logits and blocks) from the numbers `nums`
 * (per block: stage, index, executed, s_l, channels_total, channels_kept, macs, macs_gates,
 * macs_static, out_hw, forced (-1 unset, 0 off, 1 on), has s_c, has s_l) and the lists `lists`
 * (per block: kept, scales, s_c when present; then the logits). Both are views of wasm memory:
 * everything is copied out before returning.
 */
export function completeTrace(head, nums, lists) {
  let at = 0;
  const take = (n) => {
    const out = new Array(n);
    for (let j = 0; j < n; j++) out[j] = lists[at + j];
    at += n;
    return out;
  };
  const blocks = new Array(nums.length / NUMS_PER_BLOCK);
  for (let k = 0; k < blocks.length; k++) {
    const i = k * NUMS_PER_BLOCK;
    const total = nums[i + 4];
    const kept = nums[i + 5];
    const block = {
      stage: nums[i],
      index: nums[i + 1],
      executed: nums[i + 2] === 1,
      s_l: nums[i + 12] === 1 ? nums[i + 3] : null,
      channels_total: total,
      channels_kept: kept,
      kept: take(kept),
      scales: take(kept),
      s_c: nums[i + 11] === 1 ? take(total) : null,
      macs: nums[i + 6],
      macs_gates: nums[i + 7],
      macs_static: nums[i + 8],
      out_hw: nums[i + 9],
    };
    if (nums[i + 10] !== -1) block.forced = nums[i + 10] === 1;
    blocks[k] = block;
  }
  head.logits = take(lists.length - at);
  head.blocks = blocks;
}
