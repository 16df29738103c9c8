//! Hostile and unusual image files, all generated here: each valid one classifies, each invalid
//! one is refused with a message naming the problem — quickly, before any large allocation.

mod common;

use common::{assert_has, lcnet, s};

use std::io::{Cursor, Write};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use image::{DynamicImage, ImageFormat};
use lcnet::data::image_file::{decode, decode_input, decode_native};
use lcnet::model::InputSpec;
use lcnet::preprocess::to_input;
use lcnet::Network;

/// The formats this project decodes.
const FORMATS: [ImageFormat; 5] = [
    ImageFormat::Png,
    ImageFormat::Jpeg,
    ImageFormat::Gif,
    ImageFormat::Bmp,
    ImageFormat::WebP,
];

fn spec() -> InputSpec {
    InputSpec {
        size: 32,
        mean: [0.5; 3],
        std: [0.25; 3],
    }
}

fn encode(img: &DynamicImage, format: ImageFormat) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, format).unwrap();
    out.into_inner()
}

/// Offset of the baseline start-of-frame marker in a JPEG the image crate encoded.
fn baseline_sof(jpeg: &[u8]) -> usize {
    jpeg.windows(2)
        .position(|w| w == [0xFF, 0xC0])
        .expect("baseline SOF")
}

/// A real 16×16 baseline JPEG whose frame header is patched to claim `side`×`side` pixels.
fn jpeg_claiming(side: u16) -> Vec<u8> {
    let mut jpeg = encode(
        &DynamicImage::ImageRgb8(noise_rgb(16, 16, 2)),
        ImageFormat::Jpeg,
    );
    let sof = baseline_sof(&jpeg);
    jpeg[sof + 5..sof + 7].copy_from_slice(&side.to_be_bytes());
    jpeg[sof + 7..sof + 9].copy_from_slice(&side.to_be_bytes());
    jpeg
}

fn noise_rgb(w: u32, h: u32, seed: u64) -> image::RgbImage {
    let px = common::noise((w * h * 3) as usize, seed)
        .into_iter()
        .map(|v| (v * 255.0) as u8)
        .collect();
    image::RgbImage::from_raw(w, h, px).unwrap()
}

/// Decodes, pre-processes and classifies; panics with the message if anything fails.
fn classifies(bytes: &[u8]) -> String {
    let net = lcnet::Classifier::new(Network::random(1, true, 1).unwrap()).unwrap();
    let input = decode_input(bytes, &spec()).unwrap_or_else(|e| panic!("refused: {e}"));
    assert_eq!(input.len(), 3 * 32 * 32);
    assert!(input.iter().all(|v| v.is_finite()));
    net.classify(&input, &net.default_options()).unwrap().label
}

/// The refusal message, checked to arrive within a second.
fn refused(bytes: &[u8]) -> String {
    let t = Instant::now();
    let msg = match decode_input(bytes, &spec()) {
        Ok(_) => panic!("accepted an invalid image"),
        Err(e) => e.to_string(),
    };
    assert!(
        t.elapsed() < Duration::from_secs(1),
        "took {:?}: {msg}",
        t.elapsed()
    );
    assert!(msg.starts_with("invalid image: "), "{msg}");
    msg
}

/// A PNG chunk: length, type, data, CRC.
fn chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut crc = flate2::Crc::new();
    crc.update(kind);
    crc.update(data);
    let mut c = (data.len() as u32).to_be_bytes().to_vec();
    c.extend_from_slice(kind);
    c.extend_from_slice(data);
    c.extend_from_slice(&crc.sum().to_be_bytes());
    c
}

