//! The model card: the JSON stored under the metadata key `lcnet` of every lcnet model file.
//!
//! The PyTorch trainer (`train/`) writes exactly this schema; the loader refuses unknown
//! top-level keys so that a typo in either side shows up as an error, not as a silent default.

use serde::{Deserialize, Serialize};

use super::evaluation::Evaluation;
use crate::error::{Error, Result};

/// Metadata key under which the card is stored in the safetensors header.
pub const CARD_KEY: &str = "lcnet";
/// The card format version this build reads and writes.
pub const CARD_VERSION: u32 = 1;
/// CIFAR-10 class names in label order.
pub const CIFAR10_CLASSES: [&str; 10] = [
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
];

/// A full model card.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ModelCard {
    /// Always `"lcnet"`.
    pub format: String,
    /// Card format version ([`CARD_VERSION`]).
    pub version: u32,
    /// Short model name, e.g. `lcnet-r20`.
    pub name: String,
    /// The network's shape.
    pub arch: ArchSpec,
    /// Class names in label order.
    pub classes: Vec<String>,
    /// How pixels become the network's input.
    pub input: InputSpec,
    /// Gate configuration; `null` for a static ResNet.
    pub gates: Option<GateSpec>,
    /// Default inference thresholds.
    pub thresholds: Thresholds,
    /// Where the weights come from (trainer, config, epochs, data hash...). Free-form object.
    #[serde(default)]
    pub provenance: serde_json::Value,
    /// Measured evaluation (accuracy–MACs curve), once `lcnet eval --sweep --write-card` ran.
    #[serde(default)]
    pub evaluation: Option<Evaluation>,
    /// The static network this model is compared with, when it is not these weights run with
    /// every block and channel: a model file beside this one (a bare file name, e.g. the backbone
    /// the gates were trained from). Jointly trained weights fit their gates, so run statically
    /// they are out of calibration; the reference is the calibrated static network of the same
    /// architecture.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub static_reference: Option<String>,
}

/// CIFAR ResNet-(6n+2) description.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ArchSpec {
    /// 6n+2.
    pub depth: usize,
    /// n: BasicBlocks per stage.
    pub blocks_per_stage: usize,
    /// Channels of the three stages (16, 32, 64 for the standard nets).
    pub widths: [usize; 3],
    /// Output classes.
    pub num_classes: usize,
    /// Shortcut option on downsampling blocks; only `"A"` (subsample + zero-pad) is supported.
    pub shortcut: String,
    /// BatchNorm epsilon.
    pub bn_eps: f64,
}

/// Input pre-processing.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct InputSpec {
    /// Side of the square input (32).
    pub size: usize,
    /// Per-channel mean of RGB values scaled to 0–1.
    pub mean: [f32; 3],
    /// Per-channel standard deviation of RGB values scaled to 0–1.
    pub std: [f32; 3],
}

/// Which gates the file holds.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct GateSpec {
    /// L-Net gates present (`layerS.I.gate_l`).
    pub l_net: bool,
    /// C-Net gates present (`layerS.I.gate_c`).
    pub c_net: bool,
    /// Whether the gates were trained (false: freshly initialised, they skip nothing useful).
    pub trained: bool,
}

/// Inference thresholds: skip when gate ≤ τ.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Thresholds {
    /// Block threshold τ_L.
    pub tau_l: f32,
    /// Channel threshold τ_C.
    pub tau_c: f32,
}

impl ArchSpec {
    /// The standard CIFAR ResNet of the given n (16/32/64 channels, 10 classes).
    pub fn cifar(n: usize) -> Self {
        Self {
            depth: 6 * n + 2,
            blocks_per_stage: n,
            widths: [16, 32, 64],
            num_classes: 10,
            shortcut: "A".into(),
            bn_eps: 1e-5,
        }
    }

    /// Checks internal consistency.
    pub fn validate(&self) -> Result<()> {
        let n = self.blocks_per_stage;
        if n == 0 || n > 200 {
            return Err(Error::BadArch(format!(
                "blocks_per_stage {n} is not in 1..=200"
            )));
        }
        if self.depth != 6 * n + 2 {
            return Err(Error::BadArch(format!(
                "depth {} does not equal 6·{n}+2",
                self.depth
            )));
        }
        if self.shortcut != "A" {
            return Err(Error::BadArch(format!(
                "shortcut option {:?} (only \"A\" is supported)",
                self.shortcut
            )));
        }
        if self
            .widths
            .iter()
            .any(|&w| w == 0 || w > 4096 || w % 2 != 0)
        {
            return Err(Error::BadArch(format!(
                "widths {:?} must be even and in 2..=4096",
                self.widths
            )));
        }
        if self.widths[0] > self.widths[1] || self.widths[1] > self.widths[2] {
            return Err(Error::BadArch(format!(
                "widths {:?} must not decrease",
                self.widths
            )));
        }
        if self.num_classes == 0 || self.num_classes > 100_000 {
            return Err(Error::BadArch(format!("num_classes {}", self.num_classes)));
        }
        if !(self.bn_eps > 0.0 && self.bn_eps < 1.0) {
            return Err(Error::BadArch(format!("bn_eps {}", self.bn_eps)));
        }
        Ok(())
    }
}

