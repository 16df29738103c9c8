//! `lcnet bench`: wall-clock time of the fast path (and the stock candle path), static vs dynamic, on the same images.

use std::path::PathBuf;

use serde::Serialize;
use web_time::Instant;

use lcnet::data::cifar::{self, Split};
use lcnet::exec::fast::{BlockTime, TimeSplit};
use lcnet::exec::kernel::{self, Backend};
use lcnet::{preprocess, Options};

#[derive(clap::Args)]
pub struct Args {
    /// Model file.
    #[arg(short, long, default_value_os_t = crate::default_model())]
    model: PathBuf,
    /// Images to time (CIFAR-10 test images spread over the classes with --data, else seeded noise).
    #[arg(long, default_value_t = 50)]
    images: usize,
    /// CIFAR-10 (JPEG tree, .tar.gz, or binary batches) to take the images from.
    #[arg(long)]
    data: Option<PathBuf>,
    /// Timed runs per image and setting (the median is kept).
    #[arg(long, default_value_t = 5)]
    runs: usize,
    /// Untimed runs before timing.
    #[arg(long, default_value_t = 20)]
    warmup: usize,
    #[command(flatten)]
    gates: crate::GateArgs,
    /// Convolution code: auto (the widest this CPU has), simd128 (4 lanes, multiply then add:
    /// what the browser runs, for a like-for-like wasm/native ratio), scalar.
    #[arg(long, value_enum, default_value_t = Kernel::Auto)]
    kernel: Kernel,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum Kernel {
    Auto,
    Simd128,
    Scalar,
}

impl From<Kernel> for Backend {
    fn from(k: Kernel) -> Self {
        match k {
            Kernel::Auto => Backend::Auto,
            Kernel::Simd128 => Backend::Simd128,
            Kernel::Scalar => Backend::Scalar,
        }
    }
}

/// Spread of per-image medians.
#[derive(Serialize)]
struct Spread {
    min: f64,
    median: f64,
    max: f64,
}

#[derive(Serialize)]
struct Report {
    model: String,
    images: usize,
    runs: usize,
    /// The convolution code that ran.
    kernel: &'static str,
    ms_static: f64,
    ms_dynamic: f64,
    /// Static, on the reference path (candle's stock convolutions).
    ms_static_stock: f64,
    ms_static_spread: Spread,
    ms_dynamic_spread: Spread,
    macs_static: f64,
    macs_dynamic: f64,
    /// (ms dynamic / ms static) ÷ (MACs dynamic / MACs static): 1.0 = every MAC skipped is time saved.
    realised_ratio: f64,
    /// The same from each run's own dynamic ÷ static times (the two passes are a millisecond apart,
    /// so a load burst on a shared machine hits both), per image over that image's own share of the
    /// MACs, median over the images: steadier than the ratio of separate medians, and not tied to
    /// which image is the median one when the gates keep more for some images than for others
    /// (`scripts/bench-browser.sh` reports it alike).
    realised_ratio_paired: f64,
    /// Where the static pass spends its time (separate timed passes, medians per image).
    split_static: SplitReport,
    /// Where the dynamic pass spends its time.
    split_dynamic: SplitReport,
    options: Options,
}

/// A [`TimeSplit`] summed by part over the blocks, with the blocks beside it (ms; each figure the
/// median over the images of that figure, so the parts need not add up to the total exactly).
#[derive(Serialize)]
struct SplitReport {
    stem: f64,
    pool: f64,
    gates: f64,
    shortcut: f64,
    conv1: f64,
    conv2: f64,
    epilogue: f64,
    head: f64,
    total: f64,
    blocks: Vec<BlockSplit>,
}

#[derive(Serialize)]
struct BlockSplit {
    block: String,
    #[serde(flatten)]
    time: BlockTime,
    total: f64,
    /// The block's MACs (gates included), mean over the images: beside its time, how well the
    /// work it kept ran.
    macs_mean: f64,
}

/// The parts of one split as a flat list (stem, head, then six per block), for medians.
fn flatten(t: &TimeSplit) -> Vec<f64> {
    let mut v = vec![t.stem, t.head];
    for b in &t.blocks {
        v.extend([b.pool, b.gates, b.shortcut, b.conv1, b.conv2, b.epilogue]);
    }
    v
}

/// The part-by-part median of splits of the same network.
fn median_split(samples: &[TimeSplit]) -> TimeSplit {
    let flat: Vec<Vec<f64>> = samples.iter().map(flatten).collect();
    let n = flat.first().map_or(0, Vec::len);
    let m: Vec<f64> = (0..n)
        .map(|i| median(&mut flat.iter().map(|f| f[i]).collect::<Vec<_>>()))
        .collect();
    let block = |c: &[f64]| BlockTime {
        pool: c[0],
        gates: c[1],
        shortcut: c[2],
        conv1: c[3],
        conv2: c[4],
        epilogue: c[5],
    };
    TimeSplit {
        stem: m.first().copied().unwrap_or(0.0),
        head: m.get(1).copied().unwrap_or(0.0),
        blocks: m
            .get(2..)
            .unwrap_or(&[])
            .chunks_exact(6)
            .map(block)
            .collect(),
    }
}

fn split_report(net: &lcnet::Network, per_image: &[TimeSplit], block_macs: &[f64]) -> SplitReport {
    let m = median_split(per_image);
    let sum = |f: fn(&BlockTime) -> f64| m.blocks.iter().map(f).sum::<f64>();
    let mut totals: Vec<f64> = per_image
        .iter()
        .map(|t| t.stem + t.head + t.blocks.iter().map(BlockTime::total).sum::<f64>())
        .collect();
    SplitReport {
        stem: m.stem,
        pool: sum(|b| b.pool),
        gates: sum(|b| b.gates),
        shortcut: sum(|b| b.shortcut),
        conv1: sum(|b| b.conv1),
        conv2: sum(|b| b.conv2),
        epilogue: sum(|b| b.epilogue),
        head: m.head,
        total: median(&mut totals),
        blocks: net
            .blocks
            .iter()
            .zip(&m.blocks)
            .zip(block_macs)
            .map(|((b, t), &macs_mean)| BlockSplit {
                block: format!("{}.{}", b.stage, b.index),
                time: *t,
                total: t.total(),
                macs_mean,
            })
            .collect(),
    }
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn spread(mut v: Vec<f64>) -> Spread {
    let median = median(&mut v);
    Spread {
        min: v[0],
        median,
        max: v[v.len() - 1],
    }
}

pub fn run(a: Args) -> anyhow::Result<()> {
    anyhow::ensure!(
        a.images > 0 && a.runs > 0,
        "--images and --runs must be at least 1"
    );
    let net = lcnet::Classifier::new(crate::load_model(&a.model)?)?;
    let dynamic = a.gates.options(&net)?;
    kernel::set_backend(a.kernel.into());
    let inputs = bench_inputs(&a, &net.card.input)?;
    let t = measure(&net, &inputs, &dynamic, &a)?;
    let (s, d) = (spread(t.ms_static), spread(t.ms_dynamic));
    let mut ms_stock = t.ms_stock;
    let r = Report {
        model: net.card.name.clone(),
        images: inputs.len(),
        runs: a.runs,
        kernel: kernel::describe(a.kernel.into()),
        ms_static: s.median,
        ms_dynamic: d.median,
        ms_static_stock: median(&mut ms_stock),
        realised_ratio: (d.median / s.median) / (t.macs_dynamic / t.macs_static),
        realised_ratio_paired: spread(t.paired).median,
        split_static: split_report(&net, &t.split_static, &t.block_macs_static),
        split_dynamic: split_report(&net, &t.split_dynamic, &t.block_macs_dynamic),
        ms_static_spread: s,
        ms_dynamic_spread: d,
        macs_static: t.macs_static,
        macs_dynamic: t.macs_dynamic,
        options: dynamic,
    };
    if a.json {
        out!("{}", serde_json::to_string_pretty(&r)?);
    } else {
        print_table(&r);
    }
    Ok(())
}

/// `a.images` inputs: CIFAR-10 test images spread evenly over the split, or generated ones.
fn bench_inputs(a: &Args, spec: &lcnet::model::InputSpec) -> anyhow::Result<Vec<Vec<f32>>> {
    Ok(match &a.data {
        Some(d) => {
            let ds = cifar::load(d, Split::Test, &mut |_, _| {})?;
            anyhow::ensure!(!ds.is_empty(), "no images in {}", d.display());
            (0..a.images)
                .map(|i| preprocess::to_input(ds.image(i * ds.len() / a.images), 32, 32, 3, spec))
                .collect::<Result<_, _>>()?
        }
        None => (0..a.images)
            .map(|i| {
                let px: Vec<u8> = (0..32 * 32 * 3)
                    .map(|j| ((j as u64 * 2_654_435_761 + i as u64 * 97) >> 7) as u8)
                    .collect();
                preprocess::to_input(&px, 32, 32, 3, spec)
            })
            .collect::<Result<_, _>>()?,
    })
}

/// Per image, the median of `a.runs` timings of each setting, and of as many timed splits; MACs
/// per image.
struct Timings {
    ms_static: Vec<f64>,
    ms_dynamic: Vec<f64>,
    ms_stock: Vec<f64>,
    /// Per image, the median over runs of dynamic ÷ static time, over its dynamic ÷ static MACs.
    paired: Vec<f64>,
    split_static: Vec<TimeSplit>,
    split_dynamic: Vec<TimeSplit>,
    /// Per block, mean MACs.
    block_macs_static: Vec<f64>,
    block_macs_dynamic: Vec<f64>,
    macs_static: f64,
    macs_dynamic: f64,
}

fn measure(
    net: &lcnet::Classifier,
    inputs: &[Vec<f32>],
    dynamic: &Options,
    a: &Args,
) -> anyhow::Result<Timings> {
    let stat = Options::static_net();
    for i in 0..a.warmup {
        let x = &inputs[i % inputs.len()];
        net.classify(x, &stat)?;
        net.classify(x, dynamic)?;
    }
    let mut t = Timings {
        ms_static: vec![],
        ms_dynamic: vec![],
        ms_stock: vec![],
        paired: vec![],
        split_static: vec![],
        split_dynamic: vec![],
        block_macs_static: vec![0.0; net.blocks.len()],
        block_macs_dynamic: vec![0.0; net.blocks.len()],
        macs_static: 0.0,
        macs_dynamic: 0.0,
    };
    let ms = |start: Instant| start.elapsed().as_secs_f64() * 1e3;
    for x in inputs {
        let (mut ts, mut td, mut tk, mut tp) = (vec![], vec![], vec![], vec![]);
        // Interleaved so that machine noise hits both settings alike.
        for _ in 0..a.runs {
            let start = Instant::now();
            let s = net.classify(x, &stat)?;
            let ms_s = ms(start);
            let start = Instant::now();
            let d = net.classify(x, dynamic)?;
            let ms_d = ms(start);
            ts.push(ms_s);
            td.push(ms_d);
            tp.push((ms_d / ms_s) / (d.macs as f64 / s.macs as f64));
            let share = (a.runs * inputs.len()) as f64;
            t.macs_static = s.macs as f64;
            t.macs_dynamic += d.macs as f64 / share;
            for (sum, (bs, bd)) in t
                .block_macs_static
                .iter_mut()
                .zip(&mut t.block_macs_dynamic)
                .zip(s.blocks.iter().zip(&d.blocks))
            {
                *sum.0 += bs.macs as f64 / share;
                *sum.1 += bd.macs as f64 / share;
            }
        }
        // The stock path is timed in its own runs: interleaved, its large allocations and
        // candle's worker threads slowed the fast passes after it (R56's realised-saving ratio
        // read 1.13–1.15 with it in the loop, 1.03–1.09 without, in one session).
        for _ in 0..a.runs {
            let start = Instant::now();
            net.classify_reference(x, &stat)?;
            tk.push(ms(start));
        }
        t.ms_static.push(median(&mut ts));
        t.ms_dynamic.push(median(&mut td));
        t.ms_stock.push(median(&mut tk));
        t.paired.push(median(&mut tp));
        // Timed apart from the runs above: reading the clock inside a pass must not touch them.
        let (mut ss, mut sd) = (vec![], vec![]);
        for _ in 0..a.runs {
            ss.push(net.time_split(x, &stat)?);
            sd.push(net.time_split(x, dynamic)?);
        }
        t.split_static.push(median_split(&ss));
        t.split_dynamic.push(median_split(&sd));
    }
    Ok(t)
}

fn print_table(r: &Report) {
    out!(
        "model      {} ({} images × {} runs, batch 1, fast path, {})",
        r.model,
        r.images,
        r.runs,
        r.kernel
    );
    out!("           median ms   min     max     mean MACs");
    for (name, sp, m) in [
        ("static", &r.ms_static_spread, r.macs_static),
        ("dynamic", &r.ms_dynamic_spread, r.macs_dynamic),
    ] {
        out!(
            "{name:<10} {:>8.3} {:>7.3} {:>7.3}   {}",
            sp.median,
            sp.min,
            sp.max,
            crate::mmacs(m)
        );
    }
    out!(
        "static, stock candle path: {:.3} ms median",
        r.ms_static_stock
    );
    out!("time split, ms (medians over images; --json has each block):");
    out!("           stem    pool   gates shortcut  conv1   conv2 epilogue  head   total");
    for (name, p) in [("static", &r.split_static), ("dynamic", &r.split_dynamic)] {
        out!(
            "{name:<9}{:>6.3}{:>8.3}{:>8.3}{:>8.3}{:>8.3}{:>8.3}{:>8.3}{:>7.3}{:>8.3}",
            p.stem,
            p.pool,
            p.gates,
            p.shortcut,
            p.conv1,
            p.conv2,
            p.epilogue,
            p.head,
            p.total
        );
    }
    out!(
        "dynamic/static: time {:.3}, MACs {:.3}; realised-saving ratio {:.3} (1.0 = every MAC skipped is time saved)",
        r.ms_dynamic / r.ms_static,
        r.macs_dynamic / r.macs_static,
        r.realised_ratio
    );
    out!(
        "paired per run (steadier under load): realised-saving ratio {:.3}",
        r.realised_ratio_paired
    );
}
