//! Decoding image files with bounded work and memory: a truncated file, a decompression bomb
//! or a non-image gets an error naming the problem, never a panic or gigabytes of allocation.
//!
//! The order of checks: file size (before reading), format (from the first bytes, not the file
//! name), then the header's dimensions against [`MAX_SIDE`] and [`MAX_PIXELS`](crate::preprocess::MAX_PIXELS) and the decoded
//! size against [`MAX_DECODED_BYTES`] — all before a single pixel is decoded — and finally the
//! decoder runs under [`MAX_ALLOC`]. The decoded image is pre-processed in its own pixel format
//! (grey, RGB, RGBA, 8 or 16 bit), so no converted copy of a large image is made.

use std::io::{Cursor, Read};
use std::panic::AssertUnwindSafe;
use std::path::Path;

use image::{ColorType, ImageDecoder, ImageFormat, ImageReader, Limits};

use crate::error::{Error, Result};
use crate::image_header::{self, check_dimensions, is_sof};
pub use crate::image_header::{MAX_FILE_BYTES, MAX_SIDE};
use crate::model::InputSpec;
use crate::preprocess::{over_white, to_input_with};
/// Largest decoded image buffer, plus for a progressive JPEG its coefficient store: 256 MiB,
/// i.e. 64 megapixels of 8-bit RGBA (16-bit images and progressive JPEGs reach it at fewer
/// pixels). Checked from the header before decoding.
pub const MAX_DECODED_BYTES: u64 = 256 * 1024 * 1024;
/// Largest allocation the decoder may make (its output buffer included): 512 MiB.
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

/// A decoded image in the decoder's own pixel format.
#[derive(Debug, Clone)]
pub struct Decoded {
    /// The format the bytes were in.
    pub format: ImageFormat,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Pixel format of `buf`.
    pub color: ColorType,
    /// Interleaved samples, native-endian for 16-bit formats.
    buf: Vec<u8>,
}

fn bad(msg: impl Into<String>) -> Error {
    Error::BadImage(msg.into())
}

/// What the JPEG's segments say before decoding: whether an end-of-image marker follows the
/// first scan, and for a progressive JPEG the bytes of the coefficient store its decoder keeps
/// for the whole image (2 bytes per sample of every component, MCU-padded).
struct JpegInfo {
    complete: bool,
    progressive_coefficients: u64,
}

/// A frame component whose sampling factors exceed the first component's. Encoders sample the
/// first (luma) component most finely; the JPEG decoder assumes so and indexes out of its
/// buffers otherwise, so such files are refused before decoding.
#[derive(Debug)]
struct FinerComponent {
    /// 1-based position in the frame header.
    index: usize,
    /// Its horizontal × vertical sampling factors.
    factors: (u8, u8),
    /// The first component's.
    first: (u8, u8),
}

/// A component sampled more finely than the first in any frame header of the file. Every
/// 0xFF followed by a start-of-frame marker is read as one, wherever it is: the decoder skips
/// junk between segments to the next marker, so a walk from segment to segment could miss a
/// frame header it decodes. (Entropy-coded data never holds such a pair; metadata rarely does,
/// and then only a header with a finer later component is refused.)
fn finer_component(b: &[u8]) -> Option<FinerComponent> {
    b.windows(2)
        .enumerate()
        .filter(|(_, w)| w[0] == 0xFF && is_sof(w[1]))
        .find_map(|(i, _)| {
            let len = u16::from_be_bytes([*b.get(i + 2)?, *b.get(i + 3)?]) as usize;
            finer_than_first(b.get(i + 4..(i + 2 + len).min(b.len()))?)
        })
}

/// The first component sampled more finely than component 1 in a SOF body, if any.
fn finer_than_first(sof: &[u8]) -> Option<FinerComponent> {
    let comps = sampling_factors(sof);
    let &first = comps.first()?;
    comps.iter().enumerate().skip(1).find_map(|(c, &f)| {
        (f.0 > first.0 || f.1 > first.1).then_some(FinerComponent {
            index: c + 1,
            factors: f,
            first,
        })
    })
}

/// Each component's horizontal × vertical sampling factors from a SOF body (those present).
fn sampling_factors(sof: &[u8]) -> Vec<(u8, u8)> {
    let n = sof.get(5).map_or(0, |&n| n as usize);
    (0..n)
        .filter_map(|c| sof.get(6 + 3 * c + 1))
        .map(|&hv| (hv >> 4, hv & 15))
        .collect()
}

