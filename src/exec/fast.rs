//! Batch-1 direct convolution with BatchNorm folded into the weights: the engine the CLI and
//! the browser run by default.
//!
//! Weights are folded and laid out once, when the model loads (`[out][in][3·3]`, BN scale
//! multiplied in, BN shift as bias). A convolution then takes two index lists — which output
//! channels to compute and which input planes exist — so a kept subset of `k` channels costs
//! exactly `k/C` of the full convolution: there is no per-call repacking, no im2col and no
//! weight slicing. The multiply-adds run in [`super::kernel`] (register-tiled, SIMD128 in the
//! browser, AVX2 + FMA natively); this module lays out the input for it (padding, polyphase
//! split for stride 2). The candle path in [`super::sliced`] stays as the reference it is
//! tested against.

use super::kernel::{self, Geometry};
use super::{decide, Decision, ExecutedMacs, ImageOutput, Options};
use serde::Serialize;
use web_time::Instant;

use crate::error::Result;
use crate::model::{sum, Affine, Block, Network};

/// A 3×3 convolution (padding 1) with its BatchNorm folded in.
#[derive(Debug, Clone, Default)]
pub struct FoldedConv {
    /// Output channels.
    pub out_ch: usize,
    /// Input channels.
    pub in_ch: usize,
    /// 1 or 2.
    pub stride: usize,
    /// `[out][in][9]`, scaled by the BN scale of each output channel.
    pub weight: Vec<f32>,
    /// BN shift per output channel.
    pub bias: Vec<f32>,
}

impl FoldedConv {
    fn new(w: &candle_core::Tensor, bn: &Affine, stride: usize) -> Result<Self> {
        let (out_ch, in_ch, _, _) = w.dims4()?;
        let mut weight = w.flatten_all()?.to_vec1::<f32>()?;
        let scale = bn.scale.to_vec1::<f32>()?;
        for (o, s) in scale.iter().enumerate() {
            for v in &mut weight[o * in_ch * 9..(o + 1) * in_ch * 9] {
                *v *= s;
            }
        }
        Ok(Self {
            out_ch,
            in_ch,
            stride,
            weight,
            bias: bn.shift.to_vec1::<f32>()?,
        })
    }
}

/// A block's folded convolutions.
#[derive(Debug, Clone)]
pub struct FoldedBlock {
    /// conv1 + BN1.
    pub conv1: FoldedConv,
    /// conv2 + BN2.
    pub conv2: FoldedConv,
}

/// The whole network, folded for the fast path.
#[derive(Debug, Clone, Default)]
pub struct FoldedNet {
    /// Stem conv + BN.
    pub stem: FoldedConv,
    /// Per block.
    pub blocks: Vec<FoldedBlock>,
    /// Classifier `[classes][C]`.
    pub linear_w: Vec<f32>,
    /// Classifier bias.
    pub linear_b: Vec<f32>,
}

impl FoldedNet {
    /// Folds and packs `net`'s weights.
    pub fn new(net: &Network) -> Result<Self> {
        Ok(Self {
            stem: FoldedConv::new(&net.stem, &net.stem_bn, 1)?,
            blocks: net
                .blocks
                .iter()
                .map(|b| {
                    Ok(FoldedBlock {
                        conv1: FoldedConv::new(&b.conv1, &b.bn1, b.stride)?,
                        conv2: FoldedConv::new(&b.conv2, &b.bn2, 1)?,
                    })
                })
                .collect::<Result<_>>()?,
            linear_w: net.linear_w.flatten_all()?.to_vec1::<f32>()?,
            linear_b: net.linear_b.to_vec1::<f32>()?,
        })
    }
}

/// Copies `planes` (`n` planes of `hw × hw`) into the first `n` planes of `out`, each inside
/// a zero border of one pixel. `out` holds planes of this one size only: only their insides are
/// ever written, so the borders stay zero from the first use and are not cleared again (a pass
/// pads the whole input of every block it runs, however few channels the block keeps).
fn pad(planes: &[f32], n: usize, hw: usize, out: &mut Vec<f32>) {
    let p = hw + 2;
    if out.len() < n * p * p {
        out.resize(n * p * p, 0.0);
    }
    for (c, plane) in planes.chunks_exact(hw * hw).take(n).enumerate() {
        for (y, src) in plane.chunks_exact(hw).enumerate() {
            let dst = (c * p + y + 1) * p + 1;
            out[dst..dst + hw].copy_from_slice(src);
        }
    }
}

