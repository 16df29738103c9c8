//! Batch-1 sliced forward pass with candle's convolutions: the reference for the fast path
//! ([`super::fast`]), skipping for real in the same way.
//!
//! A skipped block runs only its shortcut. A run block with `k` kept channels computes conv1
//! for those `k` output channels only (weight rows and BN parameters sliced) and conv2 reads
//! only those `k` input channels (weight columns sliced). Every MAC executed is counted from
//! the shapes actually passed to the kernels, so the accounting in [`crate::macs`] can be
//! checked against what really ran.

use candle_core::{Device, Tensor};

use super::{
    affine, conv3x3, decide, head, needs_pool, pool, shortcut, stem, ExecutedMacs, ImageOutput,
    Options,
};
use crate::error::Result;
use crate::model::{Affine, Network};

impl ExecutedMacs {
    fn conv(&mut self, w: &Tensor, out: &Tensor) -> Result<()> {
        let (o, i, kh, kw) = w.dims4()?;
        let (_, _, h, ww) = out.dims4()?;
        self.compute += (o * i * kh * kw * h * ww) as u64;
        Ok(())
    }
}

fn select(t: &Tensor, idx: &Tensor, dim: usize) -> Result<Tensor> {
    Ok(t.index_select(idx, dim)?.contiguous()?)
}

/// Runs one normalised image `x` (`[1, 3, 32, 32]`).
pub fn forward(net: &Network, x: &Tensor, opts: &Options) -> Result<ImageOutput> {
    opts.validate()?;
    let mut macs = ExecutedMacs::default();
    let mut decisions = Vec::with_capacity(net.blocks.len());
    let mut x = stem(net, x)?;
    macs.conv(&net.stem, &x)?;
    for block in &net.blocks {
        let p = if needs_pool(block, opts) {
            pool(&x)?.flatten_all()?.to_vec1::<f32>()?
        } else {
            Vec::new()
        };
        let d = decide(block, &p, opts);
        macs.gates += d.gate_macs;
        let sc = shortcut(block, &x)?;
        if !d.executed {
            // Only the shortcut: x ≥ 0 after the previous ReLU, so ReLU(shortcut) = shortcut.
            x = sc;
            decisions.push(d);
            continue;
        }
        let k = d.kept.len();
        let residual = if k == 0 {
            // No channel computed: conv2 sees zeros, so BN2 leaves only its shift.
            let c = block.out_ch;
            block
                .bn2
                .shift
                .reshape((1, c, 1, 1))?
                .broadcast_as((1, c, block.out_hw, block.out_hw))?
                .contiguous()?
        } else {
            let (w1, bn1, w2) = if k == block.out_ch {
                (block.conv1.clone(), block.bn1.clone(), block.conv2.clone())
            } else {
                let idx = Tensor::from_vec(
                    d.kept.iter().map(|&j| j as u32).collect::<Vec<_>>(),
                    k,
                    &Device::Cpu,
                )?;
                let bn1 = Affine {
                    scale: select(&block.bn1.scale, &idx, 0)?,
                    shift: select(&block.bn1.shift, &idx, 0)?,
                };
                (
                    select(&block.conv1, &idx, 0)?,
                    bn1,
                    select(&block.conv2, &idx, 1)?,
                )
            };
            let h = conv3x3(&x, &w1, block.stride)?;
            macs.conv(&w1, &h)?;
            let mut h = affine(&h, &bn1)?.relu()?;
            if let Some(s) = &d.s_c {
                let scales: Vec<f32> = d.kept.iter().map(|&j| s[j]).collect();
                h = h.broadcast_mul(&Tensor::from_vec(scales, (1, k, 1, 1), &Device::Cpu)?)?;
            }
            let r = conv3x3(&h, &w2, 1)?;
            macs.conv(&w2, &r)?;
            affine(&r, &block.bn2)?
        };
        let residual = match d.s_l {
            Some(s) => (residual * s as f64)?,
            None => residual,
        };
        x = (sc + residual)?.relu()?;
        decisions.push(d);
    }
    let logits = head(net, &x)?;
    macs.compute += net.linear_w.elem_count() as u64;
    Ok(ImageOutput {
        logits: logits.flatten_all()?.to_vec1::<f32>()?,
        decisions,
        executed: macs,
    })
}