/// Segments before the scan (an EXIF thumbnail with its own end marker among them) are skipped
/// by their lengths; inside the entropy-coded data a 0xFF byte is always followed by 0x00 or a
/// restart marker, so 0xFF 0xD9 there is the real end. Anything unexpected leaves the verdict
/// to the decoder.
fn jpeg_info(b: &[u8]) -> JpegInfo {
    let mut info = JpegInfo {
        complete: true,
        progressive_coefficients: 0,
    };
    let mut i = 2;
    loop {
        while b.get(i) == Some(&0xFF) && b.get(i + 1) == Some(&0xFF) {
            i += 1;
        }
        let (Some(&0xFF), Some(&marker)) = (b.get(i), b.get(i + 1)) else {
            return info;
        };
        if marker == 0xDA {
            break;
        }
        if marker == 0xD9 {
            return info;
        }
        let Some(len) = b.get(i + 2..i + 4) else {
            info.complete = false;
            return info;
        };
        let len = u16::from_be_bytes([len[0], len[1]]) as usize;
        if marker == 0xC2 {
            if let Some(sof) = b.get(i + 4..i + 2 + len) {
                info.progressive_coefficients = progressive_coefficients(sof);
            }
        }
        i += 2 + len;
    }
    info.complete = b
        .get(i..)
        .is_some_and(|scan| scan.windows(2).any(|w| w == [0xFF, 0xD9]));
    info
}

/// Coefficient bytes of a progressive frame from its SOF2 body.
fn progressive_coefficients(sof: &[u8]) -> u64 {
    let (Some(h), Some(w), Some(_)) = (sof.get(1..3), sof.get(3..5), sof.get(5)) else {
        return 0;
    };
    let (h, w) = (
        u16::from_be_bytes([h[0], h[1]]) as u64,
        u16::from_be_bytes([w[0], w[1]]) as u64,
    );
    let comps: Vec<(u64, u64)> = sampling_factors(sof)
        .into_iter()
        .map(|(h, v)| ((h as u64).max(1), (v as u64).max(1)))
        .collect();
    let hmax = comps.iter().map(|c| c.0).max().unwrap_or(1);
    let vmax = comps.iter().map(|c| c.1).max().unwrap_or(1);
    let (mcu_x, mcu_y) = (w.div_ceil(8 * hmax), h.div_ceil(8 * vmax));
    comps
        .iter()
        .map(|&(ch, cv)| mcu_x * ch * 8 * mcu_y * cv * 8 * 2)
        .sum()
}

fn describe(e: &image::ImageError) -> String {
    use image::ImageError as E;
    match e {
        E::Limits(l) => format!("image exceeds the decoder's limits ({l})"),
        E::Unsupported(u) => format!("unsupported image: {u}"),
        E::Decoding(d) => format!("corrupt or truncated image: {d}"),
        E::IoError(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
            "truncated image: the file ends before the image data does".into()
        }
        E::IoError(io) => format!("corrupt or truncated image: {io}"),
        E::Parameter(p) => format!("corrupt image: {p}"),
        other => other.to_string(),
    }
}

/// Decodes PNG, JPEG, WebP, GIF (first frame) or BMP bytes in their own pixel format, refusing
/// what is over the limits before decoding.
pub fn decode_native(bytes: &[u8]) -> Result<Decoded> {
    // The refusals the page gives too (through wasm, before the browser decodes): same words.
    image_header::inspect(bytes, bytes.len() as u64)?;
    let reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| bad(e.to_string()))?;
    let Some(format) = reader.format() else {
        return Err(bad("the image's format could not be told from its bytes"));
    };
    let mut reader = reader;
    let working = match format {
        ImageFormat::Jpeg => jpeg_preflight(bytes)?,
        _ => 0,
    };
    // The header is read with only the allocation limit, so that the size checks below, not the
    // decoder's, produce the message; the full limits are set before any pixel is decoded.
    let mut header_limits = Limits::default();
    header_limits.max_alloc = Some(MAX_ALLOC);
    reader.limits(header_limits);
    let mut decoder = reader.into_decoder().map_err(|e| bad(describe(&e)))?;
    let (w, h) = decoder.dimensions();
    let color = decoder.color_type();
    check_dimensions(w, h)?;
    let total = decoder.total_bytes();
    check_decoded_size(w, h, color, total, working)?;
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(MAX_ALLOC - total);
    decoder.set_limits(limits).map_err(|e| bad(describe(&e)))?;
    let mut buf = vec![0u8; total as usize];
    // A decoder bug on a malformed file must cost that file, not the whole run (`lcnet eval` or
    // `classify` over many files); the checks above keep the known cases from getting here.
    match std::panic::catch_unwind(AssertUnwindSafe(|| decoder.read_image(&mut buf))) {
        Ok(read) => read.map_err(|e| bad(describe(&e)))?,
        Err(_) => {
            return Err(bad(format!(
                "the {format:?} decoder failed on this file (it is malformed in a way the \
                 decoder does not catch)"
            )))
        }
    }
    Ok(Decoded {
        format,
        width: w,
        height: h,
        color,
        buf,
    })
}