impl ModelCard {
    /// A card for a static (gate-less) CIFAR-10 ResNet with the given normalisation.
    pub fn static_cifar10(name: &str, n: usize, mean: [f32; 3], std: [f32; 3]) -> Self {
        Self {
            format: "lcnet".into(),
            version: CARD_VERSION,
            name: name.into(),
            arch: ArchSpec::cifar(n),
            classes: CIFAR10_CLASSES.iter().map(|s| s.to_string()).collect(),
            input: InputSpec {
                size: 32,
                mean,
                std,
            },
            gates: None,
            thresholds: Thresholds {
                tau_l: 0.5,
                tau_c: 0.5,
            },
            provenance: serde_json::Value::Null,
            evaluation: None,
            static_reference: None,
        }
    }

    /// Parses and validates a card from its JSON text.
    pub fn from_json(text: &str) -> Result<Self> {
        // Straight from the text: going through a `serde_json::Value` first doubled the time a
        // model takes to load in wasm. A card that fails is read again for the clearest message.
        let card: ModelCard = serde_json::from_str(text).map_err(|e| Self::why_not(text, e))?;
        if card.version != CARD_VERSION {
            return Err(Error::UnsupportedVersion {
                found: card.version,
                supported: CARD_VERSION,
            });
        }
        card.validate()?;
        Ok(card)
    }

    /// Why `text` is not a card of this version, `strict` being the strict parse's error: not
    /// JSON; another version (said first, since a newer card fails the strict parse on its new
    /// fields); else what the strict parse found.
    fn why_not(text: &str, strict: serde_json::Error) -> Error {
        let raw: serde_json::Value = match serde_json::from_str(text) {
            Ok(raw) => raw,
            Err(e) => return Error::BadCard(format!("not JSON: {e}")),
        };
        if let Some(v) = raw.get("version").and_then(|v| v.as_u64()) {
            if v != CARD_VERSION as u64 {
                return Error::UnsupportedVersion {
                    found: v.min(u32::MAX as u64) as u32,
                    supported: CARD_VERSION,
                };
            }
        }
        Error::BadCard(strict.to_string())
    }

    /// Serialises the card to compact JSON.
    pub fn to_json(&self) -> String {
        // Serialising plain data with string keys cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Checks values the schema alone cannot.
    pub fn validate(&self) -> Result<()> {
        if self.format != "lcnet" {
            return Err(Error::BadCard(format!(
                "format is {:?}, expected \"lcnet\"",
                self.format
            )));
        }
        self.arch.validate()?;
        if self.classes.len() != self.arch.num_classes {
            return Err(Error::BadCard(format!(
                "{} class names for {} classes",
                self.classes.len(),
                self.arch.num_classes
            )));
        }
        if self.input.size != 32 {
            return Err(Error::BadCard(format!(
                "input size {} (only 32 is supported)",
                self.input.size
            )));
        }
        if self.input.std.iter().any(|s| !(s.is_finite() && *s > 0.0))
            || self.input.mean.iter().any(|m| !m.is_finite())
        {
            return Err(Error::BadCard(
                "input mean/std must be finite and std > 0".into(),
            ));
        }
        let t = self.thresholds;
        if !(t.tau_l.is_finite() && t.tau_c.is_finite()) {
            return Err(Error::BadCard("thresholds must be finite".into()));
        }
        if let Some(r) = &self.static_reference {
            check_reference_name(r)?;
        }
        if let Some(e) = &self.evaluation {
            e.validate(3 * self.arch.blocks_per_stage)?;
            if let Some(r) = &e.static_reference {
                if self.static_reference.as_deref() != Some(r.file.as_str()) {
                    return Err(Error::BadCard(format!(
                        "evaluation: static_reference.file {:?} is not the card's static_reference {:?}",
                        r.file, self.static_reference
                    )));
                }
            }
        }
        Ok(())
    }

    /// Whether `other` can stand for this model's static network: same architecture, classes
    /// and input pre-processing (so both see the same input and their MACs compare one to one).
    pub fn check_static_reference(&self, other: &ModelCard) -> Result<()> {
        let what = if other.arch != self.arch {
            "architecture"
        } else if other.classes != self.classes {
            "classes"
        } else if other.input != self.input {
            "input pre-processing"
        } else {
            return Ok(());
        };
        Err(Error::BadCard(format!(
            "static reference {:?} differs in its {what} from {:?}",
            other.name, self.name
        )))
    }
}

/// A static reference names a model file in the same folder: a plain file name, so a card can
/// never point a loader (or the page's fetch) outside that folder.
fn check_reference_name(name: &str) -> Result<()> {
    let plain = !name.is_empty()
        && name.len() <= 128
        && !name.starts_with('.')
        && name.ends_with(".safetensors")
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if plain {
        Ok(())
    } else {
        Err(Error::BadCard(format!(
            "static_reference {name:?} must be a plain .safetensors file name (letters, digits, \"-\", \"_\", \".\")"
        )))
    }
}
