//! Forward passes. Three paths compute the same function:
//! - [`masked`]: batched; every convolution runs at full width and gates multiply by zero
//!   (training-style, used for evaluation on many images);
//! - [`fast`] (with [`kernel`]): batch 1, direct convolutions on BN-folded weights over the kept
//!   channels only — a skipped block and a skipped channel cost nothing. This is what the CLI and
//!   the browser run;
//! - [`sliced`]: batch 1, the same skipping with candle's stock convolutions on sliced weights —
//!   the reference the fast path is tested against (and `lcnet bench`'s comparison).

pub mod fast;
pub mod kernel;
pub mod masked;
pub mod sliced;

use candle_core::{Module, Tensor, D};
use candle_nn::{Conv2d, Conv2dConfig, Linear};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
pub use crate::model::Mode;
use crate::model::{Affine, Block, Network};

/// A residual block by its place: stage (1-based) and index within the stage (0-based), written
/// `S.I` as in `lcnet info` and the page's map (`2.3` is `layer2.3`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct BlockRef {
    /// Stage, 1-based.
    pub stage: usize,
    /// Index within the stage, 0-based.
    pub index: usize,
}

impl std::str::FromStr for BlockRef {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        let bad = || Error::BadOptions(format!("block {s:?} is not STAGE.INDEX (e.g. 2.3)"));
        let (a, b) = s.trim().split_once('.').ok_or_else(bad)?;
        Ok(BlockRef {
            stage: a.parse().map_err(|_| bad())?,
            index: b.parse().map_err(|_| bad())?,
        })
    }
}

impl std::fmt::Display for BlockRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.stage, self.index)
    }
}

/// Classes a trace's `top` lists unless the caller asks for another number.
pub const DEFAULT_TOP_K: usize = 5;

/// What a caller changes of a model's default [`Options`]; `None` (or an empty list) keeps the
/// default. [`Network::options`] applies it to the card's defaults and validates the result: the
/// one place the CLI, the wasm module (and through it the page) get their options from.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OptionOverrides {
    /// Gating mode.
    pub mode: Option<Mode>,
    /// Block threshold τ_L.
    pub tau_l: Option<f32>,
    /// Channel threshold τ_C.
    pub tau_c: Option<f32>,
    /// Classes reported in the trace's `top`.
    pub top_k: Option<usize>,
    /// Blocks forced to run.
    pub force_on: Vec<BlockRef>,
    /// Blocks forced to be skipped.
    pub force_off: Vec<BlockRef>,
}

/// Inference options.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Options {
    /// Gating mode.
    pub mode: Mode,
    /// Skip a block when s_L ≤ τ_L.
    pub tau_l: f32,
    /// Skip a channel when s_C ≤ τ_C.
    pub tau_c: f32,
    /// Classes reported in the trace's `top`.
    pub top_k: usize,
    /// "What if": blocks run whatever their L-Net says (their C-Net still picks channels).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub force_on: Vec<BlockRef>,
    /// "What if": blocks skipped whatever their L-Net says (its value is still computed and shown).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub force_off: Vec<BlockRef>,
}

impl Options {
    /// Dynamic (LC) at the given thresholds.
    pub fn dynamic(tau_l: f32, tau_c: f32) -> Self {
        Self {
            mode: Mode::Lc,
            tau_l,
            tau_c,
            top_k: DEFAULT_TOP_K,
            force_on: Vec::new(),
            force_off: Vec::new(),
        }
    }
    /// The static network.
    pub fn static_net() -> Self {
        Self {
            mode: Mode::Static,
            tau_l: 0.0,
            tau_c: 0.0,
            top_k: DEFAULT_TOP_K,
            force_on: Vec::new(),
            force_off: Vec::new(),
        }
    }
    /// Rejects NaN thresholds (±∞ are allowed: −∞ keeps everything).
    pub fn validate(&self) -> Result<()> {
        if self.tau_l.is_nan() || self.tau_c.is_nan() {
            return Err(Error::BadOptions("thresholds must not be NaN".into()));
        }
        if let Some(b) = self.force_on.iter().find(|b| self.force_off.contains(b)) {
            return Err(Error::BadOptions(format!(
                "block {b} is forced both on and off"
            )));
        }
        Ok(())
    }
    /// [`Options::validate`], and every forced block exists in `net`.
    pub fn validate_for(&self, net: &Network) -> Result<()> {
        self.validate()?;
        let missing = self.force_on.iter().chain(&self.force_off).find(|r| {
            !net.blocks
                .iter()
                .any(|b| b.stage == r.stage && b.index == r.index)
        });
        if let Some(r) = missing {
            let n = net.card.arch.blocks_per_stage;
            return Err(Error::BadOptions(format!(
                "no block {r} in this model (stages 1–3, blocks 0–{} in each)",
                n.saturating_sub(1)
            )));
        }
        Ok(())
    }
    /// Whether `block` is forced on (`Some(true)`), off (`Some(false)`) or left to its gate.
    pub fn forced(&self, block: &Block) -> Option<bool> {
        let is = |r: &BlockRef| r.stage == block.stage && r.index == block.index;
        if self.force_on.iter().any(is) {
            Some(true)
        } else if self.force_off.iter().any(is) {
            Some(false)
        } else {
            None
        }
    }
}