/// Refuses the JPEGs the decoder would mishandle rather than reject (cut-off scans, chroma sampled
/// more finely than luma); returns the bytes a progressive JPEG's coefficients need while decoding.
fn jpeg_preflight(bytes: &[u8]) -> Result<u64> {
    let info = jpeg_info(bytes);
    if !info.complete {
        // The JPEG decoder pads a cut-off scan with grey rather than failing.
        return Err(bad(
            "truncated JPEG: the file ends before the image data does (no end-of-image marker)",
        ));
    }
    if let Some(c) = finer_component(bytes) {
        return Err(bad(format!(
            "unsupported JPEG: component {} is sampled {}×{}, more finely than the first \
             (luma) component's {}×{}",
            c.index, c.factors.0, c.factors.1, c.first.0, c.first.1
        )));
    }
    Ok(info.progressive_coefficients)
}

/// Refuses an image whose decoded pixels (`total` bytes, plus `working` bytes of progressive JPEG
/// coefficients) exceed the budget, or whose size the decoder reports inconsistently.
fn check_decoded_size(w: u32, h: u32, color: ColorType, total: u64, working: u64) -> Result<()> {
    if total.saturating_add(working) > MAX_DECODED_BYTES {
        let what = if working > 0 {
            "progressive JPEG"
        } else {
            "image"
        };
        return Err(bad(format!(
            "a {w}×{h} {color:?} {what} needs {} MiB to decode, over the {} MiB limit",
            (total + working).div_ceil(1024 * 1024),
            MAX_DECODED_BYTES / (1024 * 1024)
        )));
    }
    if total != w as u64 * h as u64 * color.bytes_per_pixel() as u64 {
        return Err(bad(format!(
            "the decoder reports {total} bytes for a {w}×{h} {color:?} image"
        )));
    }
    Ok(())
}

/// Pre-processes `channels` interleaved samples per pixel (grey, grey+alpha, RGB or RGBA), each
/// read as a value in [0, 1] by `sample` from its index; alpha is composited over white.
fn interleaved(
    w: u32,
    h: u32,
    channels: usize,
    spec: &InputSpec,
    sample: impl Fn(usize) -> f64,
) -> Result<Vec<f32>> {
    let row = w as usize;
    to_input_with(w, h, spec, |x, y| {
        let o = (y * row + x) * channels;
        match channels {
            1 => [sample(o); 3],
            2 => over_white([sample(o); 3], sample(o + 1)),
            3 => [sample(o), sample(o + 1), sample(o + 2)],
            _ => over_white([sample(o), sample(o + 1), sample(o + 2)], sample(o + 3)),
        }
    })
}

impl Decoded {
    /// Pre-processes the image into the network's input (see [`crate::preprocess::to_input`]).
    /// Every pixel format gives exactly what converting to 8-bit RGBA first would give.
    pub fn to_input(&self, spec: &InputSpec) -> Result<Vec<f32>> {
        let (w, h, b) = (self.width, self.height, &self.buf[..]);
        let u8s = |i: usize| b[i] as f64 / 255.0;
        // 16 → 8 bit exactly as `image` converts (round to nearest).
        let u16s = |i: usize| {
            let v = u16::from_ne_bytes([b[2 * i], b[2 * i + 1]]) as u32;
            ((v + 128) / 257) as f64 / 255.0
        };
        match self.color {
            ColorType::L8 => interleaved(w, h, 1, spec, u8s),
            ColorType::La8 => interleaved(w, h, 2, spec, u8s),
            ColorType::Rgb8 => interleaved(w, h, 3, spec, u8s),
            ColorType::Rgba8 => interleaved(w, h, 4, spec, u8s),
            ColorType::L16 => interleaved(w, h, 1, spec, u16s),
            ColorType::La16 => interleaved(w, h, 2, spec, u16s),
            ColorType::Rgb16 => interleaved(w, h, 3, spec, u16s),
            ColorType::Rgba16 => interleaved(w, h, 4, spec, u16s),
            _ => {
                let rgba = self.to_rgba()?;
                crate::preprocess::to_input(&rgba.pixels, w, h, 4, spec)
            }
        }
    }