/// Writes the first `n` planes of `planes` (`hw × hw`, `hw` even) as the 4 polyphase components
/// of their zero-padded form (`p = hw + 2`; even/odd rows × even/odd columns, each `p/2 × p/2`,
/// component `2·(Y mod 2) + X mod 2` holding padded pixel `(Y, X)` at `(Y/2, X/2)`), so that a
/// stride-2 convolution reads each component with unit stride. One pass from the unpadded
/// planes, a row at a time: input row `y` is padded row `y + 1`, its even pixels go to the
/// odd-column component and its odd pixels to the even-column one, shifted by one. As in [`pad`],
/// `out` holds planes of one size only and the border positions are never written, so they stay
/// zero from the first use.
fn pad_polyphase(planes: &[f32], n: usize, hw: usize, out: &mut Vec<f32>) {
    let q = (hw + 2) / 2;
    let qq = q * q;
    let half = hw / 2;
    if out.len() < n * 4 * qq {
        out.resize(n * 4 * qq, 0.0);
    }
    for (c, plane) in planes.chunks_exact(hw * hw).take(n).enumerate() {
        for (y, src) in plane.chunks_exact(hw).enumerate() {
            let yy = y + 1;
            // component (yy mod 2, 0) at row yy/2; component (yy mod 2, 1) is qq further on
            let even_col = c * 4 * qq + (yy % 2) * 2 * qq + (yy / 2) * q;
            let (lo, hi) = out.split_at_mut(even_col + qq);
            let to_even = &mut lo[even_col + 1..even_col + 1 + half];
            let to_odd = &mut hi[..half];
            for ((pair, e), o) in src.chunks_exact(2).zip(to_even).zip(to_odd) {
                *o = pair[0];
                *e = pair[1];
            }
        }
    }
}

/// Direct 3×3 convolution, padding 1, stride 1 or 2. `input` holds `in_idx.len()` planes of
/// `hw × hw`, plane `j` being input channel `in_idx[j]`; the output holds one `ohw × ohw`
/// plane per entry of `out_idx` (bias included). Cost: `out_idx.len() · in_idx.len() · 9 ·
/// ohw²` MACs; the channels not listed cost nothing.
pub fn conv3x3(
    conv: &FoldedConv,
    input: &[f32],
    hw: usize,
    in_idx: &[usize],
    out_idx: &[usize],
    buf: &mut Buffers,
    out: &mut Vec<f32>,
) -> u64 {
    let s = conv.stride;
    let ohw = hw / s;
    let n = ohw * ohw;
    let p = hw + 2;
    let (planes, geo): (&[f32], _) = if s == 1 {
        let padded = planes_for(&mut buf.padded, hw);
        pad(input, in_idx.len(), hw, padded);
        let geo = Geometry {
            ohw,
            pitch: p,
            chan_len: p * p,
            taps: std::array::from_fn(|k| (k / 3) * p + k % 3),
        };
        (padded, geo)
    } else {
        // Stride 2 reads each polyphase component with unit stride: tap (ky, kx) of output
        // pixel (y, x) is component (ky mod 2, kx mod 2) at (y + ky/2, x + kx/2).
        let phases = planes_for(&mut buf.phases, hw);
        pad_polyphase(input, in_idx.len(), hw, phases);
        let q = p / 2;
        let geo = Geometry {
            ohw,
            pitch: q,
            chan_len: 4 * q * q,
            taps: std::array::from_fn(|k| {
                let (ky, kx) = (k / 3, k % 3);
                ((ky % 2) * 2 + kx % 2) * q * q + (ky / 2) * q + kx / 2
            }),
        };
        (phases, geo)
    };
    // No clearing: the kernel writes every output value, so only growth needs filling.
    out.resize(out_idx.len() * n, 0.0);
    kernel::conv(
        &conv.weight,
        &conv.bias,
        conv.in_ch,
        planes,
        geo,
        in_idx,
        out_idx,
        out,
    );
    (out_idx.len() * in_idx.len() * 9 * n) as u64
}

/// Scratch memory for the convolutions, reused across calls.
#[derive(Default)]
pub struct Buffers {
    /// Padded input planes, one buffer per input side (see [`pad`]).
    padded: Vec<(usize, Vec<f32>)>,
    /// Their polyphase components for stride 2, one buffer per input side (see [`pad_polyphase`]).
    phases: Vec<(usize, Vec<f32>)>,
}

/// The buffer for inputs of side `hw` among `buffers` ([`Buffers::padded`] or
/// [`Buffers::phases`]): each keeps planes of one size, whose zero borders are never rewritten.
fn planes_for(buffers: &mut Vec<(usize, Vec<f32>)>, hw: usize) -> &mut Vec<f32> {
    let i = match buffers.iter().position(|(side, _)| *side == hw) {
        Some(i) => i,
        None => {
            buffers.push((hw, Vec::new()));
            buffers.len() - 1
        }
    };
    &mut buffers[i].1
}