/// What the gates decided for one block and one input.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    /// L-Net value, if evaluated.
    pub s_l: Option<f32>,
    /// C-Net values (all channels), if evaluated (only for run blocks).
    pub s_c: Option<Vec<f32>>,
    /// Whether the residual branch runs.
    pub executed: bool,
    /// Kept conv1 channels (empty when skipped).
    pub kept: Vec<usize>,
    /// Multiply-accumulates the gates evaluated here performed, counted from their weight
    /// matrices (not from the formula in [`crate::macs`], which the tests check it against).
    pub gate_macs: u64,
}

/// MACs counted from the operand shapes of every convolution and matrix product executed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ExecutedMacs {
    /// Convolutions and classifier.
    pub compute: u64,
    /// Gate fully connected layers.
    pub gates: u64,
}

/// Output of a batch-1 pass that skips for real (the fast path and its sliced reference).
#[derive(Debug)]
pub struct ImageOutput {
    /// Logits of the one image.
    pub logits: Vec<f32>,
    /// Per block decisions.
    pub decisions: Vec<Decision>,
    /// MACs actually executed.
    pub executed: ExecutedMacs,
}

/// Gate decisions for one block, given the pooled input `p`. Shared by both paths so they
/// decide identically for identical `p`.
pub(crate) fn decide(block: &Block, p: &[f32], opts: &Options) -> Decision {
    let mut gate_macs = 0;
    let s_l = match (&block.gate_l, opts.mode.uses_l()) {
        (Some(g), true) => {
            gate_macs += g.weight.len() as u64;
            Some(g.eval_first(p))
        }
        _ => None,
    };
    let executed = opts
        .forced(block)
        .unwrap_or_else(|| s_l.is_none_or(|s| s > opts.tau_l));
    if !executed {
        return Decision {
            s_l,
            s_c: None,
            executed,
            kept: Vec::new(),
            gate_macs,
        };
    }
    let s_c = match (&block.gate_c, opts.mode.uses_c()) {
        (Some(g), true) => {
            gate_macs += g.weight.len() as u64;
            Some(g.eval(p))
        }
        _ => None,
    };
    let kept = match &s_c {
        Some(s) => (0..s.len()).filter(|&j| s[j] > opts.tau_c).collect(),
        None => (0..block.out_ch).collect(),
    };
    Decision {
        s_l,
        s_c,
        executed,
        kept,
        gate_macs,
    }
}

/// Whether the block needs the pooled input at all under these options.
pub(crate) fn needs_pool(block: &Block, opts: &Options) -> bool {
    (block.gate_l.is_some() && opts.mode.uses_l()) || (block.gate_c.is_some() && opts.mode.uses_c())
}

/// `x·scale + shift` per channel of an NCHW tensor.
pub(crate) fn affine(x: &Tensor, a: &Affine) -> Result<Tensor> {
    let c = a.scale.dim(0)?;
    let s = a.scale.reshape((1, c, 1, 1))?;
    let b = a.shift.reshape((1, c, 1, 1))?;
    Ok(x.broadcast_mul(&s)?.broadcast_add(&b)?)
}

/// Global average pool, NCHW → `[N, C]`.
pub(crate) fn pool(x: &Tensor) -> Result<Tensor> {
    Ok(x.flatten_from(2)?.mean(D::Minus1)?)
}

/// Option-A shortcut: subsample by the stride, zero-pad channels equally on both sides.
pub(crate) fn shortcut(block: &Block, x: &Tensor) -> Result<Tensor> {
    if block.stride == 1 && block.in_ch == block.out_ch {
        return Ok(x.clone());
    }
    let (n, c, h, w) = x.dims4()?;
    let mut y = x.clone();
    if block.stride == 2 {
        y = y
            .reshape((n, c, h / 2, 2, w / 2, 2))?
            .narrow(3, 0, 1)?
            .narrow(5, 0, 1)?
            .reshape((n, c, h / 2, w / 2))?;
    }
    let pad = block.out_ch - block.in_ch;
    if pad > 0 {
        y = y.pad_with_zeros(1, pad / 2, pad - pad / 2)?;
    }
    Ok(y)
}

/// A 3×3 convolution, padding 1, no bias (BN follows), as candle's own models run one: a
/// `candle_nn::Conv2d` module over `weight` (`[out, in, 3, 3]`; the sliced path passes a slice of
/// the block's weight, which the module holds without copying).
pub(crate) fn conv3x3(x: &Tensor, weight: &Tensor, stride: usize) -> Result<Tensor> {
    let cfg = Conv2dConfig {
        padding: 1,
        stride,
        ..Default::default()
    };
    Ok(Conv2d::new(weight.clone(), None, cfg).forward(x)?)
}

/// Stem: conv3×3 → BN → ReLU.
pub(crate) fn stem(net: &Network, x: &Tensor) -> Result<Tensor> {
    let y = conv3x3(x, &net.stem, 1)?;
    Ok(affine(&y, &net.stem_bn)?.relu()?)
}

/// Classifier on the last feature map: pool → `candle_nn::Linear`. Returns `[N, classes]`.
pub(crate) fn head(net: &Network, x: &Tensor) -> Result<Tensor> {
    let p = pool(x)?;
    let linear = Linear::new(net.linear_w.clone(), Some(net.linear_b.clone()));
    Ok(linear.forward(&p)?)
}