/// A PNG whose IHDR says `w × h` (bit depth, colour type) and whose image data is `rows`
/// zero-filled rows, deflated while they are produced (nothing that size is held in memory).
fn png_of_zeros(w: u32, h: u32, depth: u8, colour: u8, rows: u32) -> Vec<u8> {
    let channels: u64 = match colour {
        0 => 1,
        2 => 3,
        4 => 2,
        6 => 4,
        _ => 1,
    };
    let row_bytes = 1 + (w as u64 * channels * depth as u64).div_ceil(8);
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    let zeros = vec![0u8; row_bytes as usize];
    for _ in 0..rows {
        z.write_all(&zeros).unwrap();
    }
    let idat = z.finish().unwrap();
    let mut ihdr = w.to_be_bytes().to_vec();
    ihdr.extend_from_slice(&h.to_be_bytes());
    ihdr.extend_from_slice(&[depth, colour, 0, 0, 0]);
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.extend(chunk(b"IHDR", &ihdr));
    png.extend(chunk(b"IDAT", &idat));
    png.extend(chunk(b"IEND", &[]));
    png
}

/// A BMP header claiming `w × h` at 24 bits with `data` bytes of pixels after it.
fn bmp_header(w: i32, h: i32, data: usize) -> Vec<u8> {
    let mut b = b"BM".to_vec();
    b.extend_from_slice(&((54 + data) as u32).to_le_bytes());
    b.extend_from_slice(&[0; 4]);
    b.extend_from_slice(&54u32.to_le_bytes());
    b.extend_from_slice(&40u32.to_le_bytes());
    b.extend_from_slice(&w.to_le_bytes());
    b.extend_from_slice(&h.to_le_bytes());
    b.extend_from_slice(&1u16.to_le_bytes());
    b.extend_from_slice(&24u16.to_le_bytes());
    b.extend_from_slice(&[0; 24]);
    b.extend(std::iter::repeat_n(0u8, data));
    b
}

/// A GIF whose logical screen and single frame are `w × h`, with a few bytes of LZW data.
fn gif_header(w: u16, h: u16) -> Vec<u8> {
    let mut g = b"GIF89a".to_vec();
    g.extend_from_slice(&w.to_le_bytes());
    g.extend_from_slice(&h.to_le_bytes());
    g.extend_from_slice(&[0x80, 0, 0]); // global colour table of 2 entries
    g.extend_from_slice(&[0, 0, 0, 255, 255, 255]);
    g.push(0x2C);
    g.extend_from_slice(&[0, 0, 0, 0]);
    g.extend_from_slice(&w.to_le_bytes());
    g.extend_from_slice(&h.to_le_bytes());
    g.push(0);
    g.extend_from_slice(&[2, 2, 0x4C, 0x01, 0]); // min code size 2, a tiny LZW block
    g.push(0x3B);
    g
}

/// A baseline JPEG with four components (Adobe CMYK, no transform), 8×8 pixels, each component
/// a flat value: one DC-only block per component. The `image` encoder cannot write CMYK.
fn cmyk_jpeg(cmyk: [u8; 4]) -> Vec<u8> {
    let mut j = vec![0xFF, 0xD8];
    let mut segment = |marker: u8, body: &[u8]| {
        j.extend_from_slice(&[0xFF, marker]);
        j.extend_from_slice(&((body.len() + 2) as u16).to_be_bytes());
        j.extend_from_slice(body);
    };
    // Adobe APP14: version 100, flags 0, 0, transform 0 (CMYK).
    segment(0xEE, b"Adobe\x00\x64\x00\x00\x00\x00\x00");
    let mut dqt = vec![0u8];
    dqt.extend([1u8; 64]);
    segment(0xDB, &dqt);
    let mut sof = vec![8, 0, 8, 0, 8, 4];
    for id in 1..=4u8 {
        sof.extend_from_slice(&[id, 0x11, 0]);
    }
    segment(0xC0, &sof);
    // DC table: the twelve categories, all with 4-bit codes; AC table: only EOB, code "0".
    let mut dc = vec![0x00, 0, 0, 0, 12];
    dc.extend([0u8; 12]);
    dc.extend(0..12u8);
    segment(0xC4, &dc);
    let mut ac = vec![0x10, 1];
    ac.extend([0u8; 15]);
    ac.push(0x00);
    segment(0xC4, &ac);
    segment(0xDA, &[4, 1, 0, 2, 0, 3, 0, 4, 0, 0, 63, 0]);
    let mut bits: Vec<bool> = Vec::new();
    for &v in &cmyk {
        let dc = (v as i32 - 128) * 8;
        let cat = if dc == 0 {
            0
        } else {
            32 - dc.unsigned_abs().leading_zeros()
        };
        bits.extend((0..4).rev().map(|i| (cat >> i) & 1 == 1));
        let extra = if dc < 0 { dc - 1 } else { dc } as u32;
        bits.extend((0..cat).rev().map(|i| (extra >> i) & 1 == 1));
        bits.push(false); // EOB
    }
    while bits.len() % 8 != 0 {
        bits.push(true);
    }
    for byte in bits.chunks(8) {
        let b = byte.iter().fold(0u8, |a, &x| (a << 1) | x as u8);
        j.push(b);
        if b == 0xFF {
            j.push(0);
        }
    }
    j.extend_from_slice(&[0xFF, 0xD9]);
    j
}

