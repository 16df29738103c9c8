//! A summary of a loaded model, shared by `lcnet info` and the page.

use serde::Serialize;

use crate::exec::Options;
use crate::macs::{block_macs, static_macs};
use crate::model::{ModelCard, Network};

/// The input limits every front end applies (the CLI reads them here, the page from
/// `Model.info()`), so a file refused in one is refused in the other with the same numbers.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
pub struct Limits {
    /// Largest image file, bytes.
    pub image_file_bytes: u64,
    /// Longest image side, pixels.
    pub image_side: u32,
    /// Most pixels in one image.
    pub image_pixels: u64,
    /// Largest model file, bytes.
    pub model_file_bytes: u64,
}

/// The limits in force.
pub const LIMITS: Limits = Limits {
    image_file_bytes: crate::image_header::MAX_FILE_BYTES,
    image_side: crate::image_header::MAX_SIDE,
    image_pixels: crate::preprocess::MAX_PIXELS,
    model_file_bytes: crate::model::file::MAX_MODEL_BYTES,
};

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
    /// The options a run without overrides uses (mode and thresholds from the card).
    pub defaults: Options,
    /// Input limits.
    pub limits: Limits,
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
            defaults: net.default_options(),
            limits: LIMITS,
        }
    }
}
