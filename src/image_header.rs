//! What an image file's first bytes say, before any pixel is decoded: its format, and for the
//! formats this project decodes its width and height. The CLI's decoder and the page (through
//! wasm, before the browser decodes anything) both refuse a bad file with these words, so a
//! person sees the same message in either.

use serde::Serialize;

use crate::error::{Error, Result};
use crate::preprocess::MAX_PIXELS;

/// Largest image file read: 64 MiB.
pub const MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;
/// Largest side accepted, checked from the header before decoding.
pub const MAX_SIDE: u32 = 16_384;
/// The formats this project decodes, for messages.
pub const SUPPORTED: &str = "PNG, JPEG, WebP, GIF or BMP";

/// An image format this project decodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Format {
    /// PNG.
    Png,
    /// JPEG (baseline or progressive).
    Jpeg,
    /// WebP (lossy, lossless or extended).
    WebP,
    /// GIF (its first frame).
    Gif,
    /// BMP.
    Bmp,
}

/// What the header says about a file the project can decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Header {
    /// The format, from the bytes (not the file name).
    pub format: Format,
    /// Width and height, where the header holds them within the bytes given.
    pub size: Option<(u32, u32)>,
}

fn bad(msg: impl Into<String>) -> Error {
    Error::BadImage(msg.into())
}

/// Refuses an empty file or one over [`MAX_FILE_BYTES`] from its length alone (before reading it).
pub fn check_file_len(len: u64) -> Result<()> {
    if len == 0 {
        return Err(bad("the file is empty"));
    }
    if len > MAX_FILE_BYTES {
        return Err(bad(format!(
            "{} MB of data, over the {} MB limit",
            len / 1_000_000,
            MAX_FILE_BYTES / (1024 * 1024)
        )));
    }
    Ok(())
}

/// Refuses dimensions with no pixels, over [`MAX_PIXELS`] or with a side over [`MAX_SIDE`].
pub fn check_dimensions(w: u32, h: u32) -> Result<()> {
    if w == 0 || h == 0 {
        return Err(bad(format!("image is {w}×{h}: it has no pixels")));
    }
    let pixels = w as u64 * h as u64;
    if pixels > MAX_PIXELS {
        return Err(bad(format!(
            "image is {w}×{h} ({:.0} megapixels), over the {} megapixel limit",
            pixels as f64 / 1e6,
            MAX_PIXELS / (1024 * 1024)
        )));
    }
    if w > MAX_SIDE || h > MAX_SIDE {
        return Err(bad(format!(
            "image is {w}×{h}, a side over the {MAX_SIDE} pixel limit"
        )));
    }
    Ok(())
}

/// Magic bytes of formats an image library recognises but this project does not decode, with
/// the name a refusal gives them (the `image` crate's first file extension, as the CLI names them).
const OTHER_FORMATS: [(&[u8], &str); 14] = [
    (b"MM\x00*", "TIFF"),
    (b"II*\x00", "TIFF"),
    (b"DDS ", "DDS"),
    (&[0, 0, 1, 0], "ICO"),
    (b"#?RADIANCE", "HDR"),
    (&[0x76, 0x2f, 0x31, 0x01], "EXR"),
    (b"qoif", "QOI"),
    (b"P1", "PBM"),
    (b"P2", "PBM"),
    (b"P3", "PBM"),
    (b"P4", "PBM"),
    (b"P5", "PBM"),
    (b"P6", "PBM"),
    (b"P7", "PBM"),
];

