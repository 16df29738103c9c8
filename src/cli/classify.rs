use std::path::PathBuf;

use serde::Serialize;

use lcnet::data::image_file;
use lcnet::Trace;

#[derive(clap::Args)]
pub struct Args {
    /// Model file.
    #[arg(short, long, default_value_os_t = crate::default_model())]
    model: PathBuf,
    #[command(flatten)]
    gates: crate::GateArgs,
    /// Print JSON (an array, one object per image).
    #[arg(long)]
    json: bool,
    /// Images (PNG, JPEG, WebP, GIF, BMP).
    #[arg(required = true)]
    images: Vec<PathBuf>,
}

#[derive(Serialize)]
struct Row {
    file: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    trace: Option<Trace>,
}

pub fn run(a: Args) -> anyhow::Result<()> {
    let net = lcnet::Classifier::new(crate::load_model(&a.model)?)?;
    let opts = a.gates.options(&net)?;
    crate::note_static_reference(&a.model, &net, &opts);
    let mut rows = Vec::new();
    for path in &a.images {
        let file = path.display().to_string();
        let result = image_file::read_input(path, &net.card.input)
            .and_then(|input| net.classify(&input, &opts));
        match result {
            Ok(t) => rows.push(Row {
                file,
                error: None,
                trace: Some(t),
            }),
            Err(e) => {
                eprintln!("error: {e}");
                rows.push(Row {
                    file,
                    error: Some(e.to_string()),
                    trace: None,
                })
            }
        }
    }
    if a.json {
        out!("{}", serde_json::to_string_pretty(&rows)?);
    } else {
        print_table(&rows);
    }
    let failed = rows.iter().filter(|r| r.error.is_some()).count();
    anyhow::ensure!(
        failed == 0,
        "{failed} of {} images could not be classified",
        rows.len()
    );
    Ok(())
}

fn print_table(rows: &[Row]) {
    out!(
        "{:<28} {:<11} {:>6} {:>11} {:>11} {:>7} {:>7}  channels kept per stage",
        "image",
        "label",
        "prob",
        "MACs",
        "static",
        "% stat",
        "blocks"
    );
    for r in rows {
        let Some(t) = &r.trace else { continue };
        let mut stages = String::new();
        for s in 1..=3 {
            let (k, c): (usize, usize) = t
                .blocks
                .iter()
                .filter(|b| b.stage == s)
                .fold((0, 0), |(k, c), b| {
                    (k + b.channels_kept, c + b.channels_total)
                });
            stages.push_str(&format!("{k}/{c} "));
        }
        let name = last_chars(&r.file, 28);
        out!(
            "{:<28} {:<11} {:>6.3} {:>11} {:>11} {:>6.1}% {:>3}/{:<3}  {}",
            name,
            t.label,
            t.prob,
            crate::mmacs(t.macs as f64),
            crate::mmacs(t.macs_static as f64),
            100.0 * t.macs as f64 / t.macs_static as f64,
            t.blocks_executed,
            t.blocks_total,
            stages.trim_end()
        );
    }
}

/// The end of `s`, at most `n` characters (not bytes: a file name may be any Unicode), so a long
/// path keeps its file name in the table's column.
fn last_chars(s: &str, n: usize) -> &str {
    let count = s.chars().count();
    match s.char_indices().nth(count.saturating_sub(n)) {
        Some((i, _)) if count > n => &s[i..],
        _ => s,
    }
}
