use std::path::PathBuf;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};

use lcnet::data::cifar::{self, Split};
use lcnet::eval::Evaluator;
use lcnet::preprocess;

#[derive(clap::Args)]
pub struct Args {
    /// Model file.
    #[arg(short, long, default_value_os_t = crate::default_model())]
    model: PathBuf,
    /// CIFAR-10: the JPEG tree, a .tar.gz of it, or the binary batches directory.
    #[arg(long)]
    data: PathBuf,
    /// Which split.
    #[arg(long, default_value = "test", value_parser = ["test", "train"])]
    split: String,
    /// Evaluate N images spread evenly over the split (every class represented).
    #[arg(long)]
    limit: Option<usize>,
    #[command(flatten)]
    gates: crate::GateArgs,
    /// Images per batch on the masked path.
    #[arg(long, default_value_t = 100)]
    batch: usize,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

pub fn run(a: Args) -> anyhow::Result<()> {
    let net = crate::load_model(&a.model)?;
    let opts = a.gates.options(&net)?;
    let split = if a.split == "train" {
        Split::Train
    } else {
        Split::Test
    };
    let loading = spinner(a.json, "decoding images");
    let ds = cifar::load(&a.data, split, &mut |done, _| {
        loading.set_position(done as u64)
    })
    .with_context(|| format!("cannot read CIFAR-10 from {}", a.data.display()))?;
    loading.finish_and_clear();
    let total = ds.len();
    let n = a.limit.unwrap_or(total).min(total);
    anyhow::ensure!(n > 0, "no images to evaluate");
    // Evenly spaced indices so that a limit still covers every class of a class-sorted set.
    let indices: Vec<usize> = (0..n).map(|i| i * total / n).collect();
    let bar = if a.json {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(n as u64)
    };
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} images  {per_sec}  eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let mut ev = Evaluator::new(&net, opts);
    for chunk in indices.chunks(a.batch.max(1)) {
        let inputs = chunk
            .iter()
            .map(|&i| preprocess::to_input(ds.image(i), 32, 32, 3, &net.card.input))
            .collect::<Result<Vec<_>, _>>()?;
        let labels: Vec<usize> = chunk.iter().map(|&i| ds.labels[i]).collect();
        ev.add_batch(&net, &inputs, &labels)?;
        bar.inc(chunk.len() as u64);
    }
    bar.finish_and_clear();
    let r = ev.report(&net);
    if a.json {
        out!("{}", serde_json::to_string_pretty(&r)?);
        return Ok(());
    }
    out!(
        "model        {} ({:?}, τ_L = {}, τ_C = {})",
        net.card.name,
        opts.mode,
        opts.tau_l,
        opts.tau_c
    );
    out!(
        "images       {} ({} split of {})",
        r.n,
        a.split,
        a.data.display()
    );
    out!(
        "accuracy     {:.2} %  ({} / {})",
        100.0 * r.accuracy,
        r.correct,
        r.n
    );
    out!(
        "MACs         {} ± {} per image ({:.1} % of static {}; gates {})",
        crate::mmacs(r.macs_mean),
        crate::mmacs(r.macs_std),
        100.0 * r.macs_fraction,
        crate::mmacs(r.macs_static as f64),
        crate::mmacs(r.macs_gates_mean)
    );
    let rates: Vec<String> = r
        .block_exec_rate
        .iter()
        .map(|x| format!("{:.2}", x))
        .collect();
    out!("block run    {}", rates.join(" "));
    let dens: Vec<String> = r
        .channel_density
        .iter()
        .map(|x| format!("{:.2}", x))
        .collect();
    out!(
        "ch. density  {} (stages 1–3, in blocks that ran)",
        dens.join(" ")
    );
    Ok(())
}

fn spinner(hidden: bool, msg: &'static str) -> ProgressBar {
    if hidden {
        return ProgressBar::hidden();
    }
    let s = ProgressBar::new_spinner();
    s.set_style(
        ProgressStyle::with_template("{spinner} {msg} {pos}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    s.set_message(msg);
    s
}
