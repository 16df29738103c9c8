use std::path::PathBuf;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};

use lcnet::data::cifar::{self, Dataset, Split};
use lcnet::eval::{EvalReport, Evaluator};
use lcnet::{preprocess, Classifier, Mode, Network, Options};

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
    /// Accuracy–MACs curve: the static network first, then each threshold setting in turn.
    /// Settings are `MODE:TAU_L:TAU_C` separated by spaces or commas (e.g. `lc:0.5:0.5 l:0.3:0`);
    /// `--sweep default` uses a built-in grid of 12 settings.
    #[arg(long)]
    sweep: Option<String>,
    /// With --sweep: store the curve in the model card of this file (may be the model itself).
    #[arg(long)]
    write_card: Option<PathBuf>,
    /// Images per batch on the masked path.
    #[arg(long, default_value_t = 100)]
    batch: usize,
    /// Which forward pass: `fast` (what `classify` and the page run: skipped work is not
    /// computed; one image per core at a time) or `masked` (batched, every convolution at full
    /// width, skipped work multiplied by zero; the definition the fast path is tested against).
    #[arg(long, default_value = "fast", value_parser = ["fast", "masked"])]
    path: String,
    /// Threads for the fast path (default: every core).
    #[arg(long)]
    threads: Option<usize>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// The built-in sweep: both gates together along a diagonal, then each gate alone.
const DEFAULT_SWEEP: &str =
    "lc:0:0 lc:0.1:0.1 lc:0.2:0.2 lc:0.3:0.3 lc:0.4:0.4 lc:0.5:0.5 lc:0.6:0.6 \
lc:0.7:0.7 lc:0.8:0.8 lc:0.9:0.9 l:0.5:0 c:0:0.5";

fn parse_sweep(s: &str) -> anyhow::Result<Vec<Options>> {
    let s = if s == "default" { DEFAULT_SWEEP } else { s };
    s.split([' ', ','])
        .filter(|p| !p.is_empty())
        .map(|p| {
            let f: Vec<&str> = p.split(':').collect();
            anyhow::ensure!(f.len() == 3, "sweep setting {p:?} is not MODE:TAU_L:TAU_C");
            let o = Options {
                mode: f[0].parse::<Mode>()?,
                tau_l: f[1].parse().with_context(|| format!("τ_L in {p:?}"))?,
                tau_c: f[2].parse().with_context(|| format!("τ_C in {p:?}"))?,
                top_k: 1,
                force_on: Vec::new(),
                force_off: Vec::new(),
            };
            o.validate()?;
            Ok(o)
        })
        .collect()
}

pub fn run(a: Args) -> anyhow::Result<()> {
    // Folded and packed once for every setting of a sweep (the fast path runs it; it dereferences
    // to the plain network for the masked path and the card).
    let net = Classifier::new(crate::load_model(&a.model)?)?;
    let opts = a.gates.options(&net)?;
    anyhow::ensure!(
        a.write_card.is_none() || a.sweep.is_some(),
        "--write-card needs --sweep"
    );
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
    let inputs = indices
        .iter()
        .map(|&i| preprocess::to_input(ds.image(i), 32, 32, 3, &net.card.input))
        .collect::<Result<Vec<_>, _>>()?;
    let labels: Vec<usize> = indices.iter().map(|&i| ds.labels[i]).collect();

    let Some(sweep) = &a.sweep else {
        crate::note_static_reference(&a.model, &net, &opts);
        let r = evaluate(&net, &inputs, &labels, opts, &a, "")?;
        if a.json {
            out!("{}", serde_json::to_string_pretty(&r)?);
        } else {
            print_report(&net, &r, &a, &ds);
        }
        return Ok(());
    };
    let mut settings = vec![Options::static_net()];
    settings.extend(parse_sweep(sweep)?);
    let mut points = Vec::new();
    for (i, o) in settings.iter().enumerate() {
        let label = format!(
            "[{}/{}] {:?} τ_L={} τ_C={} ",
            i + 1,
            settings.len(),
            o.mode,
            o.tau_l,
            o.tau_c
        );
        let r = evaluate(&net, &inputs, &labels, o.clone(), &a, &label)?;
        if !a.json {
            out!(
                "{:<7} τ_L {:>4}  τ_C {:>4}   acc {:>6.2} %   MACs {:>9} ({:>5.1} % of static, ± {})",
                format!("{:?}", o.mode).to_lowercase(),
                o.tau_l,
                o.tau_c,
                100.0 * r.accuracy,
                crate::mmacs(r.macs_mean),
                100.0 * r.macs_fraction,
                crate::mmacs(r.macs_std)
            );
        }
        points.push(r);
    }
    // The static network the card compares this model with, when that is another file.
    let reference = match crate::load_static_reference(&a.model, &net)? {
        Some((path, rnet)) => {
            let rnet = Classifier::new(rnet)?;
            let r = evaluate(
                &rnet,
                &inputs,
                &labels,
                Options::static_net(),
                &a,
                "[reference] static ",
            )?;
            if !a.json {
                out!(
                    "static reference {}: acc {:.2} %",
                    path.display(),
                    100.0 * r.accuracy
                );
            }
            Some(lcnet::model::ReferenceEvaluation {
                file: net.card.static_reference.clone().unwrap_or_default(),
                name: rnet.card.name.clone(),
                accuracy: r.accuracy,
            })
        }
        None => None,
    };
    let evaluation = lcnet::model::Evaluation {
        dataset: format!("CIFAR-10 (JPEG copy) {} split", a.split),
        n,
        static_accuracy: points[0].accuracy,
        measured_by: "lcnet eval --sweep".into(),
        curve: points.iter().map(lcnet::model::CurvePoint::from).collect(),
        static_reference: reference,
    };
    if a.json {
        out!("{}", serde_json::to_string_pretty(&evaluation)?);
    }
    if let Some(path) = &a.write_card {
        let mut net = net.network().clone();
        let mut card = net.card.clone();
        card.evaluation = Some(evaluation);
        net.set_card(card)?;
        std::fs::write(path, net.to_bytes()?)
            .with_context(|| format!("cannot write {}", path.display()))?;
        eprintln!("wrote the curve into the model card of {}", path.display());
    }
    Ok(())
}

