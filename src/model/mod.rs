//! The network, defined once: a CIFAR ResNet-(6n+2) (option-A shortcut, BatchNorm) with optional
//! per-block L-Net and C-Net gates. Both execution paths in [`crate::exec`] read this struct.

pub mod card;
pub mod evaluation;
pub mod file;
pub mod mode;

use candle_core::{Device, Tensor};

use crate::error::{Error, Result};
pub use card::{ArchSpec, GateSpec, InputSpec, ModelCard, Thresholds, CIFAR10_CLASSES};
pub use evaluation::{CurvePoint, Evaluation, ReferenceEvaluation};
pub use mode::Mode;

/// BatchNorm in inference form: `y = x·scale + shift` per channel.
#[derive(Debug, Clone)]
pub struct Affine {
    /// γ / sqrt(var + ε), shape `[C]`.
    pub scale: Tensor,
    /// β − mean·scale, shape `[C]`.
    pub shift: Tensor,
}

/// A gate: a fully connected layer on the pooled block input, clamped to [0, 1] ("ReLU1").
/// Kept as plain vectors: it is tiny, and both execution paths evaluate it with the same
/// scalar code so that they take identical keep/skip decisions.
#[derive(Debug, Clone)]
pub struct Gate {
    /// `[inputs, outputs]`: the trained `[outputs, inputs]` matrix transposed at load, so that
    /// [`Gate::eval`] adds one input's column to every output at once.
    pub weight: Vec<f32>,
    /// `[outputs]`.
    pub bias: Vec<f32>,
    /// Input features (C_in).
    pub inputs: usize,
    /// Output values (1 for L-Net, C_mid for C-Net).
    pub outputs: usize,
}

impl Gate {
    /// `clamp(W·p + b, 0, 1)` for one pooled input `p` of length `inputs`. Accumulated input by
    /// input over all outputs (vectors across outputs), not as one dot product per output: a
    /// C-Net of 64 outputs took 2.4 µs per block as 64 short dot products, each ending in a
    /// horizontal sum.
    pub fn eval(&self, p: &[f32]) -> Vec<f32> {
        let mut out = self.bias[..self.outputs].to_vec();
        if self.outputs == 1 {
            // an L-Net: one dot product, in partial sums
            out[0] += dot(&self.weight[..self.inputs], &p[..self.inputs]);
        } else {
            let cols = self.weight.chunks_exact(self.outputs);
            for (col, &x) in cols.zip(&p[..self.inputs]) {
                for (o, &w) in out.iter_mut().zip(col) {
                    *o += w * x;
                }
            }
        }
        for o in out.iter_mut() {
            *o = o.clamp(0.0, 1.0);
        }
        out
    }

    /// The first output of [`Gate::eval`] (an L-Net's only one), without a vector for it.
    pub fn eval_first(&self, p: &[f32]) -> f32 {
        if self.outputs == 1 {
            (self.bias[0] + dot(&self.weight[..self.inputs], &p[..self.inputs])).clamp(0.0, 1.0)
        } else {
            self.eval(p)[0]
        }
    }
}

// The reductions of a batch-1 pass (the gates here, pooling in `exec::fast`) keep 8 interleaved
// partial sums, which vectorise (AVX, or two SIMD128 vectors): one running sum is a chain of
// dependent adds the compiler may not reorder (float addition is not associative).

/// The sum of `v`, in 8 partial sums.
pub(crate) fn sum(v: &[f32]) -> f32 {
    let mut lanes = [0f32; 8];
    let chunks = v.chunks_exact(8);
    let rest: f32 = chunks.remainder().iter().sum();
    for c in chunks {
        for (l, x) in lanes.iter_mut().zip(c) {
            *l += x;
        }
    }
    lanes.iter().sum::<f32>() + rest
}

/// `a·b`, in 8 partial sums.
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut lanes = [0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let rest: f32 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (xa, xb) in ca.zip(cb) {
        for ((l, x), y) in lanes.iter_mut().zip(xa).zip(xb) {
            *l += x * y;
        }
    }
    lanes.iter().sum::<f32>() + rest
}