#[test]
fn empty_and_non_images_are_refused_by_name() {
    assert_has(&refused(b""), "the file is empty");
    assert_has(
        &refused(b"hello, I am a text file called photo.jpg"),
        "not a recognised image format",
    );
    assert_has(&refused(&[0u8; 1000]), "not a recognised image format");
    let svg = br#"<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10"/></svg>"#;
    assert_has(&refused(svg), "SVG (a vector image) is not supported");
    assert_has(&refused(b"  <svg width='1'/>"), "SVG");
    assert_has(&refused(b"%PDF-1.7\n..."), "PDF is not supported");
    assert_has(
        &refused(b"\0\0\0\x18ftypheic\0\0\0\0mif1heic"),
        "HEIC/HEIF is not supported",
    );
    assert_has(
        &refused(b"\0\0\0\x1cftypavif\0\0\0\0avifmif1"),
        "is not supported",
    );
    // Formats `image` recognises but this build does not decode.
    let tiff = b"II*\0\x08\0\0\0\0\0\0\0";
    assert_has(&refused(tiff), "TIFF is not supported: use PNG, JPEG");
    assert_has(
        &refused(b"qoif\0\0\0\x01\0\0\0\x01\x04\0"),
        "is not supported",
    );
    let ico = [0, 0, 1, 0, 1, 0, 16, 16, 0, 0, 1, 0, 32, 0];
    assert_has(&refused(&ico), "is not supported");
}

#[test]
fn truncated_files_are_refused() {
    let img = DynamicImage::ImageRgb8(noise_rgb(64, 48, 1));
    for format in FORMATS {
        let bytes = encode(&img, format);
        classifies(&bytes);
        for cut in [bytes.len() / 2, bytes.len() * 9 / 10, 40, 8] {
            if decode_input(&bytes[..cut], &spec()).is_ok() {
                panic!("{format:?} cut at {cut} of {} accepted", bytes.len());
            }
            let msg = refused(&bytes[..cut]);
            assert!(
                msg.contains("truncated")
                    || msg.contains("corrupt")
                    || msg.contains("not a recognised"),
                "{format:?} cut at {cut}: {msg}"
            );
        }
    }
}

