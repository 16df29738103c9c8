//! Accuracy and compute statistics over many images: from the batched masked path
//! ([`Evaluator::add_batch`]) or from traces made elsewhere, such as the fast path's
//! ([`Evaluator::add_trace`]; `lcnet eval` runs it on every core).

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::exec::{masked, Options};
use crate::model::Network;
use crate::trace::Trace;

/// Summary of an evaluation run.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct EvalReport {
    /// Images evaluated.
    pub n: usize,
    /// Correct top-1 predictions.
    pub correct: usize,
    /// `correct / n`, 0–1.
    pub accuracy: f64,
    /// Mean MACs per image (gates included).
    pub macs_mean: f64,
    /// Standard deviation of MACs per image.
    pub macs_std: f64,
    /// Static network MACs.
    pub macs_static: u64,
    /// `macs_mean / macs_static`.
    pub macs_fraction: f64,
    /// Mean gate MACs per image.
    pub macs_gates_mean: f64,
    /// Per block (execution order), the fraction of images for which it ran.
    pub block_exec_rate: Vec<f64>,
    /// Standard deviation over images of the number of blocks run.
    #[serde(default)]
    pub blocks_run_std: f64,
    /// How many different sets of blocks run (block patterns) occurred over the images.
    #[serde(default)]
    pub distinct_block_patterns: usize,
    /// Mean MACs over the correctly classified images (0 when there are none).
    #[serde(default)]
    pub macs_mean_correct: f64,
    /// Mean MACs over the wrongly classified images (0 when there are none).
    #[serde(default)]
    pub macs_mean_wrong: f64,
    /// Per stage, the mean fraction of channels kept in the blocks that ran.
    pub channel_density: Vec<f64>,
    /// Options used.
    pub options: Options,
}

/// Accumulates per-image results.
#[derive(Debug, Clone)]
pub struct Evaluator {
    options: Options,
    n: usize,
    correct: usize,
    macs_sum: f64,
    macs_sq: f64,
    gates_sum: f64,
    exec_counts: Vec<usize>,
    blocks_run_sum: f64,
    blocks_run_sq: f64,
    patterns: HashSet<Vec<bool>>,
    macs_correct_sum: f64,
    kept_frac_sum: [f64; 3],
    kept_frac_n: [usize; 3],
    /// Predicted class per image, in the order seen.
    pub predictions: Vec<usize>,
}

impl Evaluator {
    /// A fresh evaluator for `net` under `options`.
    pub fn new(net: &Network, options: Options) -> Self {
        Self {
            options,
            n: 0,
            correct: 0,
            macs_sum: 0.0,
            macs_sq: 0.0,
            gates_sum: 0.0,
            exec_counts: vec![0; net.blocks.len()],
            blocks_run_sum: 0.0,
            blocks_run_sq: 0.0,
            patterns: HashSet::new(),
            macs_correct_sum: 0.0,
            kept_frac_sum: [0.0; 3],
            kept_frac_n: [0; 3],
            predictions: Vec::new(),
        }
    }

    /// Runs one batch of normalised inputs with their labels.
    pub fn add_batch(
        &mut self,
        net: &Network,
        inputs: &[Vec<f32>],
        labels: &[usize],
    ) -> Result<()> {
        if inputs.is_empty() {
            return Ok(());
        }
        let x = masked::batch(inputs, net.card.input.size)?;
        let out = masked::forward(net, &x, &self.options)?;
        let logits = out.logits.to_vec2::<f32>()?;
        for ((row, decisions), &label) in logits.iter().zip(&out.decisions).zip(labels) {
            self.add_trace(&net.trace(row, decisions, &self.options, 0.0), label);
        }
        Ok(())
    }

    /// Counts one image's trace (made under this evaluator's options) with its label.
    pub fn add_trace(&mut self, t: &Trace, label: usize) {
        self.n += 1;
        let m = t.macs as f64;
        if t.class_index == label {
            self.correct += 1;
            self.macs_correct_sum += m;
        }
        self.predictions.push(t.class_index);
        self.macs_sum += m;
        self.macs_sq += m * m;
        let pattern: Vec<bool> = t.blocks.iter().map(|b| b.executed).collect();
        let run = pattern.iter().filter(|&&e| e).count() as f64;
        self.blocks_run_sum += run;
        self.blocks_run_sq += run * run;
        self.patterns.insert(pattern);
        self.gates_sum += t.macs_gates as f64;
        for (i, b) in t.blocks.iter().enumerate() {
            if b.executed {
                self.exec_counts[i] += 1;
                let s = (b.stage - 1).min(2);
                self.kept_frac_sum[s] += b.channels_kept as f64 / b.channels_total as f64;
                self.kept_frac_n[s] += 1;
            }
        }
    }

    /// The summary so far.
    pub fn report(&self, net: &Network) -> EvalReport {
        let n = self.n.max(1) as f64;
        let mean = self.macs_sum / n;
        let var = (self.macs_sq / n - mean * mean).max(0.0);
        let macs_static = crate::macs::static_macs(net);
        let run_mean = self.blocks_run_sum / n;
        let wrong = self.n - self.correct;
        EvalReport {
            n: self.n,
            correct: self.correct,
            accuracy: self.correct as f64 / n,
            macs_mean: mean,
            macs_std: var.sqrt(),
            macs_static,
            macs_fraction: mean / macs_static as f64,
            macs_gates_mean: self.gates_sum / n,
            block_exec_rate: self.exec_counts.iter().map(|&c| c as f64 / n).collect(),
            blocks_run_std: (self.blocks_run_sq / n - run_mean * run_mean)
                .max(0.0)
                .sqrt(),
            distinct_block_patterns: self.patterns.len(),
            macs_mean_correct: self.macs_correct_sum / self.correct.max(1) as f64,
            macs_mean_wrong: (self.macs_sum - self.macs_correct_sum) / wrong.max(1) as f64,
            channel_density: (0..3)
                .map(|s| self.kept_frac_sum[s] / self.kept_frac_n[s].max(1) as f64)
                .collect(),
            options: self.options.clone(),
        }
    }
}

impl From<&EvalReport> for crate::model::CurvePoint {
    /// A curve point of the model card: the report's options (thresholds as the decimals a
    /// person typed: 0.95, not 0.949999988) and measurements.
    fn from(r: &EvalReport) -> Self {
        let round6 = |t: f32| (f64::from(t) * 1e6).round() / 1e6;
        Self {
            mode: r.options.mode,
            tau_l: round6(r.options.tau_l),
            tau_c: round6(r.options.tau_c),
            accuracy: r.accuracy,
            macs_mean: r.macs_mean,
            macs_std: r.macs_std,
            macs_fraction: r.macs_fraction,
            macs_gates_mean: r.macs_gates_mean,
            block_exec_rate: r.block_exec_rate.clone(),
            blocks_run_std: Some(r.blocks_run_std),
            distinct_block_patterns: Some(r.distinct_block_patterns),
            macs_mean_correct: Some(r.macs_mean_correct),
            macs_mean_wrong: Some(r.macs_mean_wrong),
            channel_density: r.channel_density.clone(),
        }
    }
}
