//! A summary of a loaded model, shared by `lcnet info` and the page.

use serde::Serialize;

use crate::macs::{block_macs, static_macs};
use crate::model::{ModelCard, Network};

/// One block as listed by `info`.
#[derive(Debug, Clone, Serialize)]
pub struct BlockInfo {
    /// Stage, 1-based.
    pub stage: usize,
    /// Index in the stage.
    pub index: usize,
    /// Input channels.
    pub in_ch: usize,
    /// Output channels.
    pub out_ch: usize,
    /// Stride of conv1.
    pub stride: usize,
    /// Output side.
    pub out_hw: usize,
    /// Static MACs of the block.
    pub macs_static: u64,
    /// Has an L-Net gate.
    pub gate_l: bool,
    /// Has a C-Net gate.
    pub gate_c: bool,
}

/// Model facts.
#[derive(Debug, Clone, Serialize)]
pub struct ModelInfo {
    /// The card as stored.
    pub card: ModelCard,
    /// Learned parameters.
    pub params: usize,
    /// Of which gates.
    pub gate_params: usize,
    /// Static MACs.
    pub macs_static: u64,
    /// Blocks in order.
    pub blocks: Vec<BlockInfo>,
}

impl ModelInfo {
    /// Summarises `net`.
    pub fn of(net: &Network) -> Self {
        Self {
            card: net.card.clone(),
            params: net.num_params(),
            gate_params: net.num_gate_params(),
            macs_static: static_macs(net),
            blocks: net
                .blocks
                .iter()
                .map(|b| BlockInfo {
                    stage: b.stage,
                    index: b.index,
                    in_ch: b.in_ch,
                    out_ch: b.out_ch,
                    stride: b.stride,
                    out_hw: b.out_hw,
                    macs_static: block_macs(b, false, false, true, b.out_ch).total(),
                    gate_l: b.gate_l.is_some(),
                    gate_c: b.gate_c.is_some(),
                })
                .collect(),
        }
    }
}