    /// Converts to 8-bit RGBA.
    pub fn to_rgba(&self) -> Result<Rgba> {
        let (w, h) = (self.width, self.height);
        let n = self.buf.len();
        let unexpected = || bad(format!("{n} bytes of {:?} for a {w}×{h} image", self.color));
        let img: image::DynamicImage = match self.color {
            ColorType::L8 => image::GrayImage::from_raw(w, h, self.buf.clone())
                .ok_or_else(unexpected)?
                .into(),
            ColorType::La8 => image::GrayAlphaImage::from_raw(w, h, self.buf.clone())
                .ok_or_else(unexpected)?
                .into(),
            ColorType::Rgb8 => image::RgbImage::from_raw(w, h, self.buf.clone())
                .ok_or_else(unexpected)?
                .into(),
            ColorType::Rgba8 => {
                return image::RgbaImage::from_raw(w, h, self.buf.clone())
                    .ok_or_else(unexpected)
                    .map(|i| Rgba {
                        width: w,
                        height: h,
                        pixels: i.into_raw(),
                    })
            }
            _ => {
                let px: Vec<u16> = self
                    .buf
                    .chunks_exact(2)
                    .map(|c| u16::from_ne_bytes([c[0], c[1]]))
                    .collect();
                match self.color {
                    ColorType::L16 => image::ImageBuffer::<image::Luma<u16>, _>::from_raw(w, h, px)
                        .ok_or_else(unexpected)?
                        .into(),
                    ColorType::La16 => {
                        image::ImageBuffer::<image::LumaA<u16>, _>::from_raw(w, h, px)
                            .ok_or_else(unexpected)?
                            .into()
                    }
                    ColorType::Rgb16 => {
                        image::ImageBuffer::<image::Rgb<u16>, _>::from_raw(w, h, px)
                            .ok_or_else(unexpected)?
                            .into()
                    }
                    ColorType::Rgba16 => {
                        image::ImageBuffer::<image::Rgba<u16>, _>::from_raw(w, h, px)
                            .ok_or_else(unexpected)?
                            .into()
                    }
                    other => return Err(bad(format!("unsupported pixel format {other:?}"))),
                }
            }
        };
        let rgba = img.to_rgba8();
        Ok(Rgba {
            width: rgba.width(),
            height: rgba.height(),
            pixels: rgba.into_raw(),
        })
    }
}

/// Decodes PNG, JPEG, WebP, GIF (first frame) or BMP bytes to 8-bit RGBA.
pub fn decode(bytes: &[u8]) -> Result<Rgba> {
    decode_native(bytes)?.to_rgba()
}

/// Bytes → the network's input: bounded decoding, then pre-processing without a converted copy.
pub fn decode_input(bytes: &[u8], spec: &InputSpec) -> Result<Vec<f32>> {
    decode_native(bytes)?.to_input(spec)
}

fn with_path(path: &Path, e: Error) -> Error {
    match e {
        Error::BadImage(m) => bad(format!("{}: {m}", path.display())),
        other => other,
    }
}

/// Reads a file with a size cap.
fn read_bytes(path: &Path) -> Result<Vec<u8>> {
    let meta = std::fs::metadata(path).map_err(|e| bad(format!("{}: {e}", path.display())))?;
    if !meta.is_file() {
        return Err(bad(format!("{}: not a file", path.display())));
    }
    if meta.len() > MAX_FILE_BYTES {
        return Err(bad(format!(
            "{}: {} MB, over the {} MB limit",
            path.display(),
            meta.len() / 1_000_000,
            MAX_FILE_BYTES / (1024 * 1024)
        )));
    }
    // The cap holds even if the file grows between the check and the read.
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_FILE_BYTES + 1).read_to_end(&mut bytes))
        .map_err(|e| bad(format!("{}: {e}", path.display())))?;
    Ok(bytes)
}

/// Reads a file with a size cap, then decodes it to 8-bit RGBA.
pub fn read(path: &Path) -> Result<Rgba> {
    decode(&read_bytes(path)?).map_err(|e| with_path(path, e))
}

/// Reads a file with a size cap, decodes it and pre-processes it into the network's input.
pub fn read_input(path: &Path, spec: &InputSpec) -> Result<Vec<f32>> {
    decode_input(&read_bytes(path)?, spec).map_err(|e| with_path(path, e))
}