/// One BasicBlock and its gates.
#[derive(Debug, Clone)]
pub struct Block {
    /// Stage, 1-based (1, 2, 3), as in the tensor names `layer{stage}`.
    pub stage: usize,
    /// Position inside the stage, 0-based.
    pub index: usize,
    /// Input channels.
    pub in_ch: usize,
    /// Output channels of conv1 (C_mid) and conv2.
    pub out_ch: usize,
    /// 2 for the first block of stages 2 and 3, else 1.
    pub stride: usize,
    /// Spatial side of the input.
    pub in_hw: usize,
    /// Spatial side of the output.
    pub out_hw: usize,
    /// conv1 weight `[out, in, 3, 3]`.
    pub conv1: Tensor,
    /// BN after conv1.
    pub bn1: Affine,
    /// conv2 weight `[out, out, 3, 3]`.
    pub conv2: Tensor,
    /// BN after conv2.
    pub bn2: Affine,
    /// L-Net gate (`[1, in]`), if the model has one.
    pub gate_l: Option<Gate>,
    /// C-Net gate (`[out, in]`), if the model has one.
    pub gate_c: Option<Gate>,
}

impl Block {
    /// The tensor-name prefix, e.g. `layer2.0`.
    pub fn prefix(&self) -> String {
        format!("layer{}.{}", self.stage, self.index)
    }
}

/// A loaded, validated network.
#[derive(Debug, Clone)]
pub struct Network {
    /// The model card from the file.
    pub card: ModelCard,
    /// Stem conv weight `[16, 3, 3, 3]`.
    pub stem: Tensor,
    /// Stem BN.
    pub stem_bn: Affine,
    /// All residual blocks in execution order.
    pub blocks: Vec<Block>,
    /// Classifier weight `[classes, 64]`.
    pub linear_w: Tensor,
    /// Classifier bias `[classes]`.
    pub linear_b: Tensor,
    /// The tensors as stored (f32), in file order, for re-saving.
    pub(crate) raw: Vec<(String, Tensor)>,
}

/// Every tensor name and shape an architecture needs, in a fixed order.
pub fn expected_tensors(arch: &ArchSpec, gates: Option<&GateSpec>) -> Vec<(String, Vec<usize>)> {
    let mut v = Vec::new();
    let bn = |v: &mut Vec<(String, Vec<usize>)>, p: &str, c: usize| {
        for s in ["weight", "bias", "running_mean", "running_var"] {
            v.push((format!("{p}.{s}"), vec![c]));
        }
    };
    let w0 = arch.widths[0];
    v.push(("conv1.weight".to_string(), vec![w0, 3, 3, 3]));
    bn(&mut v, "bn1", w0);
    let mut cin = w0;
    for (s, &w) in arch.widths.iter().enumerate() {
        for i in 0..arch.blocks_per_stage {
            let p = format!("layer{}.{}", s + 1, i);
            v.push((format!("{p}.conv1.weight"), vec![w, cin, 3, 3]));
            bn(&mut v, &format!("{p}.bn1"), w);
            v.push((format!("{p}.conv2.weight"), vec![w, w, 3, 3]));
            bn(&mut v, &format!("{p}.bn2"), w);
            if let Some(g) = gates {
                if g.l_net {
                    v.push((format!("{p}.gate_l.weight"), vec![1, cin]));
                    v.push((format!("{p}.gate_l.bias"), vec![1]));
                }
                if g.c_net {
                    v.push((format!("{p}.gate_c.weight"), vec![w, cin]));
                    v.push((format!("{p}.gate_c.bias"), vec![w]));
                }
            }
            cin = w;
        }
    }
    v.push(("linear.weight".to_string(), vec![arch.num_classes, cin]));
    v.push(("linear.bias".to_string(), vec![arch.num_classes]));
    v
}