/// Buffers for a whole forward pass, kept per thread and reused from one image to the next, so
/// that after the first image a pass allocates nothing but its small outputs (decisions, logits).
#[derive(Default)]
struct Scratch {
    conv: Buffers,
    /// The block input and output activations (swapped after each block).
    x: Vec<f32>,
    y: Vec<f32>,
    h: Vec<f32>,
    r: Vec<f32>,
    /// Pooled block input, read by the gates.
    pooled: Vec<f32>,
    /// `0, 1, 2, …`: the "every channel" index list.
    all: Vec<usize>,
}

thread_local! {
    static SCRATCH: std::cell::RefCell<Scratch> = std::cell::RefCell::new(Scratch::default());
}

/// Runs one normalised image (`[3·32·32]`) on the fast path.
pub fn forward(
    net: &Network,
    folded: &FoldedNet,
    input: &[f32],
    opts: &Options,
) -> Result<ImageOutput> {
    run(net, folded, input, opts, &mut Clock::default()).map(|(out, _)| out)
}

/// [`forward`], timing each part of the pass: where the time goes when the gates skip work
/// (`lcnet bench --json`). The clock reads cost little next to a pass natively; in a browser the
/// clock is too coarse for per-block figures.
pub fn forward_timed(
    net: &Network,
    folded: &FoldedNet,
    input: &[f32],
    opts: &Options,
) -> Result<(ImageOutput, TimeSplit)> {
    let mut clock = Clock {
        last: Some(Instant::now()),
        ..Clock::default()
    };
    run(net, folded, input, opts, &mut clock)
}

fn run(
    net: &Network,
    folded: &FoldedNet,
    input: &[f32],
    opts: &Options,
    clock: &mut Clock,
) -> Result<(ImageOutput, TimeSplit)> {
    opts.validate()?;
    SCRATCH.with(|cell| match cell.try_borrow_mut() {
        Ok(mut sc) => forward_with(net, folded, input, opts, &mut sc, clock),
        // Re-entered on the same thread (cannot happen today): use fresh buffers.
        Err(_) => forward_with(net, folded, input, opts, &mut Scratch::default(), clock),
    })
}

/// Milliseconds one block spent in each part of its work.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct BlockTime {
    /// Global average pooling of the block input, for the gates.
    pub pool: f64,
    /// The L-Net and C-Net gates (and the decision).
    pub gates: f64,
    /// The shortcut: copying (or subsampling) the input into the output.
    pub shortcut: f64,
    /// conv1 for the kept channels.
    pub conv1: f64,
    /// conv2 over the kept channels.
    pub conv2: f64,
    /// ReLU and C-Net scaling after conv1; L-Net scaling, residual add and ReLU after conv2.
    pub epilogue: f64,
}

impl BlockTime {
    /// The sum of the parts.
    pub fn total(&self) -> f64 {
        self.pool + self.gates + self.shortcut + self.conv1 + self.conv2 + self.epilogue
    }
}

/// Where one fast-path pass spent its time, in milliseconds.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct TimeSplit {
    /// The stem convolution and its ReLU.
    pub stem: f64,
    /// Per block, in execution order.
    pub blocks: Vec<BlockTime>,
    /// The final pooling and the classifier.
    pub head: f64,
}

/// A stopwatch read between the parts of a pass, and the current block's times. `last` is `None`
/// when the pass is not timed: then no clock is read.
#[derive(Default)]
struct Clock {
    last: Option<Instant>,
    block: BlockTime,
}

impl Clock {
    /// Milliseconds since the previous lap (0 when not timing).
    fn lap(&mut self) -> f64 {
        match &mut self.last {
            Some(t) => {
                let now = Instant::now();
                let ms = now.duration_since(*t).as_secs_f64() * 1e3;
                *t = now;
                ms
            }
            None => 0.0,
        }
    }
}

/// `max(v, 0)` as a compare and select. `f32::max` must return the other operand for a NaN,
/// which wasm's vector max does not do, so in wasm it stayed scalar: the ReLU passes took a sixth
/// of a static pass in Chromium. This form vectorises everywhere (a NaN becomes 0, as with `max`).
#[inline(always)]
fn relu(v: f32) -> f32 {
    if v > 0.0 {
        v
    } else {
        0.0
    }
}

/// Global average pool of `c` planes of `n` values into `out`.
fn pool_into(x: &[f32], n: usize, out: &mut Vec<f32>) {
    out.clear();
    // A single running sum here took 8 % of a dynamic R56 pass: see `sum`.
    out.extend(x.chunks_exact(n).map(|c| sum(c) / n as f32));
}