#[test]
fn headers_claiming_enormous_sizes_are_refused_before_decoding() {
    // PNG 100000×100000 with a few bytes of data.
    let png = png_of_zeros(100_000, 100_000, 8, 6, 1);
    assert!(png.len() < 2000);
    assert_has(&refused(&png), "100000×100000 (10000 megapixels)");
    assert_has(&refused(&png), "over the 64 megapixel limit");
    // Over the side limit but under the pixel limit.
    assert_has(
        &refused(&png_of_zeros(20_000, 100, 8, 0, 1)),
        "a side over the 16384 pixel limit",
    );
    // 16-bit RGBA 8192×8192 is 64 megapixels but 512 MiB decoded.
    assert_has(
        &refused(&png_of_zeros(8192, 8192, 16, 6, 1)),
        "needs 512 MiB to decode, over the 256 MiB limit",
    );
    // The header check refuses before the BMP decoder (which refuses sides over 65535 itself).
    assert_has(
        &refused(&bmp_header(100_000, 100_000, 64)),
        "100000×100000 (10000 megapixels), over the 64 megapixel limit",
    );
    assert_has(
        &refused(&bmp_header(20_000, 20_000, 64)),
        "20000×20000 (400 megapixels), over the 64 megapixel limit",
    );
    let bmp = bmp_header(50_000, -50_000, 64);
    assert!(!refused(&bmp).is_empty());
    let gif = gif_header(65_535, 65_535);
    assert_has(&refused(&gif), "65535×65535");
    // JPEG: patch the SOF of a real one to 65000×65000.
    let mut jpeg = jpeg_claiming(65000);
    let sof = baseline_sof(&jpeg);
    assert_has(&refused(&jpeg), "65000×65000");
    // A progressive JPEG keeps every coefficient while decoding: 8000×8000 (4:4:4) needs
    // 550 MiB and is refused, though a baseline one of that size is not.
    jpeg[sof + 5..sof + 7].copy_from_slice(&8000u16.to_be_bytes());
    jpeg[sof + 7..sof + 9].copy_from_slice(&8000u16.to_be_bytes());
    jpeg[sof + 1] = 0xC2;
    assert_has(
        &refused(&jpeg),
        "a 8000×8000 Rgb8 progressive JPEG needs 550 MiB to decode, over the 256 MiB limit",
    );
    // WebP lossless: patch the 14-bit sizes (minus one) of the VP8L header to 16383×16383.
    // (image-webp 0.2 reads a side of 16384 as 0, which is refused as "no pixels".)
    let mut webp = encode(
        &DynamicImage::ImageRgba8(image::RgbaImage::new(4, 4)),
        ImageFormat::WebP,
    );
    let vp8l = webp
        .windows(4)
        .position(|w| w == b"VP8L")
        .expect("lossless");
    let sizes: u32 = 16382 | (16382 << 14) | (u32::from(webp[vp8l + 12]) >> 4 << 28);
    webp[vp8l + 9..vp8l + 13].copy_from_slice(&sizes.to_le_bytes());
    assert_has(&refused(&webp), "16383×16383 (268 megapixels)");
    // No pixels at all.
    assert!(!refused(&png_of_zeros(0, 10, 8, 0, 0)).is_empty());
}

#[test]
fn a_decompression_bomb_is_refused_quickly_before_decoding() {
    // 20000×20000 greyscale zeros: 400 MB of pixels in a few hundred KB.
    let bomb = png_of_zeros(20_000, 20_000, 8, 0, 20_000);
    assert!(bomb.len() < 1_000_000, "{} bytes", bomb.len());
    let t = Instant::now();
    let msg = refused(&bomb);
    assert_has(
        &msg,
        "20000×20000 (400 megapixels), over the 64 megapixel limit",
    );
    assert!(
        t.elapsed() < Duration::from_millis(200),
        "{:?}",
        t.elapsed()
    );
    // Under the side limit: 16000×16000 (256 megapixels).
    let bomb = png_of_zeros(16_000, 16_000, 8, 0, 16_000);
    assert_has(&refused(&bomb), "over the 64 megapixel limit");
}

#[test]
fn tiny_and_thin_images_classify() {
    for (w, h) in [(1, 1), (1, 5000), (5000, 1), (2, 3), (33, 31)] {
        classifies(&encode(
            &DynamicImage::ImageRgb8(noise_rgb(w, h, 3)),
            ImageFormat::Png,
        ));
    }
    // A 1×1 image is its own colour everywhere.
    let red = DynamicImage::ImageRgb8(image::RgbImage::from_pixel(1, 1, image::Rgb([255, 0, 0])));
    let v = decode_input(&encode(&red, ImageFormat::Png), &spec()).unwrap();
    assert!(v[..1024].iter().all(|&x| (x - 2.0).abs() < 1e-6));
    assert!(v[1024..].iter().all(|&x| (x + 2.0).abs() < 1e-6));
}

