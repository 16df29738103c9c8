//! # lcnet — fully dynamic inference (LC-Net) for CIFAR ResNets
//!
//! A CIFAR ResNet-(6n+2) whose residual blocks each carry two tiny gates read off the block's
//! pooled input: the **L-Net** gate decides whether the block runs at all, the **C-Net** gate
//! which of its channels are computed; both also scale what they keep. The pipeline:
//!
//! - [`model`]: the network, defined once, and its file format (safetensors + model card);
//! - [`exec`]: the forward passes — the batch-1 *fast* path ([`exec::fast`], its convolution
//!   kernel in [`exec::kernel`]), where skipped blocks and channels cost nothing: what the CLI
//!   and the browser run, through [`Classifier::classify`]; the *sliced* path ([`exec::sliced`]),
//!   the same skipping on candle's stock convolutions, the reference the fast path is tested
//!   against; and the batched *masked* path ([`exec::masked`]), where gates multiply by zero,
//!   for evaluation;
//! - [`macs`]: exact multiply-accumulate accounting;
//! - [`trace`]: what one pass did, the contract with the web page;
//! - [`preprocess`]: pixels → input, shared by the CLI and wasm;
//! - [`eval`]: accuracy and compute statistics over a dataset;
//! - `data` (native): CIFAR-10 readers; `wasm` (wasm32): the browser surface.

pub mod error;
pub mod eval;
pub mod exec;
pub mod image_header;
pub mod infer;
pub mod info;
pub mod macs;
pub mod model;
pub mod preprocess;
pub mod trace;

#[cfg(not(target_arch = "wasm32"))]
pub mod data;
#[cfg(target_arch = "wasm32")]
pub mod wasm;

pub use error::{Error, Result};
pub use exec::{Mode, OptionOverrides, Options};
pub use infer::Classifier;
pub use model::{file::load, ModelCard, Network};
pub use trace::Trace;
