//! Batch-1 direct convolution with BatchNorm folded into the weights: the engine the CLI and
//! the browser run by default.
//!
//! Weights are folded and laid out once, when the model loads (`[out][in][3·3]`, BN scale
//! multiplied in, BN shift as bias). A convolution then takes two index lists — which output
//! channels to compute and which input planes exist — so a kept subset of `k` channels costs
//! exactly `k/C` of the full convolution: there is no per-call repacking, no im2col and no
//! weight slicing. The candle path in [`super::sliced`] stays as the reference it is tested
//! against.

use super::{decide, Decision, Options};
use crate::error::Result;
use crate::exec::sliced::{ExecutedMacs, SlicedOutput};
use crate::model::{Affine, Network};

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

/// Copies `planes` (`n` planes of `hw × hw`) into a zero border of one pixel.
fn pad(planes: &[f32], n: usize, hw: usize, out: &mut Vec<f32>) {
    let p = hw + 2;
    out.clear();
    out.resize(n * p * p, 0.0);
    for c in 0..n {
        for y in 0..hw {
            let src = &planes[(c * hw + y) * hw..(c * hw + y + 1) * hw];
            let dst = (c * p + y + 1) * p + 1;
            out[dst..dst + hw].copy_from_slice(src);
        }
    }
}

/// Output channels computed together: each input pixel loaded once feeds this many outputs.
const GROUP: usize = 4;

/// `acc_q[t] += w[q] · src[t]` for the `GROUP` accumulators of one output-channel group.
/// The loop is flat and contiguous so that the compiler vectorises it.
#[inline(always)]
fn axpy4(acc: &mut [f32], stride: usize, w: [f32; GROUP], src: &[f32]) {
    let len = src.len();
    let (a0, rest) = acc.split_at_mut(stride);
    let (a1, rest) = rest.split_at_mut(stride);
    let (a2, a3) = rest.split_at_mut(stride);
    let (a0, a1, a2, a3) = (
        &mut a0[..len],
        &mut a1[..len],
        &mut a2[..len],
        &mut a3[..len],
    );
    for t in 0..len {
        let v = src[t];
        a0[t] += w[0] * v;
        a1[t] += w[1] * v;
        a2[t] += w[2] * v;
        a3[t] += w[3] * v;
    }
}

