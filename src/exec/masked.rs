//! Batched, masked forward pass: every convolution runs at full width; a skipped block's
//! residual and a skipped channel are multiplied by zero. Fast for many images at once, and the
//! definition the sliced path is tested against.

use candle_core::{DType, Device, Tensor};

use super::{affine, conv3x3, decide, head, needs_pool, pool, shortcut, stem, Decision, Options};
use crate::error::Result;
use crate::model::Network;

/// Result of a batched pass.
#[derive(Debug)]
pub struct MaskedOutput {
    /// `[N, classes]` logits.
    pub logits: Tensor,
    /// `decisions[image][block]`.
    pub decisions: Vec<Vec<Decision>>,
}

/// Runs `x` (`[N, 3, 32, 32]`, normalised) through the network with masks.
pub fn forward(net: &Network, x: &Tensor, opts: &Options) -> Result<MaskedOutput> {
    opts.validate()?;
    let n = x.dim(0)?;
    let mut decisions: Vec<Vec<Decision>> = vec![Vec::with_capacity(net.blocks.len()); n];
    let mut x = stem(net, x)?;
    for block in &net.blocks {
        let pooled: Vec<Vec<f32>> = if needs_pool(block, opts) {
            pool(&x)?.to_vec2::<f32>()?
        } else {
            vec![Vec::new(); n]
        };
        let mut l_scale = vec![1f32; n];
        let mut c_scale = vec![1f32; n * block.out_ch];
        for (i, p) in pooled.iter().enumerate() {
            let d = decide(block, p, opts);
            l_scale[i] = match (d.executed, d.s_l) {
                (false, _) => 0.0,
                (true, Some(s)) => s,
                (true, None) => 1.0,
            };
            let row = &mut c_scale[i * block.out_ch..(i + 1) * block.out_ch];
            if d.executed {
                if let Some(s) = &d.s_c {
                    row.fill(0.0);
                    for &j in &d.kept {
                        row[j] = s[j];
                    }
                }
            }
            decisions[i].push(d);
        }
        let dev = Device::Cpu;
        let l = Tensor::from_vec(l_scale, (n, 1, 1, 1), &dev)?;
        let c = Tensor::from_vec(c_scale, (n, block.out_ch, 1, 1), &dev)?;
        let h = affine(&conv3x3(&x, &block.conv1, block.stride)?, &block.bn1)?.relu()?;
        let h = h.broadcast_mul(&c)?;
        let r = affine(&conv3x3(&h, &block.conv2, 1)?, &block.bn2)?.broadcast_mul(&l)?;
        x = (shortcut(block, &x)? + r)?.relu()?;
    }
    let logits = head(net, &x)?;
    Ok(MaskedOutput { logits, decisions })
}

/// Stacks normalised `[3·32·32]` inputs into one `[N, 3, 32, 32]` tensor.
pub fn batch(inputs: &[Vec<f32>], size: usize) -> Result<Tensor> {
    let flat: Vec<f32> = inputs.iter().flat_map(|v| v.iter().copied()).collect();
    Ok(
        Tensor::from_vec(flat, (inputs.len(), 3, size, size), &Device::Cpu)?
            .to_dtype(DType::F32)?,
    )
}