impl Network {
    /// Builds a network from a card and named f32 tensors whose names and shapes were checked
    /// against [`expected_tensors`].
    pub(crate) fn from_parts(card: ModelCard, raw: Vec<(String, Tensor)>) -> Result<Self> {
        let get = |name: &str| -> Result<Tensor> {
            raw.iter()
                .find(|(n, _)| n == name)
                .map(|(_, t)| t.clone())
                .ok_or_else(|| Error::MissingTensor(name.to_string()))
        };
        let eps = card.arch.bn_eps;
        let affine = |p: &str| -> Result<Affine> {
            let w = get(&format!("{p}.weight"))?;
            let b = get(&format!("{p}.bias"))?;
            let m = get(&format!("{p}.running_mean"))?;
            let var = get(&format!("{p}.running_var"))?;
            // a plain loop: candle's generic reduction costs more than the rest of the load in wasm
            if var.to_vec1::<f32>()?.iter().any(|&v| v < 0.0) {
                return Err(Error::BadArch(format!(
                    "`{p}.running_var` has negative entries"
                )));
            }
            let scale = w.div(&(var + eps)?.sqrt()?)?;
            let shift = b.sub(&m.mul(&scale)?)?;
            Ok(Affine { scale, shift })
        };
        let gate = |name: String| -> Result<Option<Gate>> {
            match raw.iter().any(|(n, _)| *n == format!("{name}.weight")) {
                false => Ok(None),
                true => {
                    let w = get(&format!("{name}.weight"))?;
                    let (outputs, inputs) = w.dims2()?;
                    Ok(Some(Gate {
                        weight: w.t()?.contiguous()?.flatten_all()?.to_vec1::<f32>()?,
                        bias: get(&format!("{name}.bias"))?.to_vec1::<f32>()?,
                        inputs,
                        outputs,
                    }))
                }
            }
        };
        let arch = &card.arch;
        let mut blocks = Vec::new();
        let mut cin = arch.widths[0];
        let mut hw = card.input.size;
        for (s, &w) in arch.widths.iter().enumerate() {
            for i in 0..arch.blocks_per_stage {
                let stride = if s > 0 && i == 0 { 2 } else { 1 };
                let p = format!("layer{}.{}", s + 1, i);
                let out_hw = hw.div_ceil(stride);
                blocks.push(Block {
                    stage: s + 1,
                    index: i,
                    in_ch: cin,
                    out_ch: w,
                    stride,
                    in_hw: hw,
                    out_hw,
                    conv1: get(&format!("{p}.conv1.weight"))?,
                    bn1: affine(&format!("{p}.bn1"))?,
                    conv2: get(&format!("{p}.conv2.weight"))?,
                    bn2: affine(&format!("{p}.bn2"))?,
                    gate_l: gate(format!("{p}.gate_l"))?,
                    gate_c: gate(format!("{p}.gate_c"))?,
                });
                cin = w;
                hw = out_hw;
            }
        }
        Ok(Self {
            stem: get("conv1.weight")?,
            stem_bn: affine("bn1")?,
            blocks,
            linear_w: get("linear.weight")?,
            linear_b: get("linear.bias")?,
            card,
            raw,
        })
    }

    /// Number of learned parameters (BN running statistics excluded).
    pub fn num_params(&self) -> usize {
        self.raw
            .iter()
            .filter(|(n, _)| !n.ends_with("running_mean") && !n.ends_with("running_var"))
            .map(|(_, t)| t.elem_count())
            .sum()
    }

    /// Number of parameters in the gates alone.
    pub fn num_gate_params(&self) -> usize {
        self.raw
            .iter()
            .filter(|(n, _)| n.contains(".gate_"))
            .map(|(_, t)| t.elem_count())
            .sum()
    }

    /// Whether any block has an L-Net gate.
    pub fn has_l_gates(&self) -> bool {
        self.blocks.iter().any(|b| b.gate_l.is_some())
    }

    /// Whether any block has a C-Net gate.
    pub fn has_c_gates(&self) -> bool {
        self.blocks.iter().any(|b| b.gate_c.is_some())
    }

    /// The device all tensors live on (always the CPU here).
    pub fn device(&self) -> Device {
        Device::Cpu
    }
}
