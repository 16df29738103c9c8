//! One image in, one [`Trace`] out: the entry point the CLI and the wasm module share.

use candle_core::{Device, Tensor};
use web_time::Instant;

use crate::error::{Error, Result};
use crate::exec::fast::{self, FoldedNet, TimeSplit};
use crate::exec::{sliced, Decision, Mode, OptionOverrides, Options, DEFAULT_TOP_K};
use crate::macs::{block_macs, fixed_macs, static_macs};
use crate::model::{file, Network};
use crate::trace::{softmax, top_k, BlockTrace, Trace};

/// A [`Network`] ready for the fast path: the model plus its weights folded with BN and packed
/// once ([`FoldedNet`]). The packed form belongs to the fast path, so the model stays plain data
/// (a [`Network`] alone evaluates, traces and saves); what classifies images one at a time, the
/// CLI and the browser, holds one of these. Dereferences to its [`Network`].
#[derive(Debug, Clone)]
pub struct Classifier {
    network: Network,
    folded: FoldedNet,
}

impl Classifier {
    /// Folds and packs `network`'s weights for the fast path.
    pub fn new(network: Network) -> Result<Self> {
        let folded = FoldedNet::new(&network)?;
        Ok(Self { network, folded })
    }

    /// Loads and validates a model file ([`crate::load`]), then packs it.
    pub fn load(bytes: &[u8]) -> Result<Self> {
        Self::new(file::load(bytes)?)
    }

    /// The model.
    pub fn network(&self) -> &Network {
        &self.network
    }

    /// The folded weights the fast path runs.
    pub fn folded(&self) -> &FoldedNet {
        &self.folded
    }

    /// Classifies one normalised input (`[3·size·size]`, from [`crate::preprocess::to_input`])
    /// on the fast path, where skipped blocks and channels are not computed.
    pub fn classify(&self, input: &[f32], opts: &Options) -> Result<Trace> {
        let net = &self.network;
        net.check_input(input)?;
        let start = Instant::now();
        let out = fast::forward(net, &self.folded, input, opts)?;
        let elapsed_ms = start.elapsed().as_secs_f64() * 1e3;
        Ok(net.trace(&out.logits, &out.decisions, opts, elapsed_ms))
    }
}

impl Classifier {
    /// The pass [`Classifier::classify`] makes, with the time of each part of it measured
    /// ([`fast::forward_timed`]): for `lcnet bench`.
    pub fn time_split(&self, input: &[f32], opts: &Options) -> Result<TimeSplit> {
        self.network.check_input(input)?;
        fast::forward_timed(&self.network, &self.folded, input, opts).map(|(_, t)| t)
    }
}

impl std::ops::Deref for Classifier {
    type Target = Network;

    fn deref(&self) -> &Network {
        &self.network
    }
}

impl Network {
    fn check_input(&self, input: &[f32]) -> Result<()> {
        let size = self.card.input.size;
        if input.len() != 3 * size * size {
            return Err(Error::BadImage(format!(
                "input has {} values, expected 3×{size}×{size}",
                input.len()
            )));
        }
        Ok(())
    }

    /// [`Classifier::classify`] on the reference path: the same skipping, done with candle's
    /// stock convolutions on sliced weights.
    pub fn classify_reference(&self, input: &[f32], opts: &Options) -> Result<Trace> {
        self.check_input(input)?;
        let size = self.card.input.size;
        let x = Tensor::from_slice(input, (1, 3, size, size), &Device::Cpu)?;
        let start = Instant::now();
        let out = sliced::forward(self, &x, opts)?;
        let elapsed_ms = start.elapsed().as_secs_f64() * 1e3;
        Ok(self.trace(&out.logits, &out.decisions, opts, elapsed_ms))
    }

    /// Builds the trace of one image from its logits and gate decisions.
    pub fn trace(
        &self,
        logits: &[f32],
        decisions: &[Decision],
        opts: &Options,
        elapsed_ms: f64,
    ) -> Trace {
        let probs = softmax(logits);
        let top = top_k(
            &probs,
            &self.card.classes,
            opts.top_k.max(1).min(probs.len()),
        );
        let best = top[0].clone();
        let mut blocks = Vec::with_capacity(decisions.len());
        let mut macs = fixed_macs(self);
        let mut macs_gates = 0;
        for (b, d) in self.blocks.iter().zip(decisions) {
            let m = block_macs(
                b,
                d.s_l.is_some(),
                d.s_c.is_some(),
                d.executed,
                d.kept.len(),
            );
            macs += m.total();
            macs_gates += m.gates;
            let scales = match &d.s_c {
                Some(s) => d.kept.iter().map(|&j| s[j]).collect(),
                None => vec![1.0; d.kept.len()],
            };
            blocks.push(BlockTrace {
                stage: b.stage,
                index: b.index,
                executed: d.executed,
                s_l: d.s_l,
                channels_total: b.out_ch,
                channels_kept: d.kept.len(),
                kept: d.kept.clone(),
                scales,
                s_c: d.s_c.clone(),
                macs: m.total(),
                macs_gates: m.gates,
                macs_static: block_macs(b, false, false, true, b.out_ch).total(),
                out_hw: b.out_hw,
                forced: opts.forced(b),
            });
        }
        Trace {
            mode: opts.mode,
            tau_l: opts.tau_l,
            tau_c: opts.tau_c,
            label: best.label.clone(),
            class_index: best.index,
            prob: best.prob,
            top,
            logits: logits.to_vec(),
            macs,
            macs_static: static_macs(self),
            macs_gates,
            blocks_executed: blocks.iter().filter(|b| b.executed).count(),
            blocks_total: blocks.len(),
            blocks,
            elapsed_ms,
        }
    }

    /// Options at the model card's default thresholds; static when the model has no gates.
    pub fn default_options(&self) -> Options {
        let t = self.card.thresholds;
        // the gates the model has: a model with L-Net gates only runs "l", so a trace names what ran
        let mode = match &self.card.gates {
            Some(g) if g.l_net && g.c_net => Mode::Lc,
            Some(g) if g.l_net => Mode::L,
            Some(g) if g.c_net => Mode::C,
            _ => Mode::Static,
        };
        Options {
            mode,
            tau_l: t.tau_l,
            tau_c: t.tau_c,
            top_k: DEFAULT_TOP_K,
            force_on: Vec::new(),
            force_off: Vec::new(),
        }
    }

    /// The card's defaults with `changes` applied, validated for this model (thresholds not NaN,
    /// forced blocks that exist and are not forced both ways).
    pub fn options(&self, changes: &OptionOverrides) -> Result<Options> {
        let mut o = self.default_options();
        if let Some(m) = changes.mode {
            o.mode = m;
        }
        if let Some(t) = changes.tau_l {
            o.tau_l = t;
        }
        if let Some(t) = changes.tau_c {
            o.tau_c = t;
        }
        if let Some(k) = changes.top_k {
            o.top_k = k;
        }
        o.force_on.clone_from(&changes.force_on);
        o.force_off.clone_from(&changes.force_off);
        o.validate_for(self)?;
        Ok(o)
    }
}
