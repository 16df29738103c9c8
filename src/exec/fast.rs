//! Batch-1 direct convolution with BatchNorm folded into the weights: the engine the CLI and
//! the browser run by default.
//!
//! Weights are folded and laid out once, when the model loads (`[out][in][3·3]`, BN scale
//! multiplied in, BN shift as bias). A convolution then takes two index lists — which output
//! channels to compute and which input planes exist — so a kept subset of `k` channels costs
//! exactly `k/C` of the full convolution: there is no per-call repacking, no im2col and no
//! weight slicing. The multiply-adds run in [`super::kernel`] (register-tiled, SIMD128 in the
//! browser, AVX2 + FMA natively).
//!
//! What does not shrink with the kept channels is kept out of the pass: activations live in
//! zero-bordered planes, so a stride-1 convolution reads its input in place (stride 2 reads a
//! polyphase split, made here); the ReLUs, the C-Net and L-Net scalings and the residual add
//! happen as the kernel stores each tile, and so does the sum of each output plane that the next
//! block's gates pool. A skipped identity block costs its gates only. The candle path in
//! [`super::sliced`] stays as the reference it is tested against.

use super::kernel::{self, Dest, Epilogue, Geometry, OutLayout, SUM_LANES};
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
/// ever written, so the borders stay zero from the first use and are not cleared again. Only the
/// network's input needs this: activations are kept padded (see [`Planes`]).
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