#[test]
fn every_pixel_format_gives_what_rgba8_gives() {
    let rgb = noise_rgb(40, 30, 4);
    let rgba16 = image::ImageBuffer::<image::Rgba<u16>, _>::from_fn(40, 30, |x, y| {
        let p = rgb.get_pixel(x, y).0;
        image::Rgba([
            p[0] as u16 * 257 + x as u16,
            p[1] as u16 * 251,
            p[2] as u16 * 3,
            (x * 1600 + y * 700) as u16,
        ])
    });
    let base = DynamicImage::ImageRgba16(rgba16);
    let variants = [
        base.clone(),
        DynamicImage::ImageRgb16(base.to_rgb16()),
        DynamicImage::ImageLumaA16(base.to_luma_alpha16()),
        DynamicImage::ImageLuma16(base.to_luma16()),
        DynamicImage::ImageRgba8(base.to_rgba8()),
        DynamicImage::ImageRgb8(base.to_rgb8()),
        DynamicImage::ImageLumaA8(base.to_luma_alpha8()),
        DynamicImage::ImageLuma8(base.to_luma8()),
    ];
    for img in &variants {
        let png = encode(img, ImageFormat::Png);
        let native = decode_native(&png).unwrap();
        assert_eq!(native.color, img.color(), "PNG keeps the pixel format");
        let direct = native.to_input(&spec()).unwrap();
        let rgba = decode(&png).unwrap();
        let via_rgba = to_input(&rgba.pixels, 40, 30, 4, &spec()).unwrap();
        assert_eq!(direct, via_rgba, "{:?}", img.color());
        classifies(&png);
    }
    // Transparent pixels are white.
    let clear = DynamicImage::ImageRgba8(image::RgbaImage::new(8, 8));
    let v = decode_input(&encode(&clear, ImageFormat::Png), &spec()).unwrap();
    assert!(v.iter().all(|&x| (x - 2.0).abs() < 1e-6));
}

/// Found by `fuzz/run.sh` (image_input): a baseline JPEG whose third component is sampled 2×1
/// under a 1×1 first component; the JPEG decoder indexed out of its buffer and panicked.
const FUZZ_FINER_CHROMA_JPEG: &[&str] = &[
    "ffd8ffe000104a46494600010200000100010000ffc00011080007000903011100021101032101ffdb00430008060607",
    "0605080707070909080a0c140d0c0b0b0c1912130f141d1a1f1e1d1a1c1c20242e2720222c231c1c2837292c30313434",
    "341f27393d38323c2e333432ffdb0043010909090c0b0c180d0d1832211c213232323232323232323232323232323232",
    "323232323232323232323232323232323232323232323232323232323232323232ffc4001f0000010501010101010100",
    "000000000000000102030405060708090a0bffc400b5100002010303020403050504040000017d010203000411051221",
    "31410613516107227114328191a1082342b1c11552d1f02433627282090a161718191a25262728292a3435363738393a",
    "434445464748494a535455565758595aaab2b3b4b5b6b7b8b9bac2c3c4c5c6c7c8c9cad2d3d4d5d6d7d8d9dae2e3e4e5",
    "e6e7e8e9eaf2f3f4f5f6f7f8f9faffda000c03010002110311003f00b16f6eded4d5d6d7d8d9dae1e2e3e4e5e6e7e8e9",
    "eaf1f2f3f4f5f6f7f8f9faffda0008010100003f00b51db3196e59630236b6f34c50bef1b9910100000000000002493e",
    "5b04463b0361995b5d1b454fed0f107fd02b47ff00bff3ff001100000000000000f33c9fade41fc93ffc0e47ffd9",
];

/// The second fuzz find: the frame header with a 4×4 second component follows junk the decoder
/// skips, so only a search of the whole file finds it.
const FUZZ_FINER_AFTER_JUNK_JPEG: &[&str] = &[
    "ffd8ffee000e0101010101010101010101010101ea011100024400031100041100ffd4001f000000000c004004070607",
    "08090a0bffc400141001000000000000000000000000000000ffc00014080008270804011100024400031100041100ff",
    "d4001f000000ffd8ffe000104a46494600010200000100010000ffc0000b080007002901011100ffdb00430008060607",
    "0605080707070909080a0c140d0c0b0b0c1912130f141d1a1f1e1d1a1c1c20242e2720222c231c1c2837292c30313434",
    "341f27393d38323c2e333432ffc4001f0000010501010101010100000000000000000102030405060708090a0bffc400",
    "b5100002010303020403050504040000017d01020300041105122131410613516107227114328191a1082342b1c11552",
    "d1f02433627282090a161718191a25262728292a3435363738393a434445464748494a535455565758595a6364656667",
    "68696a73740075767778797a838485868788898a92939495969798999aa2a3a4a5a6a7a8a9aab2b3b4b5b6b7b8b9bac2",
    "c3c4c5c6c7c8c9cad2d3d4d5d6d7d8d9dae1e2e3e4e5e6e7e8e9eaf1f2f3f4f5f6f7f8f9faffda0008010100003f00b5",
    "1db3196e59630236b6f34c50bef1b991493e5b04463b036199b38400ae49260fb6f8affe81da1f0c0040040706070809",
    "0a0bffc40014fdfd9bfc6bff100100024400031100041100ffd4001f000000000c004004d90706070800040000000000",
    "000003fefea3c3ffd9",
];