fn forward_with(
    net: &Network,
    folded: &FoldedNet,
    input: &[f32],
    opts: &Options,
    sc: &mut Scratch,
    clock: &mut Clock,
) -> Result<(ImageOutput, TimeSplit)> {
    let size = net.card.input.size;
    let mut split = TimeSplit::default();
    clock.lap();
    let mut macs = ExecutedMacs::default();
    let widest = folded
        .blocks
        .iter()
        .map(|b| b.conv1.in_ch.max(b.conv2.out_ch))
        .chain([3, folded.stem.out_ch])
        .max()
        .unwrap_or(0);
    if sc.all.len() < widest {
        sc.all = (0..widest).collect();
    }
    // Taken out of the scratch so that the helpers can borrow the rest of it mutably.
    let all = std::mem::take(&mut sc.all);
    let mut x = std::mem::take(&mut sc.x);
    let mut y = std::mem::take(&mut sc.y);
    let stem = &folded.stem;
    macs.compute += conv3x3(
        stem,
        input,
        size,
        &all[..3],
        &all[..stem.out_ch],
        &mut sc.conv,
        &mut x,
    );
    x.iter_mut().for_each(|v| *v = relu(*v));
    split.stem = clock.lap();
    let mut hw = size;
    let mut decisions = Vec::with_capacity(net.blocks.len());
    // Whether `sc.pooled` is the pool of `x`: a skipped identity block leaves `x`, and so its
    // pool, as they were, and the next block's gates read the same pool.
    let mut pooled_x = false;
    for (block, fb) in net.blocks.iter().zip(&folded.blocks) {
        clock.block = BlockTime::default();
        if super::needs_pool(block, opts) && !pooled_x {
            pool_into(&x, hw * hw, &mut sc.pooled);
            pooled_x = true;
        }
        clock.block.pool = clock.lap();
        let d: Decision = decide(block, &sc.pooled, opts);
        macs.gates += d.gate_macs;
        clock.block.gates = clock.lap();
        // Where the shortcut changes shape (stride 2, more channels) it is written into `y` first;
        // where it is the identity, a skipped block leaves `x` as it is (it costs its pooling and
        // gates only) and a run block adds `x` in its last step: no copy either way.
        let identity = block.stride == 1 && block.in_ch == block.out_ch;
        if !identity {
            shortcut(block, &x, hw, &mut y);
        } else if d.executed && y.len() != x.len() {
            // every value is written by `residual`: no need to clear it
            y.resize(x.len(), 0.0);
        }
        clock.block.shortcut = clock.lap();
        if d.executed {
            let base = identity.then_some(&x[..]);
            macs.compute += residual(block, fb, &d, &x, hw, &all, sc, &mut y, base, clock);
        }
        if d.executed || !identity {
            std::mem::swap(&mut x, &mut y);
            pooled_x = false;
        }
        hw = block.out_hw;
        decisions.push(d);
        if clock.last.is_some() {
            split.blocks.push(clock.block);
        }
    }
    if !pooled_x {
        pool_into(&x, hw * hw, &mut sc.pooled);
    }
    let logits = linear(folded, &sc.pooled);
    macs.compute += folded.linear_w.len() as u64;
    split.head = clock.lap();
    sc.x = x;
    sc.y = y;
    sc.all = all;
    let out = ImageOutput {
        logits,
        decisions,
        executed: macs,
    };
    Ok((out, split))
}

/// Writes the option-A shortcut of `x` (`in_ch` planes of `hw × hw`) into `y`: subsampled for
/// stride 2, the added channels zero on both sides. A skipped block costs this and its gate.
fn shortcut(block: &Block, x: &[f32], hw: usize, y: &mut Vec<f32>) {
    let ohw = block.out_hw;
    let n_in = hw * hw;
    let n_out = ohw * ohw;
    y.clear();
    y.resize(block.out_ch * n_out, 0.0);
    let pad_lo = (block.out_ch - block.in_ch) / 2;
    for c in 0..block.in_ch {
        let dst = &mut y[(c + pad_lo) * n_out..(c + pad_lo + 1) * n_out];
        let src = &x[c * n_in..(c + 1) * n_in];
        if block.stride == 1 {
            dst.copy_from_slice(src);
        } else {
            for yy in 0..ohw {
                for xx in 0..ohw {
                    dst[yy * ohw + xx] = src[(yy * 2) * hw + xx * 2];
                }
            }
        }
    }
}

