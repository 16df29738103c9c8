//! Bytes → model: `lcnet::load` and `import_state_dict` must refuse anything broken with an
//! error, never a panic or unbounded allocation. The first byte picks how the rest is used:
//! 0 raw file bytes; 1 byte edits of a valid model file (offset, value pairs); 2 a fuzzed
//! safetensors header in front of a valid file's tensor data.
#![no_main]

use std::sync::OnceLock;

use lcnet::model::file::import_state_dict;
use lcnet::Network;
use libfuzzer_sys::fuzz_target;

fn good() -> &'static [u8] {
    static GOOD: OnceLock<Vec<u8>> = OnceLock::new();
    GOOD.get_or_init(|| {
        Network::random(1, true, 7)
            .and_then(|n| n.to_bytes())
            .unwrap_or_default()
    })
}

fn check(bytes: &[u8]) {
    if let Ok(net) = lcnet::Classifier::load(bytes) {
        // Whatever loads must run.
        let x = vec![0.1f32; 3 * 32 * 32];
        let _ = net.classify(&x, &net.default_options());
    }
    let _ = import_state_dict(bytes, "fuzz", [0.5; 3], [0.25; 3]);
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    match mode % 3 {
        0 => check(rest),
        1 => {
            let mut file = good().to_vec();
            let header_end = file
                .get(..8)
                .map(|b| 8 + u64::from_le_bytes(b.try_into().unwrap_or([0; 8])) as usize)
                .unwrap_or(0)
                .min(file.len());
            for e in rest.chunks_exact(4) {
                let off = u32::from_le_bytes([e[0], e[1], e[2], 0]) as usize;
                // Mostly the header (where the structure is), sometimes the data.
                let at = if e[2] & 0x80 == 0 {
                    off % header_end.max(1)
                } else {
                    off % file.len().max(1)
                };
                if let Some(b) = file.get_mut(at) {
                    *b = e[3];
                }
            }
            check(&file);
        }
        _ => {
            let file = good();
            let header_len = file
                .get(..8)
                .map(|b| u64::from_le_bytes(b.try_into().unwrap_or([0; 8])) as usize)
                .unwrap_or(0);
            let data_part = file.get(8 + header_len..).unwrap_or(&[]);
            let mut out = (rest.len() as u64).to_le_bytes().to_vec();
            out.extend_from_slice(rest);
            out.extend_from_slice(data_part);
            check(&out);
        }
    }
});
