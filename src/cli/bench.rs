//! `lcnet bench`: wall-clock time of the fast path (and the stock candle path), static vs dynamic, on the same images.

use std::path::PathBuf;

use serde::Serialize;
use web_time::Instant;

use lcnet::data::cifar::{self, Split};
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
    options: Options,
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
    let net = crate::load_model(&a.model)?;
    let dynamic = a.gates.options(&net)?;
    kernel::set_backend(a.kernel.into());
    let stat = Options::static_net();
    let spec = &net.card.input;
    let inputs: Vec<Vec<f32>> = match &a.data {
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
    };
    for i in 0..a.warmup {
        let x = &inputs[i % inputs.len()];
        net.classify(x, &stat)?;
        net.classify(x, &dynamic)?;
    }
    let (mut ms_s, mut ms_d, mut ms_k, mut macs_s, mut macs_d) =
        (vec![], vec![], vec![], 0f64, 0f64);
    for x in &inputs {
        let mut ts = Vec::with_capacity(a.runs);
        let mut td = Vec::with_capacity(a.runs);
        let mut tk = Vec::with_capacity(a.runs);
        // Interleaved so that machine noise hits both settings alike.
        for _ in 0..a.runs {
            let t = Instant::now();
            let s = net.classify(x, &stat)?;
            ts.push(t.elapsed().as_secs_f64() * 1e3);
            let t = Instant::now();
            let d = net.classify(x, &dynamic)?;
            td.push(t.elapsed().as_secs_f64() * 1e3);
            let t = Instant::now();
            net.classify_reference(x, &stat)?;
            tk.push(t.elapsed().as_secs_f64() * 1e3);
            macs_s = s.macs as f64;
            macs_d += d.macs as f64 / a.runs as f64;
        }
        ms_s.push(median(&mut ts));
        ms_d.push(median(&mut td));
        ms_k.push(median(&mut tk));
    }
    macs_d /= inputs.len() as f64;
    let (s, d) = (spread(ms_s), spread(ms_d));
    let r = Report {
        model: net.card.name.clone(),
        images: inputs.len(),
        runs: a.runs,
        kernel: kernel::describe(a.kernel.into()),
        ms_static: s.median,
        ms_dynamic: d.median,
        ms_static_stock: median(&mut ms_k),
        realised_ratio: (d.median / s.median) / (macs_d / macs_s),
        ms_static_spread: s,
        ms_dynamic_spread: d,
        macs_static: macs_s,
        macs_dynamic: macs_d,
        options: dynamic,
    };
    if a.json {
        out!("{}", serde_json::to_string_pretty(&r)?);
        return Ok(());
    }
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
    out!(
        "dynamic/static: time {:.3}, MACs {:.3}; realised-saving ratio {:.3} (1.0 = every MAC skipped is time saved)",
        r.ms_dynamic / r.ms_static,
        r.macs_dynamic / r.macs_static,
        r.realised_ratio
    );
    Ok(())
}