/// Writes the first `n` planes of `planes` (`hw × hw` pixels, `hw` even, laid out as `from`
/// says) as the 4 polyphase components of their zero-padded form (`p = hw + 2`; even/odd rows
/// × even/odd columns, each `p/2 × p/2`, component `2·(Y mod 2) + X mod 2` holding padded pixel
/// `(Y, X)` at `(Y/2, X/2)`), so that a stride-2 convolution reads each component with unit
/// stride. One pass, a row at a time: input row `y` is padded row `y + 1`, its even pixels go to
/// the odd-column component and its odd pixels to the even-column one, shifted by one. As in
/// [`pad`], `out` holds planes of one size only and the border positions are never written, so
/// they stay zero from the first use.
fn pad_polyphase(planes: &[f32], from: OutLayout, n: usize, hw: usize, out: &mut Vec<f32>) {
    let q = (hw + 2) / 2;
    let qq = q * q;
    let half = hw / 2;
    if out.len() < n * 4 * qq {
        out.resize(n * 4 * qq, 0.0);
    }
    for c in 0..n {
        for y in 0..hw {
            let at = from.at(c, y, 0);
            let src = &planes[at..at + hw];
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

/// Direct 3×3 convolution, padding 1, stride 1 or 2, on dense planes. `input` holds
/// `in_idx.len()` planes of `hw × hw`, plane `j` being input channel `in_idx[j]`; the output
/// holds one `ohw × ohw` plane per entry of `out_idx` (bias included). Cost: `out_idx.len() ·
/// in_idx.len() · 9 · ohw²` MACs; the channels not listed cost nothing.
pub fn conv3x3(
    conv: &FoldedConv,
    input: &[f32],
    hw: usize,
    in_idx: &[usize],
    out_idx: &[usize],
    buf: &mut Buffers,
    out: &mut Vec<f32>,
) -> u64 {
    let ohw = hw / conv.stride;
    // No clearing: the kernel writes every output value, so only growth needs filling.
    out.resize(out_idx.len() * ohw * ohw, 0.0);
    let to = Dest {
        data: out,
        layout: OutLayout::dense(ohw),
        epilogue: Epilogue::Bias,
        sums: None,
    };
    conv_dense(conv, input, hw, in_idx, out_idx, buf, to)
}

/// [`conv_from`] for dense input planes (the network's input, or a test's): padded into `buf`
/// first for stride 1, read as they are for stride 2.
fn conv_dense(
    conv: &FoldedConv,
    input: &[f32],
    hw: usize,
    in_idx: &[usize],
    out_idx: &[usize],
    buf: &mut Buffers,
    to: Dest,
) -> u64 {
    if conv.stride != 1 {
        return conv_from(
            conv,
            input,
            OutLayout::dense(hw),
            hw,
            in_idx,
            out_idx,
            buf,
            to,
        );
    }
    // The padded copy is taken out of `buf` for the call, which needs `buf` for stride 2 only.
    let mut padded = std::mem::take(planes_for(&mut buf.padded, hw));
    pad(input, in_idx.len(), hw, &mut padded);
    let from = OutLayout::padded(hw);
    let macs = conv_from(conv, &padded, from, hw, in_idx, out_idx, buf, to);
    *planes_for(&mut buf.padded, hw) = padded;
    macs
}

/// [`conv3x3`] for input planes laid out as `from` (a stride-1 convolution reads them in
/// place, so they must be padded), into `to`. Returns the MACs computed.
#[allow(clippy::too_many_arguments)]
fn conv_from(
    conv: &FoldedConv,
    input: &[f32],
    from: OutLayout,
    hw: usize,
    in_idx: &[usize],
    out_idx: &[usize],
    buf: &mut Buffers,
    to: Dest,
) -> u64 {
    let s = conv.stride;
    let ohw = hw / s;
    let p = hw + 2;
    let (planes, geo): (&[f32], _) = if s == 1 {
        debug_assert_eq!(from, OutLayout::padded(hw), "stride 1 reads padded planes");
        let geo = Geometry {
            ohw,
            pitch: p,
            chan_len: p * p,
            taps: std::array::from_fn(|k| (k / 3) * p + k % 3),
        };
        (input, geo)
    } else {
        // Stride 2 reads each polyphase component with unit stride: tap (ky, kx) of output
        // pixel (y, x) is component (ky mod 2, kx mod 2) at (y + ky/2, x + kx/2).
        let phases = planes_for(&mut buf.phases, hw);
        pad_polyphase(input, from, in_idx.len(), hw, phases);
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
    kernel::conv(
        &conv.weight,
        &conv.bias,
        conv.in_ch,
        planes,
        geo,
        in_idx,
        out_idx,
        to,
    );
    (out_idx.len() * in_idx.len() * 9 * ohw * ohw) as u64
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

/// Activation planes of side `hw`, each inside a zero border of one pixel
/// ([`OutLayout::padded`]), so that a stride-1 convolution reads them in place: a block's input
/// is not copied before its conv1, nor conv1's output before conv2. A buffer holds planes of its
/// one side for good and only their insides are ever written, so the borders stay zero without
/// being cleared.
struct Planes {
    hw: usize,
    data: Vec<f32>,
}

impl Planes {
    fn layout(&self) -> OutLayout {
        OutLayout::padded(self.hw)
    }

    /// The inside of row `y` of plane `c`.
    fn row(&self, c: usize, y: usize) -> std::ops::Range<usize> {
        let at = self.layout().at(c, y, 0);
        at..at + self.hw
    }
}

/// Buffers for a whole forward pass, kept per thread and reused from one image to the next, so
/// that after the first image a pass allocates nothing but its small outputs (decisions, logits).
#[derive(Default)]
struct Scratch {
    conv: Buffers,
    /// Activation buffers not in use (block inputs and outputs, conv1 outputs), of every side
    /// met so far.
    spare: Vec<Planes>,
    /// Pooled block input, read by the gates.
    pooled: Vec<f32>,
    /// The C-Net values of the kept channels, in `kept` order.
    scales: Vec<f32>,
    /// Per channel, [`SUM_LANES`] partial sums of the last convolution's output (see
    /// [`Dest::sums`]).
    sums: Vec<f32>,
    /// `0, 1, 2, …`: the "every channel" index list.
    all: Vec<usize>,
}

impl Scratch {
    /// A buffer for at least `n` planes of side `hw`: a spare one of that side if there is one
    /// (its borders are still zero), else a new one.
    fn take(&mut self, hw: usize, n: usize) -> Planes {
        let mut planes = match self.spare.iter().position(|p| p.hw == hw) {
            Some(i) => self.spare.swap_remove(i),
            None => Planes {
                hw,
                data: Vec::new(),
            },
        };
        let len = n * (hw + 2) * (hw + 2);
        if planes.data.len() < len {
            planes.data.resize(len, 0.0);
        }
        planes
    }

    fn give(&mut self, planes: Planes) {
        self.spare.push(planes);
    }
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
    /// conv1 for the kept channels, with its ReLU and C-Net scaling.
    pub conv1: f64,
    /// conv2 over the kept channels, with the L-Net scaling, the residual add, the ReLU and the
    /// sums the next pooling reads.
    pub conv2: f64,
    /// A block run with no channel kept: its BN shift, scaled, added to the shortcut (the
    /// epilogues of a block that convolves are part of its convolutions).
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

/// Global average pool of the first `c` planes of `x` into `out`. The borders are zero, so each
/// padded plane is summed whole.
fn pool_into(x: &Planes, c: usize, out: &mut Vec<f32>) {
    let n = (x.hw * x.hw) as f32;
    out.clear();
    // A single running sum here took 8 % of a dynamic R56 pass: see `sum`.
    out.extend(
        x.data
            .chunks_exact(x.layout().plane)
            .take(c)
            .map(|p| sum(p) / n),
    );
}

/// The pool of `c` planes of `n` pixels from their partial sums ([`Scratch::sums`]).
fn pool_sums(sums: &[f32], c: usize, n: usize, out: &mut Vec<f32>) {
    out.clear();
    out.extend(
        sums.chunks_exact(SUM_LANES)
            .take(c)
            .map(|s| s.iter().sum::<f32>() / n as f32),
    );
}

/// What `Scratch::pooled` holds with respect to the current block input `x`.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Pool {
    /// Nothing about `x`.
    Stale,
    /// Not yet, but `Scratch::sums` holds the partial sums of `x` (summed as it was written).
    Sums,
    /// The pool of `x`.
    Done,
}

/// Fills `sc.pooled` with the pool of `x` (`c` planes) unless it holds it already.
fn ensure_pool(state: &mut Pool, x: &Planes, c: usize, sc: &mut Scratch) {
    match *state {
        Pool::Done => return,
        Pool::Sums => pool_sums(&sc.sums, c, x.hw * x.hw, &mut sc.pooled),
        Pool::Stale => pool_into(x, c, &mut sc.pooled),
    }
    *state = Pool::Done;
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
    let stem = &folded.stem;
    let mut x = sc.take(size, stem.out_ch);
    let to = Dest {
        data: &mut x.data,
        layout: OutLayout::padded(size),
        epilogue: Epilogue::ReluScale(None),
        sums: Some(zeroed(&mut sc.sums, stem.out_ch * SUM_LANES)),
    };
    let (ins, outs) = (&all[..3], &all[..stem.out_ch]);
    macs.compute += conv_dense(stem, input, size, ins, outs, &mut sc.conv, to);
    split.stem = clock.lap();
    let mut hw = size;
    let mut channels = stem.out_ch;
    let mut decisions = Vec::with_capacity(net.blocks.len());
    // A skipped identity block leaves `x`, and so its pool, as they were: the next block's gates
    // read the same pool.
    let mut pool = Pool::Sums;
    for (block, fb) in net.blocks.iter().zip(&folded.blocks) {
        clock.block = BlockTime::default();
        if super::needs_pool(block, opts) {
            ensure_pool(&mut pool, &x, block.in_ch, sc);
        }
        clock.block.pool = clock.lap();
        let d: Decision = decide(block, &sc.pooled, opts);
        macs.gates += d.gate_macs;
        clock.block.gates = clock.lap();
        // Where the shortcut changes shape (stride 2, more channels) it is written into the
        // output first; where it is the identity, a skipped block leaves `x` as it is (it costs
        // its pooling and gates only) and a run block adds `x` in its last step: no copy either
        // way.
        let identity = block.stride == 1 && block.in_ch == block.out_ch;
        let out = if !identity {
            let mut y = sc.take(block.out_hw, block.out_ch);
            shortcut(block, &x, &mut y);
            Some(y)
        } else {
            d.executed.then(|| sc.take(hw, block.out_ch))
        };
        clock.block.shortcut = clock.lap();
        if let Some(mut y) = out {
            pool = Pool::Stale;
            if d.executed {
                let (m, summed) = residual(block, fb, &d, &x, &all, sc, &mut y, identity, clock);
                macs.compute += m;
                if summed {
                    pool = Pool::Sums;
                }
            }
            sc.give(std::mem::replace(&mut x, y));
        }
        hw = block.out_hw;
        channels = block.out_ch;
        decisions.push(d);
        if clock.last.is_some() {
            split.blocks.push(clock.block);
        }
    }
    ensure_pool(&mut pool, &x, channels, sc);
    let logits = linear(folded, &sc.pooled);
    macs.compute += folded.linear_w.len() as u64;
    split.head = clock.lap();
    debug_assert_eq!(x.hw, hw);
    sc.give(x);
    sc.all = all;
    let out = ImageOutput {
        logits,
        decisions,
        executed: macs,
    };
    Ok((out, split))
}

/// Writes the option-A shortcut of `x` (`in_ch` planes) into `y`: subsampled for stride 2, the
/// added channels zero on both sides. A skipped block costs this and its gate.
fn shortcut(block: &Block, x: &Planes, y: &mut Planes) {
    let pad_lo = (block.out_ch - block.in_ch) / 2;
    let plane = y.layout().plane;
    for c in 0..block.out_ch {
        let Some(src) = c.checked_sub(pad_lo).filter(|&i| i < block.in_ch) else {
            // the border is zero already: clearing the whole plane is the simplest
            y.data[c * plane..(c + 1) * plane].fill(0.0);
            continue;
        };
        for yy in 0..y.hw {
            let dst = y.row(c, yy);
            if block.stride == 1 {
                y.data[dst].copy_from_slice(&x.data[x.row(src, yy)]);
            } else {
                let from = &x.data[x.row(src, yy * 2)];
                for (d, s) in y.data[dst].iter_mut().zip(from.iter().step_by(2)) {
                    *d = *s;
                }
            }
        }
    }
}

/// Writes an executed block's output into `y`: the shortcut (`x` where the block is an identity,
/// else `y` itself, written by [`shortcut`]) plus the residual branch, then the block's ReLU.
/// The branch is conv1 for the kept channels only, scaled by their C-Net values, and conv2 over
/// those channels, scaled by the L-Net value; both scalings, the ReLUs and the residual add
/// happen as the convolutions store their tiles. Returns the MACs computed, and whether
/// `sc.sums` holds the partial sums of `y` (it does when a convolution wrote it).
#[allow(clippy::too_many_arguments)]
fn residual(
    block: &Block,
    fb: &FoldedBlock,
    d: &Decision,
    x: &Planes,
    all: &[usize],
    sc: &mut Scratch,
    y: &mut Planes,
    identity: bool,
    clock: &mut Clock,
) -> (u64, bool) {
    let l = d.s_l.unwrap_or(1.0);
    let ohw = block.out_hw;
    if d.kept.is_empty() {
        // conv2 sees only zeros: BN2 leaves its shift.
        for c in 0..block.out_ch {
            let add = l * fb.conv2.bias[c];
            for row in 0..ohw {
                let r = y.row(c, row);
                if identity {
                    let src = &x.data[x.row(c, row)];
                    for (v, s) in y.data[r].iter_mut().zip(src) {
                        *v = relu(s + add);
                    }
                } else {
                    y.data[r].iter_mut().for_each(|v| *v = relu(*v + add));
                }
            }
        }
        clock.block.epilogue += clock.lap();
        return (0, false);
    }
    let mut h = sc.take(ohw, d.kept.len());
    sc.scales.clear();
    if let Some(s) = &d.s_c {
        sc.scales.extend(d.kept.iter().map(|&k| s[k]));
    }
    let to = Dest {
        data: &mut h.data,
        layout: OutLayout::padded(ohw),
        epilogue: Epilogue::ReluScale(d.s_c.is_some().then_some(&sc.scales[..])),
        sums: None,
    };
    let mut macs = conv_from(
        &fb.conv1,
        &x.data,
        x.layout(),
        x.hw,
        &all[..block.in_ch],
        &d.kept,
        &mut sc.conv,
        to,
    );
    clock.block.conv1 = clock.lap();
    let to = Dest {
        data: &mut y.data,
        layout: OutLayout::padded(ohw),
        epilogue: Epilogue::Residual {
            l,
            base: identity.then_some(&x.data[..]),
        },
        sums: Some(zeroed(&mut sc.sums, block.out_ch * SUM_LANES)),
    };
    macs += conv_from(
        &fb.conv2,
        &h.data,
        h.layout(),
        ohw,
        &d.kept,
        &all[..block.out_ch],
        &mut sc.conv,
        to,
    );
    clock.block.conv2 = clock.lap();
    sc.give(h);
    (macs, true)
}

/// `v` holding `n` zeros.
fn zeroed(v: &mut Vec<f32>, n: usize) -> &mut [f32] {
    v.clear();
    v.resize(n, 0.0);
    v
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
            pad_polyphase(&planes, OutLayout::dense(hw), n, hw, &mut out);
            assert_eq!(out, reference(&planes, n, hw), "hw {hw}");
            // reused for fewer planes with other values, read from padded planes: the borders
            // are still zero
            let other: Vec<f32> = planes.iter().map(|v| -v).collect();
            let mut padded = Vec::new();
            pad(&other, n, hw, &mut padded);
            pad_polyphase(&padded, OutLayout::padded(hw), 3, hw, &mut out);
            let q = (hw + 2) / 2;
            assert_eq!(
                out[..3 * 4 * q * q],
                reference(&other, 3, hw)[..],
                "hw {hw}, reused"
            );
        }
    }

    /// A deterministic value in [-1, 1) for index `i` and stream `seed`.
    fn val(seed: u64, i: usize) -> f32 {
        let mut z = seed
            .wrapping_add(i as u64)
            .wrapping_mul(0x9e37_79b9_7f4a_7c15);
        z ^= z >> 29;
        z = z.wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z ^= z >> 32;
        (z % 2000) as f32 / 1000.0 - 1.0
    }

    /// Every epilogue stores, inside the border of padded planes, what a dense convolution
    /// followed by that epilogue gives; the border keeps what it held; the sums are those of
    /// the stored values. Covers both strides, odd sides (scalar tails) and groups of 3 and 2
    /// channels (5 outputs).
    #[test]
    fn fused_epilogues_write_inside_padded_planes_and_sum_what_they_store() {
        let (in_ch, out_ch) = (5, 7);
        let (in_idx, out_idx) = ([4, 0, 2], [6, 1, 3, 0, 5]);
        let scales = [0.5, 2.0, 0.0, 1.5, 0.25];
        let l = 0.7;
        for (hw, stride) in [(32, 1), (16, 1), (8, 1), (7, 1), (32, 2), (16, 2), (10, 2)] {
            let conv = FoldedConv {
                out_ch,
                in_ch,
                stride,
                weight: (0..out_ch * in_ch * 9).map(|i| val(1, i) * 0.3).collect(),
                bias: (0..out_ch).map(|i| val(2, i)).collect(),
            };
            let input: Vec<f32> = (0..in_idx.len() * hw * hw).map(|i| val(3, i)).collect();
            let mut buf = Buffers::default();
            let mut want = Vec::new();
            conv3x3(&conv, &input, hw, &in_idx, &out_idx, &mut buf, &mut want);
            let mut padded_in = Vec::new();
            pad(&input, in_idx.len(), hw, &mut padded_in);
            let ohw = hw / stride;
            let lay = OutLayout::padded(ohw);
            let at = |p: usize, y: usize, x: usize| lay.at(p, y, x);
            let base: Vec<f32> = (0..out_idx.len() * lay.plane).map(|i| val(4, i)).collect();
            let relu = |v: f32| v.max(0.0);
            for case in 0..4 {
                let mut out = vec![7.0; out_idx.len() * lay.plane];
                if case == 3 {
                    // in place: the shortcut is written first
                    for p in 0..out_idx.len() {
                        for y in 0..ohw {
                            for x in 0..ohw {
                                out[at(p, y, x)] = base[at(p, y, x)];
                            }
                        }
                    }
                }
                let epilogue = match case {
                    0 => Epilogue::ReluScale(Some(&scales)),
                    1 => Epilogue::ReluScale(None),
                    2 => Epilogue::Residual {
                        l,
                        base: Some(&base),
                    },
                    _ => Epilogue::Residual { l, base: None },
                };
                let mut sums = vec![0.0; out_idx.len() * SUM_LANES];
                let dest = Dest {
                    data: &mut out,
                    layout: lay,
                    epilogue,
                    sums: Some(&mut sums),
                };
                let from = OutLayout::padded(hw);
                conv_from(
                    &conv, &padded_in, from, hw, &in_idx, &out_idx, &mut buf, dest,
                );
                for p in 0..out_idx.len() {
                    let mut total = 0.0;
                    for y in 0..ohw {
                        for x in 0..ohw {
                            let v = want[(p * ohw + y) * ohw + x];
                            let expect = match case {
                                0 => relu(v) * scales[p],
                                1 => relu(v),
                                _ => relu(base[at(p, y, x)] + l * v),
                            };
                            let got = out[at(p, y, x)];
                            assert!(
                                (got - expect).abs() <= 1e-5 * (1.0 + expect.abs()),
                                "case {case} hw {hw} stride {stride} output {p} ({y}, {x}): {got} vs {expect}"
                            );
                            out[at(p, y, x)] = 7.0;
                            total += got;
                        }
                    }
                    let summed: f32 = sums[p * SUM_LANES..(p + 1) * SUM_LANES].iter().sum();
                    assert!(
                        (summed - total).abs() <= 1e-4 * (1.0 + total.abs()),
                        "case {case} hw {hw} stride {stride} output {p}: sums {summed} vs {total}"
                    );
                }
                // every pixel was reset above: what is left is the border, untouched
                assert!(
                    out.iter().all(|&v| v == 7.0),
                    "case {case} hw {hw}: border written"
                );
            }
        }
    }
}
