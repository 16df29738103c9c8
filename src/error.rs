//! The library's error type: every failure a user can cause has a variant with a readable message.

use thiserror::Error;

/// Everything that can go wrong in the lcnet library.
#[derive(Debug, Error)]
pub enum Error {
    /// The bytes are not a safetensors file (or its header is inconsistent).
    #[error("not a valid safetensors model file: {0}")]
    NotSafetensors(String),
    /// The safetensors file has no lcnet model card in its metadata.
    #[error("the file has no lcnet model card (metadata key \"lcnet\"); plain PyTorch state dicts must be wrapped with `lcnet import` first")]
    MissingCard,
    /// The model card is not valid JSON or does not follow the schema.
    #[error("invalid model card: {0}")]
    BadCard(String),
    /// The model card declares a format version this build does not read.
    #[error("unsupported model card version {found} (this build reads version {supported})")]
    UnsupportedVersion {
        /// Version found in the file.
        found: u32,
        /// Version this build understands.
        supported: u32,
    },
    /// A tensor the architecture needs is absent.
    #[error("missing tensor `{0}`")]
    MissingTensor(String),
    /// The file holds a tensor the architecture does not use.
    #[error("unexpected tensor `{0}` (not part of a depth-{1} model{2})")]
    ExtraTensor(String, usize, &'static str),
    /// A tensor has the wrong shape.
    #[error("tensor `{name}` has shape {found:?}, expected {expected:?}")]
    BadShape {
        /// Tensor name.
        name: String,
        /// Shape in the file.
        found: Vec<usize>,
        /// Shape the architecture needs.
        expected: Vec<usize>,
    },
    /// A tensor has a dtype other than f32/f16.
    #[error("tensor `{name}` has dtype {dtype}, expected F32 or F16")]
    BadDtype {
        /// Tensor name.
        name: String,
        /// Dtype in the file.
        dtype: String,
    },
    /// A tensor holds NaN or infinity.
    #[error("tensor `{0}` contains NaN or infinite values")]
    NotFinite(String),
    /// The architecture described is not a CIFAR ResNet-(6n+2) this crate runs.
    #[error("unsupported architecture: {0}")]
    BadArch(String),
    /// Image pixels do not match the stated size, or the size is out of bounds.
    #[error("invalid image: {0}")]
    BadImage(String),
    /// Inference options out of range.
    #[error("invalid options: {0}")]
    BadOptions(String),
    /// A dataset could not be read.
    #[error("dataset: {0}")]
    Data(String),
    /// An error inside candle (should not happen for validated models).
    #[error("tensor computation failed: {0}")]
    Candle(#[from] candle_core::Error),
}

/// Result alias for the library.
pub type Result<T> = std::result::Result<T, Error>;
