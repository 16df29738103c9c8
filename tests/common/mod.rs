//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::PathBuf;

/// `../shared` (or `$LCNET_SHARED`), if present.
pub fn shared() -> Option<PathBuf> {
    let p = std::env::var_os("LCNET_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared"));
    p.is_dir().then_some(p)
}

/// A file under `../shared`, or a one-line skip message.
pub fn shared_file(rel: &str) -> Option<PathBuf> {
    match shared().map(|s| s.join(rel)).filter(|p| p.exists()) {
        Some(p) => Some(p),
        None => {
            eprintln!("SKIP: ../shared/{rel} not found (set LCNET_SHARED to the shared folder to run this check)");
            None
        }
    }
}

/// Deterministic pseudo-random values in [0, 1).
pub fn noise(n: usize, seed: u64) -> Vec<f32> {
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 40) as f32 / (1u64 << 24) as f32
        })
        .collect()
}

/// A normalised-looking random input `[3·32·32]`.
pub fn random_input(seed: u64) -> Vec<f32> {
    noise(3 * 32 * 32, seed)
        .into_iter()
        .map(|v| v * 4.0 - 2.0)
        .collect()
}

/// A scratch directory unique to a test.
pub fn scratch(name: &str) -> PathBuf {
    let d = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("scratch dir");
    d
}

/// Runs the `lcnet` binary built with the tests.
pub fn lcnet(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_lcnet"))
        .args(args)
        .output()
        .expect("run lcnet")
}

/// A test path as `&str` (test paths are UTF-8).
pub fn s(p: &std::path::Path) -> &str {
    p.to_str().expect("UTF-8 path")
}

/// Asserts that an error message mentions `want`.
pub fn assert_has(msg: &str, want: &str) {
    assert!(msg.contains(want), "{msg:?} lacks {want:?}");
}

/// Asserts that a command succeeded, showing its stderr when it did not.
pub fn assert_success(out: &std::process::Output) {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