/// The format from the first bytes (a few hundred suffice); a refusal names what the file is
/// when it can tell (SVG, PDF, HEIC, TIFF, …).
pub fn format_of(head: &[u8]) -> Result<Format> {
    let webp = head.len() >= 12 && &head[..4] == b"RIFF" && &head[8..12] == b"WEBP";
    let found = if head.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some(Format::Png)
    } else if head.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some(Format::Jpeg)
    } else if head.starts_with(b"GIF89a") || head.starts_with(b"GIF87a") {
        Some(Format::Gif)
    } else if webp {
        Some(Format::WebP)
    } else if head.starts_with(b"BM") {
        Some(Format::Bmp)
    } else {
        None
    };
    if let Some(f) = found {
        return Ok(f);
    }
    // AVIF before the named kinds: its brand is what `image` recognises it by.
    let avif = head.len() >= 12 && head[..2] == [0, 0] && &head[4..12] == b"ftypavif";
    let named = OTHER_FORMATS
        .iter()
        .find(|(m, _)| head.starts_with(m))
        .map(|(_, n)| *n)
        .or(avif.then_some("AVIF"))
        .or(head.starts_with(b"farbfeld").then_some("FF"));
    Err(bad(match named.or_else(|| sniff_unsupported(head)) {
        Some(kind) => format!("{kind} is not supported: use {SUPPORTED}"),
        None => format!("not a recognised image format ({SUPPORTED})"),
    }))
}

/// Names formats no image library here knows from their first bytes, for a clearer refusal.
fn sniff_unsupported(bytes: &[u8]) -> Option<&'static str> {
    let head = &bytes[..bytes.len().min(512)];
    let text = String::from_utf8_lossy(head);
    let t = text.trim_start_matches('\u{feff}').trim_start();
    let lower = t.to_ascii_lowercase();
    if lower.starts_with("<svg") || (lower.starts_with("<?xml") && lower.contains("<svg")) {
        return Some("SVG (a vector image)");
    }
    if lower.starts_with("<!doctype html") || lower.starts_with("<html") {
        return Some("HTML");
    }
    if head.starts_with(b"%PDF") {
        return Some("PDF");
    }
    if head.len() >= 12 && &head[4..8] == b"ftyp" {
        let brand = &head[8..12];
        if [b"heic", b"heix", b"hevc", b"mif1", b"msf1"]
            .iter()
            .any(|b| &b[..] == brand)
        {
            return Some("HEIC/HEIF");
        }
        if brand == b"avif" || brand == b"avis" {
            return Some("AVIF");
        }
    }
    if head.starts_with(&[0xFF, 0x0A]) || head.starts_with(b"\0\0\0\x0cJXL ") {
        return Some("JPEG XL");
    }
    None
}

/// Start-of-frame markers: 0xC0–0xCF less DHT (0xC4), JPG (0xC8) and DAC (0xCC).
pub(crate) fn is_sof(marker: u8) -> bool {
    (0xC0..=0xCF).contains(&marker) && !matches!(marker, 0xC4 | 0xC8 | 0xCC)
}

fn u16_be(b: &[u8], i: usize) -> Option<u32> {
    Some(u16::from_be_bytes([*b.get(i)?, *b.get(i + 1)?]) as u32)
}
fn u16_le(b: &[u8], i: usize) -> Option<u32> {
    Some(u16::from_le_bytes([*b.get(i)?, *b.get(i + 1)?]) as u32)
}
fn u32_be(b: &[u8], i: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(i..i + 4)?.try_into().ok()?))
}
fn u32_le(b: &[u8], i: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(i..i + 4)?.try_into().ok()?))
}
fn u24_le(b: &[u8], i: usize) -> Option<u32> {
    Some(u32::from_le_bytes([
        *b.get(i)?,
        *b.get(i + 1)?,
        *b.get(i + 2)?,
        0,
    ]))
}

/// The first frame header's height and width of a JPEG (segments before it skipped by length).
fn jpeg_size(b: &[u8]) -> Option<(u32, u32)> {
    let mut i = 2;
    loop {
        while b.get(i) == Some(&0xFF) && b.get(i + 1) == Some(&0xFF) {
            i += 1;
        }
        if *b.get(i)? != 0xFF {
            return None;
        }
        let marker = *b.get(i + 1)?;
        if is_sof(marker) {
            return Some((u16_be(b, i + 7)?, u16_be(b, i + 5)?));
        }
        if marker == 0xDA || marker == 0xD9 {
            return None;
        }
        if (0xD0..=0xD7).contains(&marker) || marker == 0x01 {
            i += 2;
            continue;
        }
        i += 2 + u16_be(b, i + 2)? as usize;
    }
}