fn unhex(lines: &[&str]) -> Vec<u8> {
    lines
        .concat()
        .as_bytes()
        .chunks(2)
        .map(|h| u8::from_str_radix(std::str::from_utf8(h).unwrap(), 16).unwrap())
        .collect()
}

#[test]
fn a_component_sampled_finer_than_luma_is_refused() {
    assert_has(
        &refused(&unhex(FUZZ_FINER_AFTER_JUNK_JPEG)),
        "unsupported JPEG: component 2 is sampled 4×4",
    );
    assert_has(
        &refused(&unhex(FUZZ_FINER_CHROMA_JPEG)),
        "unsupported JPEG: component 3 is sampled 2×1, more finely than the first (luma) \
         component's 1×1",
    );
    // The same in a JPEG of our own: 4:4:4, then component 2 patched to 1×2.
    let mut jpeg = encode(
        &DynamicImage::ImageRgb8(noise_rgb(24, 16, 9)),
        ImageFormat::Jpeg,
    );
    let sof = baseline_sof(&jpeg);
    assert_eq!(jpeg[sof + 9], 3, "three components");
    let first = jpeg[sof + 11];
    jpeg[sof + 14] = (first & 0xF0) | ((first & 15) + 1);
    assert_has(&refused(&jpeg), "unsupported JPEG: component 2 is sampled");
}

#[test]
fn jpeg_bmp_webp_gif_classify() {
    let img = DynamicImage::ImageRgb8(noise_rgb(50, 70, 5));
    for format in [
        ImageFormat::Jpeg,
        ImageFormat::Bmp,
        ImageFormat::WebP,
        ImageFormat::Gif,
    ] {
        let bytes = encode(&img, format);
        assert_eq!(decode_native(&bytes).unwrap().format, format);
        classifies(&bytes);
    }
    // Greyscale JPEG.
    classifies(&encode(
        &DynamicImage::ImageLuma8(img.to_luma8()),
        ImageFormat::Jpeg,
    ));
    // The file's name plays no part: a PNG called .jpg is a PNG.
    let dir = common::scratch("robust_names");
    let p = dir.join("really-a-png.jpg");
    std::fs::write(&p, encode(&img, ImageFormat::Png)).unwrap();
    lcnet::data::image_file::read_input(&p, &spec()).unwrap();
}

#[test]
fn cmyk_jpeg_decodes_to_rgb() {
    // Adobe CMYK is stored inverted: 255 = no ink. No cyan, full magenta and yellow, no black.
    let red = cmyk_jpeg([255, 0, 0, 255]);
    let d = decode_native(&red).unwrap();
    assert_eq!((d.width, d.height), (8, 8));
    let px = decode(&red).unwrap().pixels;
    let first = [px[0], px[1], px[2]];
    eprintln!("CMYK (stored 255,0,0,255) decodes to RGB {first:?}");
    assert!(
        first[0] > 200 && first[1] < 60 && first[2] < 60,
        "{first:?}"
    );
    assert!(px.chunks_exact(4).all(|p| p[..3] == first));
    classifies(&red);
    let other = decode(&cmyk_jpeg([0, 255, 128, 200])).unwrap().pixels;
    assert_ne!(other[..3], first);
}