/// Writes an executed block's output into `y`: the shortcut (`base`, or `y` itself when `base` is
/// `None`) plus the residual branch, then the block's ReLU. The branch is conv1 for the kept
/// channels only, scaled by their C-Net values, and conv2 over those channels, scaled by the L-Net
/// value. Returns the MACs computed.
#[allow(clippy::too_many_arguments)]
fn residual(
    block: &Block,
    fb: &FoldedBlock,
    d: &Decision,
    x: &[f32],
    hw: usize,
    all: &[usize],
    sc: &mut Scratch,
    y: &mut [f32],
    base: Option<&[f32]>,
    clock: &mut Clock,
) -> u64 {
    let n_out = block.out_hw * block.out_hw;
    let l = d.s_l.unwrap_or(1.0);
    if d.kept.is_empty() {
        // conv2 sees only zeros: BN2 leaves its shift.
        for (c, plane) in y.chunks_exact_mut(n_out).enumerate() {
            let add = l * fb.conv2.bias[c];
            match base {
                Some(b) => {
                    let src = &b[c * n_out..(c + 1) * n_out];
                    for (v, s) in plane.iter_mut().zip(src) {
                        *v = relu(s + add);
                    }
                }
                None => plane.iter_mut().for_each(|v| *v = relu(*v + add)),
            }
        }
        clock.block.epilogue += clock.lap();
        return 0;
    }
    let mut macs = conv3x3(
        &fb.conv1,
        x,
        hw,
        &all[..block.in_ch],
        &d.kept,
        &mut sc.conv,
        &mut sc.h,
    );
    clock.block.conv1 = clock.lap();
    for (j, plane) in sc.h.chunks_exact_mut(n_out).enumerate() {
        let scale = d.s_c.as_ref().map_or(1.0, |s| s[d.kept[j]]);
        plane.iter_mut().for_each(|v| *v = relu(*v) * scale);
    }
    clock.block.epilogue += clock.lap();
    macs += conv3x3(
        &fb.conv2,
        &sc.h,
        block.out_hw,
        &d.kept,
        &all[..block.out_ch],
        &mut sc.conv,
        &mut sc.r,
    );
    clock.block.conv2 = clock.lap();
    match base {
        Some(b) => {
            for ((yv, rv), bv) in y.iter_mut().zip(&sc.r).zip(b) {
                *yv = relu(bv + l * rv);
            }
        }
        None => {
            for (yv, rv) in y.iter_mut().zip(&sc.r) {
                *yv = relu(*yv + l * rv);
            }
        }
    }
    clock.block.epilogue += clock.lap();
    macs
}

/// The classifier on the pooled features.
fn linear(folded: &FoldedNet, pooled: &[f32]) -> Vec<f32> {
    let c = pooled.len();
    folded
        .linear_b
        .iter()
        .enumerate()
        .map(|(o, b)| {
            b + folded.linear_w[o * c..(o + 1) * c]
                .iter()
                .zip(pooled)
                .map(|(w, p)| w * p)
                .sum::<f32>()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pads each plane, then splits it into its polyphase components one pixel at a time: the
    /// definition [`pad_polyphase`] computes in one pass.
    fn reference(planes: &[f32], n: usize, hw: usize) -> Vec<f32> {
        let p = hw + 2;
        let q = p / 2;
        let mut out = vec![0.0; n * 4 * q * q];
        for c in 0..n {
            for yy in 0..p {
                for xx in 0..p {
                    let v = if (1..=hw).contains(&yy) && (1..=hw).contains(&xx) {
                        planes[(c * hw + yy - 1) * hw + xx - 1]
                    } else {
                        0.0
                    };
                    let phase = (yy % 2) * 2 + xx % 2;
                    out[c * 4 * q * q + phase * q * q + (yy / 2) * q + xx / 2] = v;
                }
            }
        }
        out
    }

    #[test]
    fn pad_polyphase_equals_padding_then_splitting_and_keeps_borders_zero() {
        for hw in [2, 4, 16, 32] {
            let n = 5;
            let planes: Vec<f32> = (0..n * hw * hw).map(|i| 1.0 + i as f32).collect();
            let mut out = Vec::new();
            pad_polyphase(&planes, n, hw, &mut out);
            assert_eq!(out, reference(&planes, n, hw), "hw {hw}");
            // reused for fewer planes with other values: the borders are still zero
            let other: Vec<f32> = planes.iter().map(|v| -v).collect();
            pad_polyphase(&other, 3, hw, &mut out);
            let q = (hw + 2) / 2;
            assert_eq!(
                out[..3 * 4 * q * q],
                reference(&other, 3, hw)[..],
                "hw {hw}, reused"
            );
        }
    }
}
