//! `lcnet`: inspect, import, classify, evaluate and benchmark LC-Net models. (The demo's server
//! and sample gallery are `lcnet-www`, in `tools/www`: they need no model code.)

/// `println!` that ends the program quietly when stdout is closed (e.g. piped into `head`).
macro_rules! out {
    ($($t:tt)*) => { $crate::emit(format_args!($($t)*)) };
}

mod bench;
mod classify;
mod eval;
mod import;
mod info;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};

/// Fully dynamic inference (LC-Net) for CIFAR ResNets.
#[derive(Parser)]
#[command(name = "lcnet", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Architecture, parameters, gates, static MACs and model card of a model file.
    Info(info::Args),
    /// Wrap a plain PyTorch CIFAR ResNet state dict (safetensors) into an lcnet model file.
    Import(import::Args),
    /// Classify images and show what each one computed.
    Classify(classify::Args),
    /// Accuracy and compute over CIFAR-10 (JPEG tree, .tar.gz of it, or binary batches).
    Eval(eval::Args),
    /// Time static vs dynamic inference (batch 1, fast path; the stock candle path for reference) on the same images.
    Bench(bench::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Info(a) => info::run(a),
        Command::Import(a) => import::run(a),
        Command::Classify(a) => classify::run(a),
        Command::Eval(a) => eval::run(a),
        Command::Bench(a) => bench::run(a),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Writes one line to stdout; a closed pipe ends the program with success, as for `cat`.
pub(crate) fn emit(args: std::fmt::Arguments<'_>) {
    use std::io::Write;
    if let Err(e) = writeln!(std::io::stdout().lock(), "{args}") {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("error: cannot write output: {e}");
        std::process::exit(1);
    }
}

/// Reads and validates a model file, naming the file in any error.
pub(crate) fn load_model(path: &Path) -> anyhow::Result<lcnet::Network> {
    let bytes = read_capped(path, lcnet::model::file::MAX_MODEL_BYTES)?;
    lcnet::load(&bytes).with_context(|| format!("{} is not a usable lcnet model", path.display()))
}

/// The static reference `net`'s card names (a model file beside `model_path`), loaded and checked
/// to be comparable; `None` when the card names none.
pub(crate) fn load_static_reference(
    model_path: &Path,
    net: &lcnet::Network,
) -> anyhow::Result<Option<(PathBuf, lcnet::Network)>> {
    let Some(name) = &net.card.static_reference else {
        return Ok(None);
    };
    let path = model_path.parent().unwrap_or(Path::new(".")).join(name);
    let reference = load_model(&path).with_context(|| {
        format!(
            "the static reference {name:?} named by {}",
            model_path.display()
        )
    })?;
    net.card.check_static_reference(&reference.card)?;
    Ok(Some((path, reference)))
}

/// A one-line note on stderr when `opts` run `net` statically but its card names a static
/// reference: jointly trained weights without their gates are out of calibration, and a user
/// asking for "the static network" most likely wants the reference the page compares with.
pub(crate) fn note_static_reference(
    model_path: &Path,
    net: &lcnet::Network,
    opts: &lcnet::Options,
) {
    if opts.mode != lcnet::Mode::Static {
        return;
    }
    if let Some(name) = &net.card.static_reference {
        let reference = model_path.parent().unwrap_or(Path::new(".")).join(name);
        eprintln!(
            "note: {} was trained with its gates, so its weights without them are out of calibration; \
             its static reference is {} (run that with -m for the calibrated static network)",
            net.card.name,
            reference.display()
        );
    }
}

/// Reads a whole file, refusing ones over `cap` bytes.
pub(crate) fn read_capped(path: &Path, cap: u64) -> anyhow::Result<Vec<u8>> {
    let meta =
        std::fs::metadata(path).with_context(|| format!("cannot read {}", path.display()))?;
    anyhow::ensure!(meta.is_file(), "{} is not a file", path.display());
    anyhow::ensure!(
        meta.len() <= cap,
        "{} is {} MB, over the {} MB limit",
        path.display(),
        meta.len() / 1_000_000,
        cap / 1_000_000
    );
    std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))
}

/// Parses `r,g,b`.
pub(crate) fn parse_triple(s: &str) -> Result<[f32; 3], String> {
    let v: Vec<f32> = s
        .split(',')
        .map(|x| x.trim().parse::<f32>().map_err(|e| format!("{x:?}: {e}")))
        .collect::<Result<_, _>>()?;
    <[f32; 3]>::try_from(v)
        .map_err(|v| format!("expected 3 comma-separated numbers, got {}", v.len()))
}

/// Thresholds and mode shared by `classify` and `eval`.
#[derive(clap::Args, Clone)]
pub(crate) struct GateArgs {
    /// Run the static network (every block and channel, no gates).
    #[arg(long = "static")]
    static_: bool,
    /// Gating mode: lc (default), l (blocks only), c (channels only), static.
    #[arg(long)]
    mode: Option<String>,
    /// Block threshold τ_L (skip a block when s_L ≤ τ_L); default from the model card.
    #[arg(long, allow_negative_numbers = true)]
    tau_l: Option<f32>,
    /// Channel threshold τ_C (skip a channel when s_C ≤ τ_C); default from the model card.
    #[arg(long, allow_negative_numbers = true)]
    tau_c: Option<f32>,
    /// What if: run these blocks whatever their L-Net says, e.g. `--force-on 2.3,3.0`
    /// (STAGE.INDEX as `lcnet info` lists them; their C-Net still picks channels).
    #[arg(long, value_delimiter = ',', value_name = "S.I")]
    force_on: Vec<lcnet::exec::BlockRef>,
    /// What if: skip these blocks whatever their L-Net says, e.g. `--force-off 1.6`.
    #[arg(long, value_delimiter = ',', value_name = "S.I")]
    force_off: Vec<lcnet::exec::BlockRef>,
}

impl GateArgs {
    pub(crate) fn options(&self, net: &lcnet::Network) -> anyhow::Result<lcnet::Options> {
        let mode = match (&self.mode, self.static_) {
            (_, true) => Some(lcnet::Mode::Static),
            (Some(m), false) => Some(m.parse()?),
            (None, false) => None,
        };
        Ok(net.options(&lcnet::OptionOverrides {
            mode,
            tau_l: self.tau_l,
            tau_c: self.tau_c,
            top_k: None,
            force_on: self.force_on.clone(),
            force_off: self.force_off.clone(),
        })?)
    }
}

/// Default location of the default model (the per-image R20), relative to the project root.
pub(crate) fn default_model() -> PathBuf {
    PathBuf::from("weights/lcnet-r20-perimage.safetensors")
}

/// Formats a MAC count in millions.
pub(crate) fn mmacs(m: f64) -> String {
    format!("{:.2} M", m / 1e6)
}
