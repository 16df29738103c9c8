//! The CIFAR-10 test split as the gallery needs it: every image's class and still-encoded bytes,
//! in the order `lcnet eval` reads them (JPEG tree or its `.tar.gz`: by class, then file name;
//! binary batches: file order), so that an image's position is its test index there. Only the
//! images the gallery picks are decoded.

use std::io::Read;
use std::path::Path;

use anyhow::{bail, ensure, Context};

/// The class names, in label order (the JPEG tree's directory names). The model crate has the
/// same list (`lcnet::model::CIFAR10_CLASSES`); this crate does not depend on it, so that it builds
/// without candle, and a test keeps the two equal.
pub const CLASSES: [&str; 10] = [
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
];

/// The largest file accepted as one 32×32 image.
const MAX_ENTRY_BYTES: u64 = 1 << 20;

/// One test image, not decoded yet.
pub struct TestImage {
    /// Class index, 0–9.
    pub label: usize,
    /// Where it came from, for messages.
    pub name: String,
    data: Encoded,
}

enum Encoded {
    Jpeg(Vec<u8>),
    /// 32×32 RGB, HWC.
    Rgb(Vec<u8>),
}

impl TestImage {
    /// Its 32×32 RGB pixels (HWC).
    pub fn rgb(&self) -> anyhow::Result<Vec<u8>> {
        match &self.data {
            Encoded::Rgb(px) => Ok(px.clone()),
            Encoded::Jpeg(bytes) => {
                let img = image::load_from_memory_with_format(bytes, image::ImageFormat::Jpeg)
                    .with_context(|| format!("{} is not a readable JPEG", self.name))?
                    .to_rgb8();
                ensure!(
                    img.dimensions() == (32, 32),
                    "{}: {}×{} (expected 32×32)",
                    self.name,
                    img.width(),
                    img.height()
                );
                Ok(img.into_raw())
            }
        }
    }
}

/// Reads the test split from `path`: a JPEG tree (`test/<class>/*.jpg`), a `.tar.gz` of it, or
/// the binary batches (`test_batch.bin`, directly or under `cifar-10-batches-bin/`).
pub fn test_split(path: &Path) -> anyhow::Result<Vec<TestImage>> {
    ensure!(
        path.exists(),
        "{}: no such file or directory",
        path.display()
    );
    let name = path.to_string_lossy();
    let mut images = if path.is_file() && (name.ends_with(".tar.gz") || name.ends_with(".tgz")) {
        from_tar_gz(path)?
    } else if let Some(bin) = [
        path.join("test_batch.bin"),
        path.join("cifar-10-batches-bin/test_batch.bin"),
    ]
    .into_iter()
    .find(|p| p.is_file())
    {
        return from_binary(&bin);
    } else if path.join("test").is_dir() {
        from_tree(&path.join("test"))?
    } else {
        bail!(
            "{}: not a CIFAR-10 copy: expected test/<class>/*.jpg, test_batch.bin, cifar-10-batches-bin/ or a .tar.gz",
            path.display()
        );
    };
    images.sort_by(|a, b| (a.label, &a.name).cmp(&(b.label, &b.name)));
    ensure!(
        !images.is_empty(),
        "{}: no test/<class>/*.jpg images",
        path.display()
    );
    Ok(images)
}

fn from_tar_gz(path: &Path) -> anyhow::Result<Vec<TestImage>> {
    let file =
        std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(file));
    let mut images = Vec::new();
    let bad = || format!("{} is not a readable .tar.gz", path.display());
    for entry in archive.entries().with_context(bad)? {
        let mut entry = entry.with_context(bad)?;
        let entry_path = entry
            .path()
            .with_context(bad)?
            .to_string_lossy()
            .into_owned();
        // test/<class>/<file>, with or without a leading "./"
        let mut parts = entry_path.trim_start_matches("./").splitn(3, '/');
        let (Some("test"), Some(class), Some(file)) = (parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        let Some(label) = CLASSES.iter().position(|c| *c == class) else {
            continue;
        };
        if file.is_empty() || file.contains('/') {
            continue;
        }
        ensure!(
            entry.size() <= MAX_ENTRY_BYTES,
            "{entry_path} in {}: too large for a CIFAR image",
            path.display()
        );
        let mut bytes = Vec::with_capacity(entry.size() as usize);
        entry.read_to_end(&mut bytes).with_context(bad)?;
        images.push(TestImage {
            label,
            name: file.to_string(),
            data: Encoded::Jpeg(bytes),
        });
    }
    Ok(images)
}

fn from_tree(dir: &Path) -> anyhow::Result<Vec<TestImage>> {
    let mut images = Vec::new();
    for (label, class) in CLASSES.iter().enumerate() {
        let class_dir = dir.join(class);
        let listing = std::fs::read_dir(&class_dir)
            .with_context(|| format!("cannot read {}", class_dir.display()))?;
        for entry in listing.filter_map(|e| e.ok()) {
            let p = entry.path();
            if !p.is_file() {
                continue;
            }
            let len = entry.metadata().map(|m| m.len()).unwrap_or(u64::MAX);
            ensure!(
                len <= MAX_ENTRY_BYTES,
                "{}: too large for a CIFAR image",
                p.display()
            );
            let bytes =
                std::fs::read(&p).with_context(|| format!("cannot read {}", p.display()))?;
            let name = p
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            images.push(TestImage {
                label,
                name,
                data: Encoded::Jpeg(bytes),
            });
        }
    }
    Ok(images)
}

fn from_binary(file: &Path) -> anyhow::Result<Vec<TestImage>> {
    let bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    ensure!(
        !bytes.is_empty() && bytes.len() % 3073 == 0,
        "{}: {} bytes is not a whole number of 3073-byte records",
        file.display(),
        bytes.len()
    );
    bytes
        .chunks_exact(3073)
        .enumerate()
        .map(|(i, rec)| {
            let label = rec[0] as usize;
            ensure!(
                label < 10,
                "{}: record {i} has label {label}",
                file.display()
            );
            let chw = &rec[1..];
            let rgb = (0..1024)
                .flat_map(|p| [chw[p], chw[1024 + p], chw[2048 + p]])
                .collect();
            Ok(TestImage {
                label,
                name: format!("record {i}"),
                data: Encoded::Rgb(rgb),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn class_names_are_the_model_crates() {
        assert_eq!(super::CLASSES, lcnet::model::CIFAR10_CLASSES);
    }
}
