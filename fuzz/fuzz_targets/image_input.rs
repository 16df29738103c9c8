//! Bytes → bounded image decoding → pre-processing → the network's input: what `lcnet classify`
//! does with a file. Any input must give a tensor or an error, never a panic, hang or unbounded
//! allocation.
#![no_main]

use lcnet::data::image_file;
use lcnet::model::InputSpec;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let spec = InputSpec {
        size: 32,
        mean: [0.5, 0.5, 0.5],
        std: [0.25, 0.25, 0.25],
    };
    if let Ok(input) = image_file::decode_input(data, &spec) {
        assert_eq!(input.len(), 3 * 32 * 32);
        assert!(input.iter().all(|v| v.is_finite()));
    }
});