/// Stride-1 accumulation of one group over all listed input planes. Outputs are computed on
/// the padded row pitch (`hw + 2` columns, the last two discarded later), which turns each
/// (input channel, kernel tap) pair into one long contiguous multiply-add.
#[inline(always)]
fn accumulate_s1(
    conv: &FoldedConv,
    padded: &[f32],
    hw: usize,
    in_idx: &[usize],
    group: &[usize],
    acc: &mut [f32],
) {
    let p = hw + 2;
    let len = hw * p - 2;
    for (j, &i) in in_idx.iter().enumerate() {
        let plane = &padded[j * p * p..(j + 1) * p * p];
        for k in 0..9 {
            let mut w = [0f32; GROUP];
            for (q, &o) in group.iter().enumerate() {
                w[q] = conv.weight[(o * conv.in_ch + i) * 9 + k];
            }
            let off = (k / 3) * p + k % 3;
            axpy4(acc, hw * p, w, &plane[off..off + len]);
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn accumulate_s1_avx2(
    conv: &FoldedConv,
    padded: &[f32],
    hw: usize,
    in_idx: &[usize],
    group: &[usize],
    acc: &mut [f32],
) {
    accumulate_s1(conv, padded, hw, in_idx, group, acc)
}

fn accumulate_s1_best(
    conv: &FoldedConv,
    padded: &[f32],
    hw: usize,
    in_idx: &[usize],
    group: &[usize],
    acc: &mut [f32],
) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU supports AVX2, checked just above.
        return unsafe { accumulate_s1_avx2(conv, padded, hw, in_idx, group, acc) };
    }
    accumulate_s1(conv, padded, hw, in_idx, group, acc)
}

/// Direct 3×3 convolution. `input` holds `in_idx.len()` planes of `hw × hw`, plane `j` being
/// input channel `in_idx[j]`; the output holds one `ohw × ohw` plane per entry of `out_idx`
/// (bias included). Cost: `out_idx.len() · in_idx.len() · 9 · ohw²` MACs, nothing for the
/// channels not listed.
pub fn conv3x3(
    conv: &FoldedConv,
    input: &[f32],
    hw: usize,
    in_idx: &[usize],
    out_idx: &[usize],
    padded: &mut Vec<f32>,
    out: &mut Vec<f32>,
) -> u64 {
    let s = conv.stride;
    let ohw = hw / s;
    let n = ohw * ohw;
    let p = hw + 2;
    pad(input, in_idx.len(), hw, padded);
    out.clear();
    out.resize(out_idx.len() * n, 0.0);
    let mut acc = vec![0f32; GROUP * hw * p];
    for (g, group) in out_idx.chunks(GROUP).enumerate() {
        let block = &mut out[g * GROUP * n..(g * GROUP + group.len()) * n];
        if s == 1 {
            acc.fill(0.0);
            accumulate_s1_best(conv, padded, hw, in_idx, group, &mut acc);
            for (q, &o) in group.iter().enumerate() {
                let a = &acc[q * hw * p..(q + 1) * hw * p];
                for y in 0..hw {
                    for x in 0..hw {
                        block[q * n + y * hw + x] = a[y * p + x] + conv.bias[o];
                    }
                }
            }
            continue;
        }
        for (q, &o) in group.iter().enumerate() {
            block[q * n..(q + 1) * n].fill(conv.bias[o]);
        }
        for (j, &i) in in_idx.iter().enumerate() {
            let plane = &padded[j * p * p..(j + 1) * p * p];
            for k in 0..9 {
                let (ky, kx) = (k / 3, k % 3);
                for (q, &o) in group.iter().enumerate() {
                    let wq = conv.weight[(o * conv.in_ch + i) * 9 + k];
                    let acc = &mut block[q * n..(q + 1) * n];
                    for y in 0..ohw {
                        let base = (y * s + ky) * p + kx;
                        for x in 0..ohw {
                            acc[y * ohw + x] += wq * plane[base + x * s];
                        }
                    }
                }
            }
        }
    }
    (out_idx.len() * in_idx.len() * 9 * n) as u64
}

/// Reusable buffers for one forward pass.
#[derive(Default)]
struct Scratch {
    padded: Vec<f32>,
    h: Vec<f32>,
    r: Vec<f32>,
}

/// Runs one normalised image (`[3·32·32]`) on the fast path.
pub fn forward(
    net: &Network,
    folded: &FoldedNet,
    input: &[f32],
    opts: &Options,
) -> Result<SlicedOutput> {
    opts.validate()?;
    let size = net.card.input.size;
    let mut macs = ExecutedMacs::default();
    let mut sc = Scratch::default();
    let all = |c: usize| (0..c).collect::<Vec<usize>>();
    let mut x = Vec::new();
    macs.compute += conv3x3(
        &folded.stem,
        input,
        size,
        &all(3),
        &all(folded.stem.out_ch),
        &mut sc.padded,
        &mut x,
    );
    x.iter_mut().for_each(|v| *v = v.max(0.0));
    let mut hw = size;
    let mut decisions = Vec::with_capacity(net.blocks.len());
    for (block, fb) in net.blocks.iter().zip(&folded.blocks) {
        let n_in = hw * hw;
        let p: Vec<f32> = if super::needs_pool(block, opts) {
            x.chunks_exact(n_in)
                .map(|c| c.iter().sum::<f32>() / n_in as f32)
                .collect()
        } else {
            Vec::new()
        };
        let d: Decision = decide(block, &p, opts);
        if d.s_l.is_some() {
            macs.gates += block.in_ch as u64;
        }
        if d.s_c.is_some() {
            macs.gates += (block.in_ch * block.out_ch) as u64;
        }
        let ohw = block.out_hw;
        let n_out = ohw * ohw;
        // Option-A shortcut into a fresh output buffer.
        let mut y = vec![0f32; block.out_ch * n_out];
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
        if d.executed {
            let l = d.s_l.unwrap_or(1.0);
            let k = d.kept.len();
            if k == 0 {
                // conv2 sees only zeros: BN2 leaves its shift.
                for (c, plane) in y.chunks_exact_mut(n_out).enumerate() {
                    let add = l * fb.conv2.bias[c];
                    plane.iter_mut().for_each(|v| *v = (*v + add).max(0.0));
                }
            } else {
                let in_all = all(block.in_ch);
                macs.compute += conv3x3(
                    &fb.conv1,
                    &x,
                    hw,
                    &in_all,
                    &d.kept,
                    &mut sc.padded,
                    &mut sc.h,
                );
                for (j, plane) in sc.h.chunks_exact_mut(n_out).enumerate() {
                    let scale = d.s_c.as_ref().map_or(1.0, |s| s[d.kept[j]]);
                    plane.iter_mut().for_each(|v| *v = v.max(0.0) * scale);
                }
                let out_all = all(block.out_ch);
                macs.compute += conv3x3(
                    &fb.conv2,
                    &sc.h,
                    ohw,
                    &d.kept,
                    &out_all,
                    &mut sc.padded,
                    &mut sc.r,
                );
                for (yv, rv) in y.iter_mut().zip(&sc.r) {
                    *yv = (*yv + l * rv).max(0.0);
                }
            }
        }
        x = y;
        hw = ohw;
        decisions.push(d);
    }
    let n = hw * hw;
    let pooled: Vec<f32> = x
        .chunks_exact(n)
        .map(|c| c.iter().sum::<f32>() / n as f32)
        .collect();
    let c = pooled.len();
    let logits: Vec<f32> = folded
        .linear_b
        .iter()
        .enumerate()
        .map(|(o, b)| {
            b + folded.linear_w[o * c..(o + 1) * c]
                .iter()
                .zip(&pooled)
                .map(|(w, p)| w * p)
                .sum::<f32>()
        })
        .collect();
    macs.compute += folded.linear_w.len() as u64;
    Ok(SlicedOutput {
        logits,
        decisions,
        executed: macs,
    })
}
