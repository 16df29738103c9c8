//! What one forward pass did: the contract between Rust and the page (and the CLI's `--json`).

use serde::{Deserialize, Serialize};

use crate::exec::Mode;

/// One class and its probability.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ClassProb {
    /// Class index.
    pub index: usize,
    /// Class name.
    pub label: String,
    /// Softmax probability.
    pub prob: f32,
}

/// What one residual block did for this input.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct BlockTrace {
    /// Stage, 1-based.
    pub stage: usize,
    /// Index in the stage, 0-based.
    pub index: usize,
    /// Whether the residual branch ran (false: only the shortcut).
    pub executed: bool,
    /// L-Net gate value, when it was evaluated.
    pub s_l: Option<f32>,
    /// conv1 output channels (C_mid).
    pub channels_total: usize,
    /// Channels computed (0 when the block was skipped).
    pub channels_kept: usize,
    /// Indices of the kept channels, ascending.
    pub kept: Vec<usize>,
    /// Scale applied to each kept channel (C-Net gate value, 1 without C-Net).
    pub scales: Vec<f32>,
    /// C-Net gate value of every channel, when it was evaluated (skipped ones included).
    pub s_c: Option<Vec<f32>>,
    /// MACs spent in this block (convolutions + gates).
    pub macs: u64,
    /// Of which gates.
    pub macs_gates: u64,
    /// MACs this block costs in the static network.
    pub macs_static: u64,
    /// Spatial side of the block's output.
    pub out_hw: usize,
    /// Set when the options forced this block on (`true`) or off (`false`), whatever its gate said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forced: Option<bool>,
}

/// The whole pass.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Trace {
    /// Gating mode used.
    pub mode: Mode,
    /// Block threshold used.
    pub tau_l: f32,
    /// Channel threshold used.
    pub tau_c: f32,
    /// Predicted class name.
    pub label: String,
    /// Predicted class index.
    pub class_index: usize,
    /// Its probability.
    pub prob: f32,
    /// The most probable classes, best first.
    pub top: Vec<ClassProb>,
    /// Raw logits.
    pub logits: Vec<f32>,
    /// MACs this input cost (dynamic; equals `macs_static` in static mode).
    pub macs: u64,
    /// MACs of the static network.
    pub macs_static: u64,
    /// Of `macs`, spent in gates.
    pub macs_gates: u64,
    /// Blocks whose residual branch ran.
    pub blocks_executed: usize,
    /// All blocks.
    pub blocks_total: usize,
    /// Per block, in execution order.
    pub blocks: Vec<BlockTrace>,
    /// Wall time of the forward pass, milliseconds (pre-processing excluded).
    pub elapsed_ms: f64,
}

/// Softmax of logits (numerically stable).
pub fn softmax(logits: &[f32]) -> Vec<f32> {
    let max = logits.iter().cloned().fold(f32::NEG_INFINITY, f32::max);
    let exps: Vec<f32> = logits.iter().map(|l| (l - max).exp()).collect();
    let sum: f32 = exps.iter().sum();
    exps.iter().map(|e| e / sum).collect()
}

/// The `k` most probable classes, best first.
pub fn top_k(probs: &[f32], classes: &[String], k: usize) -> Vec<ClassProb> {
    let mut idx: Vec<usize> = (0..probs.len()).collect();
    idx.sort_by(|&a, &b| probs[b].total_cmp(&probs[a]).then(a.cmp(&b)));
    idx.into_iter()
        .take(k)
        .map(|i| ClassProb {
            index: i,
            label: classes
                .get(i)
                .cloned()
                .unwrap_or_else(|| format!("class {i}")),
            prob: probs[i],
        })
        .collect()
}
