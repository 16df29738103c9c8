//! Pixels → the network's input, identical in the CLI and in wasm: center crop to a square,
//! area-averaging resize to the model's input size, normalise with the model card's values.

use crate::error::{Error, Result};
use crate::model::InputSpec;

/// Largest image (in pixels) accepted for pre-processing: 64 megapixels.
pub const MAX_PIXELS: u64 = 64 * 1024 * 1024;

/// An image with no pixels, or more than [`MAX_PIXELS`], is refused before any work.
fn check_size(width: u32, height: u32) -> Result<()> {
    if width == 0 || height == 0 {
        return Err(Error::BadImage(format!(
            "image is {width}×{height}: it has no pixels"
        )));
    }
    if width as u64 * height as u64 > MAX_PIXELS {
        return Err(Error::BadImage(format!(
            "image is {width}×{height}, more than the {} megapixel limit",
            MAX_PIXELS / (1024 * 1024)
        )));
    }
    Ok(())
}

/// Converts interleaved 8-bit pixels (`channels` = 3 for RGB, 4 for RGBA) of a `width × height`
/// image into a normalised CHW `[3, size, size]` vector. Alpha is composited over white, the
/// usual background of a transparent picture.
pub fn to_input(
    pixels: &[u8],
    width: u32,
    height: u32,
    channels: usize,
    spec: &InputSpec,
) -> Result<Vec<f32>> {
    let (w, h) = (width as usize, height as usize);
    check_size(width, height)?;
    if channels != 3 && channels != 4 {
        return Err(Error::BadImage(format!(
            "{channels} channels per pixel (expected 3 or 4)"
        )));
    }
    if pixels.len() != w * h * channels {
        return Err(Error::BadImage(format!(
            "{} bytes of pixels for a {width}×{height} image with {channels} channels (expected {})",
            pixels.len(),
            w * h * channels
        )));
    }
    let pixel = |x: usize, y: usize| -> [f64; 3] {
        let o = (y * w + x) * channels;
        let rgb = [pixels[o], pixels[o + 1], pixels[o + 2]].map(|v| v as f64 / 255.0);
        if channels == 4 {
            over_white(rgb, pixels[o + 3] as f64 / 255.0)
        } else {
            rgb
        }
    };
    to_input_with(width, height, spec, pixel)
}

/// Composites a colour (components in [0, 1]) with alpha `a` over white.
#[inline]
pub fn over_white(rgb: [f64; 3], a: f64) -> [f64; 3] {
    rgb.map(|v| v * a + (1.0 - a))
}

/// The pre-processing of [`to_input`] over any pixel source: `pixel(x, y)` returns the RGB
/// value in [0, 1] (alpha already composited) of the pixel at column `x`, row `y` of the
/// `width × height` image, and is called only with `x < width`, `y < height`. This lets the CLI
/// pre-process a decoded image in its own pixel format (grey, 16-bit, …) without first
/// converting a copy of it to RGBA.
pub fn to_input_with(
    width: u32,
    height: u32,
    spec: &InputSpec,
    pixel: impl Fn(usize, usize) -> [f64; 3],
) -> Result<Vec<f32>> {
    check_size(width, height)?;
    let out = spec.size;
    if out == 0 || spec.std.iter().any(|s| !(s.is_finite() && *s > 0.0)) {
        return Err(Error::BadImage(format!(
            "input size {out} with std {:?} cannot be produced",
            spec.std
        )));
    }
    let (w, h) = (width as usize, height as usize);
    let side = w.min(h);
    let (x0, y0) = ((w - side) / 2, (h - side) / 2);
    let scale = side as f64 / out as f64;
    // Each output pixel averages the source square [i·scale, (i+1)·scale), pixels partly
    // inside it weighted by the covered fraction. The same weights serve both axes.
    let weights: Vec<Vec<(usize, f64)>> = (0..out)
        .map(|i| {
            let (a, b) = (i as f64 * scale, (i + 1) as f64 * scale);
            let first = (a.floor() as usize).min(side);
            let last = (b.ceil() as usize).min(side);
            (first..last)
                .filter_map(|s| {
                    let cover = (b.min(s as f64 + 1.0) - a.max(s as f64)) / scale;
                    (cover > 0.0).then_some((s, cover))
                })
                .collect()
        })
        .collect();
    let mut result = vec![0f32; 3 * out * out];
    for (oy, wy) in weights.iter().enumerate() {
        for (ox, wx) in weights.iter().enumerate() {
            let mut acc = [0f64; 3];
            for &(sy, fy) in wy {
                for &(sx, fx) in wx {
                    let p = pixel(x0 + sx, y0 + sy);
                    for c in 0..3 {
                        acc[c] += p[c] * fy * fx;
                    }
                }
            }
            for c in 0..3 {
                let v = (acc[c] as f32 - spec.mean[c]) / spec.std[c];
                result[c * out * out + oy * out + ox] = v;
            }
        }
    }
    Ok(result)
}

/// The 8-bit RGB preview of what the network sees (crop + resize, before normalisation),
/// `size × size × 3`, for display.
pub fn preview(input: &[f32], spec: &InputSpec) -> Vec<u8> {
    let n = spec.size * spec.size;
    let mut out = vec![0u8; n * 3];
    for i in 0..n {
        for c in 0..3 {
            let v = input[c * n + i] * spec.std[c] + spec.mean[c];
            out[i * 3 + c] = (v * 255.0).round().clamp(0.0, 255.0) as u8;
        }
    }
    out
}