fn evaluate(
    net: &Classifier,
    inputs: &[Vec<f32>],
    labels: &[usize],
    opts: Options,
    a: &Args,
    label: &str,
) -> anyhow::Result<EvalReport> {
    let bar = if a.json {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(inputs.len() as u64)
    };
    bar.set_style(
        ProgressStyle::with_template("{msg}{bar:40} {pos}/{len} images  {per_sec}  eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.set_message(label.to_string());
    let mut ev = Evaluator::new(net, opts.clone());
    if a.path == "masked" {
        for (x, y) in inputs
            .chunks(a.batch.max(1))
            .zip(labels.chunks(a.batch.max(1)))
        {
            ev.add_batch(net, x, y)?;
            bar.inc(x.len() as u64);
        }
    } else {
        let threads = a
            .threads
            .or_else(|| std::thread::available_parallelism().ok().map(|n| n.get()))
            .unwrap_or(1)
            .max(1);
        // Rounds of a few hundred images keep the progress bar moving; within a round each
        // thread takes a contiguous share, and the traces are counted in input order.
        let round = 64 * threads;
        for (x, y) in inputs.chunks(round).zip(labels.chunks(round)) {
            let share = x.len().div_ceil(threads);
            let traces = std::thread::scope(|scope| {
                let jobs: Vec<_> = x
                    .chunks(share)
                    .map(|part| {
                        let opts = &opts;
                        scope.spawn(move || {
                            part.iter()
                                .map(|input| net.classify(input, opts))
                                .collect::<lcnet::Result<Vec<_>>>()
                        })
                    })
                    .collect();
                jobs.into_iter()
                    .map(|j| {
                        j.join()
                            .map_err(|_| anyhow::anyhow!("an evaluation thread panicked"))?
                            .map_err(anyhow::Error::from)
                    })
                    .collect::<anyhow::Result<Vec<_>>>()
            })?;
            for (t, &l) in traces.iter().flatten().zip(y) {
                ev.add_trace(t, l);
            }
            bar.inc(x.len() as u64);
        }
    }
    bar.finish_and_clear();
    Ok(ev.report(net))
}

fn print_report(net: &Network, r: &EvalReport, a: &Args, ds: &Dataset) {
    let o = &r.options;
    out!(
        "model        {} ({:?}, τ_L = {}, τ_C = {})",
        net.card.name,
        o.mode,
        o.tau_l,
        o.tau_c
    );
    out!(
        "images       {} of {} ({} split of {})",
        r.n,
        ds.len(),
        a.split,
        a.data.display()
    );
    out!(
        "accuracy     {:.2} %  ({} / {})  CIFAR-10 (JPEG copy)",
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
    out!(
        "blocks/image {:.2} ± {:.2} of {}; {} distinct block patterns",
        r.block_exec_rate.iter().sum::<f64>(),
        r.blocks_run_std,
        r.block_exec_rate.len(),
        r.distinct_block_patterns
    );
    out!(
        "MACs by outcome  correct {}  wrong {}",
        crate::mmacs(r.macs_mean_correct),
        crate::mmacs(r.macs_mean_wrong)
    );
    let dens: Vec<String> = r
        .channel_density
        .iter()
        .map(|x| format!("{:.2}", x))
        .collect();
    out!(
        "ch. density  {} (stages 1–3, in blocks that ran)",
        dens.join(" ")
    );
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
