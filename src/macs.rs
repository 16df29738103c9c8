//! Multiply-accumulate accounting.
//!
//! Convention: one MAC per multiply-add of every convolution, of the classifier and of the
//! gates' fully connected layers. BatchNorm (folded into a per-channel affine), ReLU, pooling,
//! the shortcut and the residual addition are not counted. Gates are always counted when they
//! are evaluated: the L-Net gate of every block costs `C_in`; the C-Net gate costs
//! `C_in·C_mid`, and is evaluated only for blocks that run. A run block with `k` kept channels
//! costs `9·H'·W'·(C_in·k + k·C_out)` (conv1 computes `k` outputs, conv2 reads `k` inputs).

use crate::model::{Block, Network};

/// MACs of a 3×3 convolution producing `hw × hw` outputs.
pub fn conv3x3(cin: usize, cout: usize, hw: usize) -> u64 {
    9 * (cin * cout * hw * hw) as u64
}

/// MACs of one block given what ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BlockMacs {
    /// Convolution MACs.
    pub conv: u64,
    /// Gate MACs (L-Net and C-Net fully connected layers).
    pub gates: u64,
}

impl BlockMacs {
    /// Total of both parts.
    pub fn total(&self) -> u64 {
        self.conv + self.gates
    }
}

/// MACs of `block` when the L gate was evaluated (`l_eval`), the C gate was evaluated
/// (`c_eval`), the block ran (`executed`) with `kept` of its `out_ch` conv1 channels.
pub fn block_macs(
    block: &Block,
    l_eval: bool,
    c_eval: bool,
    executed: bool,
    kept: usize,
) -> BlockMacs {
    let mut gates = if l_eval { block.in_ch as u64 } else { 0 };
    let mut conv = 0;
    if executed {
        if c_eval {
            gates += (block.in_ch * block.out_ch) as u64;
        }
        conv = conv3x3(block.in_ch, kept, block.out_hw) + conv3x3(kept, block.out_ch, block.out_hw);
    }
    BlockMacs { conv, gates }
}

/// MACs of the stem convolution and the classifier, which always run.
pub fn fixed_macs(net: &Network) -> u64 {
    let w0 = net.card.arch.widths[0];
    let size = net.card.input.size;
    let last = net.card.arch.widths[2];
    conv3x3(3, w0, size) + (last * net.card.arch.num_classes) as u64
}

/// MACs of the static network: every block and channel, no gates.
pub fn static_macs(net: &Network) -> u64 {
    fixed_macs(net)
        + net
            .blocks
            .iter()
            .map(|b| block_macs(b, false, false, true, b.out_ch).total())
            .sum::<u64>()
}
