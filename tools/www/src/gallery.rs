//! `lcnet-www gallery`: a few CIFAR-10 test images per class as PNG, plus `index.json` with their
//! true labels, for the demo page's sample gallery (built locally, never committed). PNG, not the
//! source JPEG, so that the page and `lcnet classify` decode the same pixels.

use std::path::PathBuf;

use anyhow::Context;

use crate::cifar::{self, CLASSES};

#[derive(clap::Args)]
pub struct Args {
    /// CIFAR-10: the JPEG tree, a .tar.gz of it, or the binary batches directory.
    #[arg(long)]
    data: PathBuf,
    /// Output directory (replaced as a whole).
    #[arg(long, default_value = "www/gallery")]
    out: PathBuf,
    /// Images per class, spread evenly over the class's test images.
    #[arg(long, default_value_t = 3)]
    per_class: usize,
}

#[derive(serde::Serialize)]
struct Entry {
    file: String,
    label: String,
    class_index: usize,
    test_index: usize,
}

pub fn run(a: Args) -> anyhow::Result<()> {
    anyhow::ensure!(
        (1..=100).contains(&a.per_class),
        "--per-class must be 1 to 100, got {}",
        a.per_class
    );
    let test = cifar::test_split(&a.data)
        .with_context(|| format!("cannot read CIFAR-10 from {}", a.data.display()))?;
    let tmp = a.out.with_extension("tmp");
    if tmp.exists() {
        std::fs::remove_dir_all(&tmp)
            .with_context(|| format!("cannot remove {}", tmp.display()))?;
    }
    std::fs::create_dir_all(&tmp).with_context(|| format!("cannot create {}", tmp.display()))?;
    let mut entries = Vec::new();
    for (c, name) in CLASSES.iter().enumerate() {
        let of_class: Vec<usize> = (0..test.len()).filter(|&i| test[i].label == c).collect();
        let n = a.per_class.min(of_class.len());
        for k in 0..n {
            let i = of_class[k * of_class.len() / n];
            let file = format!("{name}-{k}.png");
            let path = tmp.join(&file);
            image::save_buffer(
                &path,
                &test[i].rgb()?,
                32,
                32,
                image::ExtendedColorType::Rgb8,
            )
            .with_context(|| format!("cannot write {}", path.display()))?;
            entries.push(Entry {
                file,
                label: name.to_string(),
                class_index: c,
                test_index: i,
            });
        }
    }
    anyhow::ensure!(
        !entries.is_empty(),
        "{} holds no test images",
        a.data.display()
    );
    let source = a
        .data
        .file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let index = serde_json::json!({
        "dataset": "CIFAR-10 (JPEG copy) test",
        "source": source,
        "images": entries,
    });
    std::fs::write(
        tmp.join("index.json"),
        serde_json::to_string_pretty(&index)? + "\n",
    )
    .context("cannot write index.json")?;
    if a.out.exists() {
        std::fs::remove_dir_all(&a.out)
            .with_context(|| format!("cannot replace {}", a.out.display()))?;
    }
    std::fs::rename(&tmp, &a.out)
        .with_context(|| format!("cannot move {} to {}", tmp.display(), a.out.display()))?;
    println!(
        "gallery: {} test images ({} per class) with true labels in {}",
        entries.len(),
        a.per_class,
        a.out.display()
    );
    Ok(())
}