#[test]
fn animated_gif_uses_the_first_frame() {
    use image::codecs::gif::GifEncoder;
    use image::{Delay, Frame};
    let frame = |c: [u8; 4]| {
        Frame::from_parts(
            image::RgbaImage::from_pixel(20, 10, image::Rgba(c)),
            0,
            0,
            Delay::from_numer_denom_ms(100, 1),
        )
    };
    let mut gif = Vec::new();
    {
        let mut enc = GifEncoder::new(&mut gif);
        enc.encode_frames([frame([255, 0, 0, 255]), frame([0, 0, 255, 255])])
            .unwrap();
    }
    let px = decode(&gif).unwrap().pixels;
    assert_eq!(&px[..4], &[255, 0, 0, 255], "the first (red) frame");
    classifies(&gif);
}

#[test]
fn the_cli_names_each_problem_in_one_line() {
    let dir = common::scratch("robust_cli");
    let model = dir.join("m.safetensors");
    std::fs::write(
        &model,
        Network::random(1, true, 2).unwrap().to_bytes().unwrap(),
    )
    .unwrap();
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("empty.png", vec![], "the file is empty"),
        (
            "bomb.png",
            png_of_zeros(20_000, 20_000, 8, 0, 20_000),
            "400 megapixels",
        ),
        (
            "vector.svg",
            b"<svg xmlns='http://www.w3.org/2000/svg'/>".to_vec(),
            "SVG",
        ),
        (
            "text.jpg",
            b"just text".to_vec(),
            "not a recognised image format",
        ),
    ];
    for (name, bytes, want) in &cases {
        let p = dir.join(name);
        std::fs::write(&p, bytes).unwrap();
        let t = Instant::now();
        let out = lcnet(&["classify", "-m", s(&model), s(&p)]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success());
        assert!(err.contains(name) && err.contains(want), "{name}: {err}");
        assert!(!err.contains("panicked"), "{err}");
        assert!(
            t.elapsed() < Duration::from_secs(5),
            "{name}: {:?}",
            t.elapsed()
        );
    }
    let cmyk = dir.join("cmyk.jpg");
    std::fs::write(&cmyk, cmyk_jpeg([255, 0, 0, 255])).unwrap();
    let out = lcnet(&["classify", "-m", s(&model), "--json", s(&cmyk)]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dirarg = lcnet(&["classify", "-m", s(&model), s(&dir)]);
    assert!(String::from_utf8_lossy(&dirarg.stderr).contains("not a file"));
}

/// The worst valid input — 8000×8000 RGBA (61 megapixels, 244 MiB decoded) — classifies in
/// bounded memory. With GNU time available, the peak RSS is checked to stay under 500 MB.
#[test]
fn the_largest_valid_image_classifies_in_bounded_memory() {
    let dir = common::scratch("robust_big");
    let model = dir.join("m.safetensors");
    std::fs::write(
        &model,
        Network::random(3, true, 2).unwrap().to_bytes().unwrap(),
    )
    .unwrap();
    let big = dir.join("big.png");
    std::fs::write(&big, png_of_zeros(8000, 8000, 8, 6, 8000)).unwrap();
    let time = Path::new("/usr/bin/time");
    let out = if time.exists() {
        Command::new(time)
            .args(["-v", env!("CARGO_BIN_EXE_lcnet"), "classify", "-m"])
            .args([s(&model), s(&big)])
            .output()
            .unwrap()
    } else {
        eprintln!("SKIP: /usr/bin/time not found; peak RSS not measured");
        lcnet(&["classify", "-m", s(&model), s(&big)])
    };
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    if let Some(line) = err
        .lines()
        .find(|l| l.contains("Maximum resident set size"))
    {
        let kb: u64 = line.rsplit(':').next().unwrap().trim().parse().unwrap();
        eprintln!(
            "peak RSS classifying an 8000×8000 RGBA PNG: {} MB",
            kb / 1000
        );
        assert!(kb < 500_000, "{line}");
    }
}

