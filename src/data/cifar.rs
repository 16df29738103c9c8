//! CIFAR-10 readers: the JPEG tree (`train/<class>/*.jpg`, `test/<class>/*.jpg`), the same
//! tree packed as `.tar.gz`, and the official binary batches (`cifar-10-batches-bin`).

use std::io::Read;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::model::CIFAR10_CLASSES;

/// Which half of the dataset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Split {
    /// 50,000 training images.
    Train,
    /// 10,000 test images.
    Test,
}

impl Split {
    fn dir(self) -> &'static str {
        match self {
            Split::Train => "train",
            Split::Test => "test",
        }
    }
}

/// Images as 32×32×3 RGB bytes (HWC) with labels, in a fixed order
/// (JPEG: sorted by class then file name; binary: file order).
#[derive(Debug, Clone, Default)]
pub struct Dataset {
    /// `n·3072` bytes.
    pub pixels: Vec<u8>,
    /// Labels 0–9.
    pub labels: Vec<usize>,
}

impl Dataset {
    /// Number of images.
    pub fn len(&self) -> usize {
        self.labels.len()
    }
    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }
    /// RGB bytes of image `i`.
    pub fn image(&self, i: usize) -> &[u8] {
        &self.pixels[i * 3072..(i + 1) * 3072]
    }
}

fn err(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::Data(format!("{}: {e}", path.display()))
}

fn push_jpeg(ds: &mut Dataset, bytes: &[u8], label: usize, name: &str) -> Result<()> {
    let img = super::image_file::decode(bytes).map_err(|e| Error::Data(format!("{name}: {e}")))?;
    if img.width != 32 || img.height != 32 {
        return Err(Error::Data(format!(
            "{name}: {}×{} (expected 32×32)",
            img.width, img.height
        )));
    }
    ds.pixels
        .extend(img.pixels.chunks_exact(4).flat_map(|p| [p[0], p[1], p[2]]));
    ds.labels.push(label);
    Ok(())
}

/// Loads a split from `path`: a JPEG tree, a `.tar.gz` of it, or a binary-batch directory.
/// `progress` is called with (done, total) when the total is known.
pub fn load(path: &Path, split: Split, progress: &mut dyn FnMut(usize, usize)) -> Result<Dataset> {
    if !path.exists() {
        return Err(err(path, "no such file or directory"));
    }
    let name = path.to_string_lossy();
    if path.is_file() && (name.ends_with(".tar.gz") || name.ends_with(".tgz")) {
        return load_tar_gz(path, split, progress);
    }
    for bin_dir in [path.to_path_buf(), path.join("cifar-10-batches-bin")] {
        if bin_dir.join("test_batch.bin").is_file() {
            return load_binary(&bin_dir, split);
        }
    }
    if path.join(split.dir()).is_dir() {
        return load_tree(&path.join(split.dir()), progress);
    }
    Err(err(
        path,
        format!(
            "not a CIFAR-10 directory: expected {}/<class>/*.jpg, test_batch.bin or cifar-10-batches-bin/, or a .tar.gz",
            split.dir()
        ),
    ))
}

fn load_tree(dir: &Path, progress: &mut dyn FnMut(usize, usize)) -> Result<Dataset> {
    let mut files: Vec<(usize, PathBuf)> = Vec::new();
    for (label, class) in CIFAR10_CLASSES.iter().enumerate() {
        let cdir = dir.join(class);
        let mut names: Vec<PathBuf> = std::fs::read_dir(&cdir)
            .map_err(|e| err(&cdir, e))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_file())
            .collect();
        names.sort();
        files.extend(names.into_iter().map(|p| (label, p)));
    }
    let mut ds = Dataset::default();
    let total = files.len();
    for (i, (label, p)) in files.iter().enumerate() {
        let bytes = std::fs::read(p).map_err(|e| err(p, e))?;
        push_jpeg(&mut ds, &bytes, *label, &p.to_string_lossy())?;
        if i % 500 == 0 {
            progress(i, total);
        }
    }
    progress(total, total);
    Ok(ds)
}

fn load_tar_gz(
    path: &Path,
    split: Split,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<Dataset> {
    let file = std::fs::File::open(path).map_err(|e| err(path, e))?;
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(file));
    let mut entries: Vec<(usize, String, Vec<u8>)> = Vec::new();
    for entry in archive.entries().map_err(|e| err(path, e))? {
        let mut entry = entry.map_err(|e| err(path, e))?;
        let name = entry
            .path()
            .map_err(|e| err(path, e))?
            .to_string_lossy()
            .into_owned();
        let parts: Vec<&str> = name.trim_start_matches("./").split('/').collect();
        if parts.len() != 3 || parts[0] != split.dir() || parts[2].is_empty() {
            continue;
        }
        let Some(label) = CIFAR10_CLASSES.iter().position(|c| *c == parts[1]) else {
            continue;
        };
        if entry.size() > 1 << 20 {
            return Err(err(
                path,
                format!("{name}: entry too large for a CIFAR image"),
            ));
        }
        let mut bytes = Vec::with_capacity(entry.size() as usize);
        entry.read_to_end(&mut bytes).map_err(|e| err(path, e))?;
        entries.push((label, parts[2].to_string(), bytes));
        if entries.len() % 1000 == 0 {
            progress(entries.len(), 0);
        }
    }
    entries.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
    let mut ds = Dataset::default();
    for (label, name, bytes) in &entries {
        push_jpeg(&mut ds, bytes, *label, name)?;
    }
    if ds.is_empty() {
        return Err(err(
            path,
            format!("no {}/<class>/*.jpg entries", split.dir()),
        ));
    }
    Ok(ds)
}

/// Reads the official binary batches: records of one label byte and 3072 bytes (CHW).
pub fn load_binary(dir: &Path, split: Split) -> Result<Dataset> {
    let files: Vec<PathBuf> = match split {
        Split::Train => (1..=5)
            .map(|i| dir.join(format!("data_batch_{i}.bin")))
            .collect(),
        Split::Test => vec![dir.join("test_batch.bin")],
    };
    let mut ds = Dataset::default();
    for f in files {
        let bytes = std::fs::read(&f).map_err(|e| err(&f, e))?;
        if bytes.is_empty() || bytes.len() % 3073 != 0 {
            return Err(err(
                &f,
                format!(
                    "{} bytes is not a whole number of 3073-byte records",
                    bytes.len()
                ),
            ));
        }
        for rec in bytes.chunks_exact(3073) {
            let label = rec[0] as usize;
            if label >= 10 {
                return Err(err(&f, format!("label {label} out of range")));
            }
            let chw = &rec[1..];
            for i in 0..1024 {
                ds.pixels.extend([chw[i], chw[1024 + i], chw[2048 + i]]);
            }
            ds.labels.push(label);
        }
    }
    Ok(ds)
}