/// Width and height as the format's header states them (what its decoder reads first).
fn size_of(format: Format, b: &[u8]) -> Option<(u32, u32)> {
    match format {
        Format::Png => (b.get(12..16)? == b"IHDR").then_some((u32_be(b, 16)?, u32_be(b, 20)?)),
        Format::Gif => Some((u16_le(b, 6)?, u16_le(b, 8)?)),
        Format::Bmp => match u32_le(b, 14)? {
            12 => Some((u16_le(b, 18)?, u16_le(b, 20)?)),
            _ => {
                let w = u32_le(b, 18)? as i32;
                let h = u32_le(b, 22)? as i32;
                (w > 0).then_some((w as u32, h.unsigned_abs()))
            }
        },
        Format::WebP => match b.get(12..16)? {
            b"VP8 " => {
                (b.get(23..26)? == [0x9D, 0x01, 0x2A]).then_some(())?;
                Some((u16_le(b, 26)? & 0x3FFF, u16_le(b, 28)? & 0x3FFF))
            }
            b"VP8L" => {
                (*b.get(20)? == 0x2F).then_some(())?;
                let bits = u32_le(b, 21)?;
                Some(((bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1))
            }
            b"VP8X" => Some((u24_le(b, 24)? + 1, u24_le(b, 27)? + 1)),
            _ => None,
        },
        Format::Jpeg => jpeg_size(b),
    }
}

/// Every check that needs only the file's length and its first bytes (`head`: the whole file or
/// a prefix of it): empty or too large, a format this project decodes, and — where the header
/// lies within `head` — dimensions with pixels, within [`MAX_PIXELS`] and [`MAX_SIDE`].
pub fn inspect(head: &[u8], file_len: u64) -> Result<Header> {
    check_file_len(file_len)?;
    let format = format_of(head)?;
    let size = size_of(format, head);
    if let Some((w, h)) = size {
        check_dimensions(w, h)?;
    }
    Ok(Header { format, size })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_come_from_each_formats_header() {
        let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
        png.extend_from_slice(&300u32.to_be_bytes());
        png.extend_from_slice(&200u32.to_be_bytes());
        assert_eq!(inspect(&png, 1000).unwrap().size, Some((300, 200)));
        let gif = b"GIF89a\x2c\x01\xc8\x00";
        assert_eq!(inspect(gif, 10).unwrap().size, Some((300, 200)));
        let mut bmp = b"BM".to_vec();
        bmp.resize(14, 0);
        bmp.extend_from_slice(&40u32.to_le_bytes());
        bmp.extend_from_slice(&300i32.to_le_bytes());
        bmp.extend_from_slice(&(-200i32).to_le_bytes());
        assert_eq!(inspect(&bmp, 100).unwrap().size, Some((300, 200)));
        // A JPEG's frame header after an APP segment.
        let mut jpeg = vec![0xFF, 0xD8, 0xFF, 0xE0, 0, 4, 0, 0, 0xFF, 0xC0, 0, 11, 8];
        jpeg.extend_from_slice(&200u16.to_be_bytes());
        jpeg.extend_from_slice(&300u16.to_be_bytes());
        assert_eq!(inspect(&jpeg, 100).unwrap().size, Some((300, 200)));
        // Cut before the frame header: format known, size not (the decoder will say more).
        assert_eq!(inspect(&jpeg[..9], 100).unwrap().size, None);
    }

    #[test]
    fn refusals_name_the_problem() {
        let msg = |r: Result<Header>| r.unwrap_err().to_string();
        assert!(msg(inspect(b"", 0)).contains("the file is empty"));
        assert!(msg(inspect(b"\x89PNG", 65 << 20)).contains("68 MB of data, over the 64 MB limit"));
        assert!(msg(inspect(b"<svg/>", 6)).contains("SVG (a vector image) is not supported"));
        assert!(msg(inspect(b"II*\0", 4)).contains("TIFF is not supported"));
        assert!(msg(inspect(b"hello", 5)).contains("not a recognised image format"));
        let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
        png.extend_from_slice(&60000u32.to_be_bytes());
        png.extend_from_slice(&60000u32.to_be_bytes());
        assert!(msg(inspect(&png, 100)).contains("60000×60000 (3600 megapixels), over the 64"));
    }
}
