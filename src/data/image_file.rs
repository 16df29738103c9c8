//! Decoding image files with bounded work and memory: a truncated file, a decompression bomb
//! or a non-image gets an error naming the problem, never a panic or gigabytes of allocation.

use std::io::Cursor;

use image::{ImageReader, Limits};

use crate::error::{Error, Result};
use crate::preprocess::MAX_PIXELS;

/// Largest file read: 64 MiB.
pub const MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;
/// Largest side accepted, checked from the header before decoding.
pub const MAX_SIDE: u32 = 16_384;
/// Largest allocation the decoder may make: 512 MiB.
pub const MAX_ALLOC: u64 = 512 * 1024 * 1024;

/// A decoded image as 8-bit RGBA.
#[derive(Debug, Clone)]
pub struct Rgba {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// `width·height·4` bytes.
    pub pixels: Vec<u8>,
}

/// Decodes PNG, JPEG, WebP, GIF (first frame) or BMP bytes.
pub fn decode(bytes: &[u8]) -> Result<Rgba> {
    if bytes.is_empty() {
        return Err(Error::BadImage("the file is empty".into()));
    }
    let reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| Error::BadImage(e.to_string()))?;
    if reader.format().is_none() {
        return Err(Error::BadImage(
            "not a recognised image format (PNG, JPEG, WebP, GIF or BMP)".into(),
        ));
    }
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(MAX_ALLOC);
    // Read the header first: the declared size decides whether decoding may start at all.
    let (w, h) = {
        let mut probe = ImageReader::new(Cursor::new(bytes))
            .with_guessed_format()
            .map_err(|e| Error::BadImage(e.to_string()))?;
        probe.limits(limits.clone());
        probe
            .into_dimensions()
            .map_err(|e| Error::BadImage(describe(&e)))?
    };
    if w == 0 || h == 0 {
        return Err(Error::BadImage(format!(
            "image is {w}×{h}: it has no pixels"
        )));
    }
    if w as u64 * h as u64 > MAX_PIXELS {
        return Err(Error::BadImage(format!(
            "image is {w}×{h} ({:.0} megapixels), over the {} megapixel limit",
            w as f64 * h as f64 / 1e6,
            MAX_PIXELS / (1024 * 1024)
        )));
    }
    let mut reader = reader;
    reader.limits(limits);
    let img = reader.decode().map_err(|e| Error::BadImage(describe(&e)))?;
    let rgba = img.to_rgba8();
    Ok(Rgba {
        width: rgba.width(),
        height: rgba.height(),
        pixels: rgba.into_raw(),
    })
}

fn describe(e: &image::ImageError) -> String {
    use image::ImageError as E;
    match e {
        E::Limits(l) => format!("image exceeds the decoder's limits ({l})"),
        E::Unsupported(u) => format!("unsupported image: {u}"),
        E::Decoding(d) => format!("corrupt or truncated image: {d}"),
        other => other.to_string(),
    }
}

/// Reads a file with a size cap, then decodes it.
pub fn read(path: &std::path::Path) -> Result<Rgba> {
    let meta =
        std::fs::metadata(path).map_err(|e| Error::BadImage(format!("{}: {e}", path.display())))?;
    if !meta.is_file() {
        return Err(Error::BadImage(format!("{}: not a file", path.display())));
    }
    if meta.len() > MAX_FILE_BYTES {
        return Err(Error::BadImage(format!(
            "{}: {} MB, over the {} MB limit",
            path.display(),
            meta.len() / 1_000_000,
            MAX_FILE_BYTES / (1024 * 1024)
        )));
    }
    let bytes =
        std::fs::read(path).map_err(|e| Error::BadImage(format!("{}: {e}", path.display())))?;
    decode(&bytes).map_err(|e| match e {
        Error::BadImage(m) => Error::BadImage(format!("{}: {m}", path.display())),
        other => other,
    })
}