/// Writes the generated valid images as a seed corpus for `fuzz/run.sh` (set
/// LCNET_FUZZ_SEEDS to a directory): `cargo test --test robustness_images -- --ignored`.
#[test]
#[ignore]
fn write_fuzz_seeds() {
    let Some(dir) = std::env::var_os("LCNET_FUZZ_SEEDS") else {
        return;
    };
    let dir = std::path::PathBuf::from(dir);
    std::fs::create_dir_all(&dir).unwrap();
    let img = DynamicImage::ImageRgb8(noise_rgb(9, 7, 6));
    let mut seeds = vec![
        ("cmyk.jpg".to_string(), cmyk_jpeg([255, 0, 0, 255])),
        (
            "grey16.png".into(),
            encode(
                &DynamicImage::ImageLuma16(img.to_luma16()),
                ImageFormat::Png,
            ),
        ),
        (
            "rgba.png".into(),
            encode(&DynamicImage::ImageRgba8(img.to_rgba8()), ImageFormat::Png),
        ),
        (
            "grey.jpg".into(),
            encode(&DynamicImage::ImageLuma8(img.to_luma8()), ImageFormat::Jpeg),
        ),
    ];
    for f in FORMATS {
        seeds.push((format!("rgb.{}", f.extensions_str()[0]), encode(&img, f)));
    }
    // Earlier finds stay in the corpus, so each fuzz run starts by re-checking them.
    seeds.push((
        "fuzz-finer-chroma.jpg".into(),
        unhex(FUZZ_FINER_CHROMA_JPEG),
    ));
    seeds.push((
        "fuzz-finer-after-junk.jpg".into(),
        unhex(FUZZ_FINER_AFTER_JUNK_JPEG),
    ));
    for (name, bytes) in seeds {
        std::fs::write(dir.join(name), bytes).unwrap();
    }
}

/// The page refuses a file through `image_header::inspect` (in wasm, before the browser decodes
/// it); the CLI through its decoder. Wherever the header check refuses, both say the same.
#[test]
fn the_header_check_the_page_runs_says_what_the_cli_says() {
    use lcnet::image_header::inspect;
    let jpeg = jpeg_claiming(65000);
    let svg: &[u8] = br#"<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"/>"#;
    let bad: Vec<Vec<u8>> = vec![
        b"".to_vec(),
        b"hello, I am a text file called photo.jpg".to_vec(),
        svg.to_vec(),
        b"%PDF-1.7\n...".to_vec(),
        b"\0\0\0\x18ftypheic\0\0\0\0mif1heic".to_vec(),
        b"\0\0\0\x1cftypavif\0\0\0\0avifmif1".to_vec(),
        b"II*\0\x08\0\0\0\0\0\0\0".to_vec(),
        b"qoif\0\0\0\x01\0\0\0\x01\x04\0".to_vec(),
        vec![0, 0, 1, 0, 1, 0, 16, 16, 0, 0, 1, 0, 32, 0],
        b"P6\n4 4\n255\n".to_vec(),
        b"farbfeld\0\0\0\x01\0\0\0\x01".to_vec(),
        png_of_zeros(100_000, 100_000, 8, 6, 1),
        png_of_zeros(20_000, 100, 8, 0, 1),
        png_of_zeros(0, 10, 8, 0, 0),
        bmp_header(20_000, 20_000, 64),
        gif_header(65_535, 65_535),
        jpeg,
    ];
    for bytes in &bad {
        let page = inspect(bytes, bytes.len() as u64)
            .expect_err("the header check refuses it")
            .to_string();
        assert_eq!(page, refused(bytes), "{:?}", &bytes[..bytes.len().min(16)]);
    }
    // Good files of every format: accepted, with the size the decoder finds.
    let img = DynamicImage::ImageRgb8(noise_rgb(37, 23, 4));
    for format in FORMATS {
        let bytes = encode(&img, format);
        let h = inspect(&bytes, bytes.len() as u64).unwrap();
        let d = decode_native(&bytes).unwrap();
        assert_eq!(h.size, Some((d.width, d.height)), "{format:?}");
    }
    let rgba = encode(
        &DynamicImage::ImageRgba8(image::RgbaImage::new(5, 7)),
        ImageFormat::WebP,
    );
    assert_eq!(
        inspect(&rgba, rgba.len() as u64).unwrap().size,
        Some((5, 7))
    );
}
