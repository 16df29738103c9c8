//! The gating mode: which of a model's gates a run evaluates. A model-level notion (the card's
//! evaluation records it per curve point); the execution paths read it through `exec::Mode`.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Which gates are active.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// No gate is evaluated: every block and channel runs (the plain ResNet).
    Static,
    /// L-Net only: blocks may be skipped, all channels of a run block are computed.
    L,
    /// C-Net only: every block runs, channels may be skipped.
    C,
    /// Both gates (LC-Net).
    #[default]
    Lc,
}

impl Mode {
    /// Whether L-Net gates are evaluated.
    pub fn uses_l(self) -> bool {
        matches!(self, Mode::L | Mode::Lc)
    }
    /// Whether C-Net gates are evaluated.
    pub fn uses_c(self) -> bool {
        matches!(self, Mode::C | Mode::Lc)
    }
}

impl std::str::FromStr for Mode {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "static" => Ok(Mode::Static),
            "l" | "lnet" | "l-net" => Ok(Mode::L),
            "c" | "cnet" | "c-net" => Ok(Mode::C),
            "lc" | "lcnet" | "lc-net" | "dynamic" => Ok(Mode::Lc),
            other => Err(Error::BadOptions(format!(
                "unknown mode {other:?} (static, l, c, lc)"
            ))),
        }
    }
}
