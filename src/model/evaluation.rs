//! The measured part of a model card: the accuracy–MACs curve `lcnet eval --sweep --write-card`
//! writes, read by `lcnet info` and the page. Typed and validated on load, so a reader can rely
//! on every point having the fields below and sane values.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::Mode;
use crate::error::{Error, Result};

/// A model's measured evaluation.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Evaluation {
    /// What was measured on, e.g. "CIFAR-10 (JPEG copy) test split".
    pub dataset: String,
    /// Images per point.
    pub n: usize,
    /// Accuracy of these weights run statically (every block and channel), 0–1.
    pub static_accuracy: f64,
    /// The command that measured it.
    pub measured_by: String,
    /// One point per setting, the static one first.
    pub curve: Vec<CurvePoint>,
    /// The static reference the card names, measured beside the curve.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub static_reference: Option<ReferenceEvaluation>,
}

/// One setting of the curve: every option needed to re-run it with `lcnet eval` flags, and what
/// that run measured (the fields of [`crate::eval::EvalReport`]).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CurvePoint {
    /// Gating mode (`--mode`).
    pub mode: Mode,
    /// `--tau-l`.
    pub tau_l: f64,
    /// `--tau-c`.
    pub tau_c: f64,
    /// Top-1 accuracy, 0–1.
    pub accuracy: f64,
    /// Mean MACs per image.
    pub macs_mean: f64,
    /// Standard deviation of MACs per image.
    pub macs_std: f64,
    /// `macs_mean` / static MACs.
    pub macs_fraction: f64,
    /// Mean MACs of the gates per image.
    pub macs_gates_mean: f64,
    /// Per block, the share of images that ran it.
    pub block_exec_rate: Vec<f64>,
    /// Standard deviation of the blocks run per image (cards measured before it was added lack it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blocks_run_std: Option<f64>,
    /// Different sets of blocks run over the images.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub distinct_block_patterns: Option<usize>,
    /// Mean MACs of the correctly classified images.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub macs_mean_correct: Option<f64>,
    /// Mean MACs of the wrongly classified images.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub macs_mean_wrong: Option<f64>,
    /// Per stage, the mean share of channels kept in the blocks that ran.
    pub channel_density: Vec<f64>,
}

/// The static reference's measured accuracy.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ReferenceEvaluation {
    /// The model file (as the card's `static_reference` names it).
    pub file: String,
    /// Its card's name.
    pub name: String,
    /// Its static accuracy, 0–1.
    pub accuracy: f64,
}

fn bad(msg: String) -> Error {
    Error::BadCard(format!("evaluation: {msg}"))
}

fn share(what: impl fmt::Display, v: f64) -> Result<()> {
    if (0.0..=1.0).contains(&v) {
        Ok(())
    } else {
        Err(bad(format!("{what} {v} is not in [0, 1]")))
    }
}

fn non_negative(what: impl fmt::Display, v: f64) -> Result<()> {
    if v.is_finite() && v >= 0.0 {
        Ok(())
    } else {
        Err(bad(format!(
            "{what} {v} is not a finite non-negative number"
        )))
    }
}

/// A field of a curve point, as an error message names it (`curve[3].accuracy`); formatted only
/// when a check fails, since every load checks every point.
struct At(usize, &'static str);

impl fmt::Display for At {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "curve[{}].{}", self.0, self.1)
    }
}

impl Evaluation {
    /// Checks what a reader relies on, for a model of `blocks` blocks: shares in [0, 1], MACs
    /// finite and non-negative, one rate per block, three stage densities, thresholds not NaN.
    pub fn validate(&self, blocks: usize) -> Result<()> {
        share("static_accuracy", self.static_accuracy)?;
        for (i, p) in self.curve.iter().enumerate() {
            let at = |f: &'static str| At(i, f);
            if p.tau_l.is_nan() || p.tau_c.is_nan() {
                return Err(bad(format!("{} is NaN", at("tau"))));
            }
            share(at("accuracy"), p.accuracy)?;
            for (f, v) in [
                ("macs_mean", p.macs_mean),
                ("macs_std", p.macs_std),
                ("macs_fraction", p.macs_fraction),
                ("macs_gates_mean", p.macs_gates_mean),
            ]
            .into_iter()
            .chain(p.blocks_run_std.map(|v| ("blocks_run_std", v)))
            .chain(p.macs_mean_correct.map(|v| ("macs_mean_correct", v)))
            .chain(p.macs_mean_wrong.map(|v| ("macs_mean_wrong", v)))
            {
                non_negative(at(f), v)?;
            }
            if p.block_exec_rate.len() != blocks {
                return Err(bad(format!(
                    "{} has {} values for {blocks} blocks",
                    at("block_exec_rate"),
                    p.block_exec_rate.len()
                )));
            }
            if p.channel_density.len() != 3 {
                return Err(bad(format!(
                    "{} has {} values for 3 stages",
                    at("channel_density"),
                    p.channel_density.len()
                )));
            }
            for &v in p.block_exec_rate.iter().chain(&p.channel_density) {
                share(at("block_exec_rate/channel_density"), v)?;
            }
        }
        if let Some(r) = &self.static_reference {
            share("static_reference.accuracy", r.accuracy)?;
        }
        Ok(())
    }
}
