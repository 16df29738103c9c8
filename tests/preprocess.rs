//! Pre-processing: center crop, area-averaging resize, alpha over white, normalisation.

use lcnet::model::InputSpec;
use lcnet::preprocess::{preview, to_input};

fn spec() -> InputSpec {
    InputSpec {
        size: 32,
        mean: [0.0; 3],
        std: [1.0; 3],
    }
}

fn rgb(w: usize, h: usize, f: impl Fn(usize, usize, usize) -> u8) -> Vec<u8> {
    (0..h)
        .flat_map(|y| (0..w).flat_map(move |x| (0..3).map(move |c| (x, y, c))))
        .map(|(x, y, c)| f(x, y, c))
        .collect()
}

#[test]
fn a_32x32_image_passes_unchanged_and_normalised() {
    let px = rgb(32, 32, |x, y, c| ((x * 7 + y * 3 + c * 50) % 256) as u8);
    let s = InputSpec {
        size: 32,
        mean: [0.5, 0.4, 0.3],
        std: [0.2, 0.25, 0.5],
    };
    let v = to_input(&px, 32, 32, 3, &s).unwrap();
    for (y, x, c) in [(0, 0, 0), (5, 31, 1), (31, 2, 2)] {
        let want = (((x * 7 + y * 3 + c * 50) % 256) as f32 / 255.0 - s.mean[c]) / s.std[c];
        assert!((v[c * 1024 + y * 32 + x] - want).abs() < 1e-6);
    }
    assert_eq!(preview(&v, &s), px, "the preview undoes the normalisation");
}

#[test]
fn a_64x64_image_is_averaged_over_2x2_blocks() {
    let px = rgb(64, 64, |x, y, c| ((x * 13 + y * 29 + c * 7) % 256) as u8);
    let v = to_input(&px, 64, 64, 3, &spec()).unwrap();
    for (oy, ox, c) in [(0, 0, 0), (10, 20, 1), (31, 31, 2)] {
        let mut sum = 0.0;
        for dy in 0..2 {
            for dx in 0..2 {
                sum += px[((2 * oy + dy) * 64 + 2 * ox + dx) * 3 + c] as f32 / 255.0;
            }
        }
        assert!((v[c * 1024 + oy * 32 + ox] - sum / 4.0).abs() < 1e-5);
    }
}

#[test]
fn a_wide_image_is_center_cropped() {
    // 96×32: the left and right thirds are white, the centre black: all black after the crop.
    let px = rgb(
        96,
        32,
        |x, _, _| if (32..64).contains(&x) { 0 } else { 255 },
    );
    let v = to_input(&px, 96, 32, 3, &spec()).unwrap();
    assert!(v.iter().all(|&p| p == 0.0));
    // Tall images likewise.
    let px = rgb(
        10,
        30,
        |_, y, _| if (10..20).contains(&y) { 255 } else { 0 },
    );
    let v = to_input(&px, 10, 30, 3, &spec()).unwrap();
    assert!(v.iter().all(|&p| (p - 1.0).abs() < 1e-6));
}

#[test]
fn odd_sizes_keep_mean_brightness() {
    // Area averaging preserves the mean of a crop of any size, up- or down-scaling.
    for side in [1usize, 7, 33, 45, 100] {
        let px = rgb(side, side, |x, y, c| ((x * 31 + y * 17 + c) % 256) as u8);
        let v = to_input(&px, side as u32, side as u32, 3, &spec()).unwrap();
        for c in 0..3 {
            let src: f64 = (0..side * side)
                .map(|i| px[i * 3 + c] as f64 / 255.0)
                .sum::<f64>()
                / (side * side) as f64;
            let out: f64 = v[c * 1024..(c + 1) * 1024]
                .iter()
                .map(|&x| x as f64)
                .sum::<f64>()
                / 1024.0;
            assert!((src - out).abs() < 1e-4, "side {side}: {src} vs {out}");
        }
    }
}

#[test]
fn alpha_is_composited_over_white() {
    let mut px = vec![0u8; 32 * 32 * 4];
    for p in px.chunks_exact_mut(4) {
        p.copy_from_slice(&[0, 0, 0, 51]); // black at 20 % opacity
    }
    let v = to_input(&px, 32, 32, 4, &spec()).unwrap();
    assert!(v.iter().all(|&x| (x - 0.8).abs() < 1e-6));
}

#[test]
fn bad_pixel_buffers_are_refused() {
    let s = spec();
    let msg = |r: lcnet::Result<Vec<f32>>| r.unwrap_err().to_string();
    assert!(msg(to_input(&[], 0, 10, 3, &s)).contains("no pixels"));
    assert!(msg(to_input(&[0; 11], 2, 2, 3, &s)).contains("11 bytes of pixels"));
    assert!(msg(to_input(&[0; 4], 1, 1, 2, &s)).contains("2 channels"));
    assert!(msg(to_input(&[0; 4], 100_000, 100_000, 4, &s)).contains("megapixel limit"));
}
