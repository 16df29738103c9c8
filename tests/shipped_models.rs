//! Every shipped model in `weights/` loads, and matches the parity fixtures its PyTorch trainer
//! exported beside it: logits within 1e-4 of their size, identical skip decisions, equal MACs.

use std::collections::HashMap;
use std::path::PathBuf;

use lcnet::exec::{masked, Options};
use safetensors::tensor::Dtype;
use safetensors::SafeTensors;

fn weights() -> Vec<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("weights");
    let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|r| r.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    v.retain(|p| {
        let n = p.to_string_lossy();
        n.ends_with(".safetensors") && !n.ends_with(".fixtures.safetensors")
    });
    v.sort();
    v
}

fn floats(st: &SafeTensors<'_>, name: &str) -> Vec<f32> {
    let t = st
        .tensor(name)
        .unwrap_or_else(|_| panic!("fixture lacks {name}"));
    assert_eq!(t.dtype(), Dtype::F32, "{name}");
    t.data()
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect()
}

fn ints(st: &SafeTensors<'_>, name: &str) -> Vec<i64> {
    let t = st
        .tensor(name)
        .unwrap_or_else(|_| panic!("fixture lacks {name}"));
    match t.dtype() {
        Dtype::I64 => t
            .data()
            .chunks_exact(8)
            .map(|b| i64::from_le_bytes(b.try_into().unwrap()))
            .collect(),
        Dtype::U8 => t.data().iter().map(|&b| b as i64).collect(),
        d => panic!("{name}: unexpected dtype {d:?}"),
    }
}

#[test]
fn shipped_models_match_their_pytorch_fixtures() {
    let models = weights();
    assert!(!models.is_empty(), "weights/ holds no model file");
    for path in models {
        let bytes = std::fs::read(&path).unwrap();
        let net =
            lcnet::Classifier::load(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let fx_path = PathBuf::from(
            path.to_string_lossy()
                .replace(".safetensors", ".fixtures.safetensors"),
        );
        let fx_bytes = std::fs::read(&fx_path).unwrap_or_else(|_| {
            panic!(
                "{} has no fixtures file {}",
                path.display(),
                fx_path.display()
            )
        });
        let fx = SafeTensors::deserialize(&fx_bytes).unwrap();
        let (_, meta) = SafeTensors::read_metadata(&fx_bytes).unwrap();
        let meta: HashMap<String, String> = meta.metadata().clone().unwrap_or_default();
        let tau = |k: &str| meta[k].parse::<f32>().unwrap();
        let opts = Options {
            tau_l: tau("tau_l"),
            tau_c: tau("tau_c"),
            ..net.default_options()
        };
        let input = floats(&fx, "input");
        let n = input.len() / 3072;
        let nb = net.blocks.len();
        let (logits, logits_static) = (floats(&fx, "logits"), floats(&fx, "logits_static"));
        let (executed, kept, macs) = (ints(&fx, "executed"), ints(&fx, "kept"), ints(&fx, "macs"));
        let mut worst = 0f32;
        let inputs: Vec<Vec<f32>> = input.chunks_exact(3072).map(|c| c.to_vec()).collect();
        let batch = masked::batch(&inputs, 32).unwrap();
        let m = masked::forward(&net, &batch, &opts)
            .unwrap()
            .logits
            .to_vec2::<f32>()
            .unwrap();
        // Float32 rounding is relative: jointly trained weights run without their gates give logits
        // in the hundreds, so each difference is taken against the size of the logits it compares.
        let size = |v: &[f32]| v.iter().fold(1f32, |a, x| a.max(x.abs()));
        for i in 0..n {
            let t = net.classify(&inputs[i], &opts).unwrap();
            let s = net.classify(&inputs[i], &Options::static_net()).unwrap();
            let (want, want_static) = (
                &logits[i * 10..i * 10 + 10],
                &logits_static[i * 10..i * 10 + 10],
            );
            let (g, gs) = (size(want), size(want_static));
            for j in 0..10 {
                worst = worst
                    .max((t.logits[j] - want[j]).abs() / g)
                    .max((m[i][j] - want[j]).abs() / g)
                    .max((s.logits[j] - want_static[j]).abs() / gs);
            }
            for (b, bt) in t.blocks.iter().enumerate() {
                assert_eq!(
                    bt.executed,
                    executed[i * nb + b] == 1,
                    "{}: image {i} block {b}",
                    path.display()
                );
                assert_eq!(
                    bt.channels_kept as i64,
                    kept[i * nb + b],
                    "{}: image {i} block {b}",
                    path.display()
                );
            }
            assert_eq!(t.macs as i64, macs[i], "{}: image {i} MACs", path.display());
        }
        eprintln!(
            "{}: {n} fixtures, max |Δlogit| vs PyTorch {worst:.2e} (relative to the largest logit, at least 1)",
            path.display()
        );
        assert!(
            worst <= 1e-4,
            "{}: logits differ by {worst} of their size",
            path.display()
        );
    }
}

#[test]
fn every_static_reference_a_shipped_card_names_is_shipped_beside_it() {
    for path in weights() {
        let net = lcnet::load(&std::fs::read(&path).unwrap()).unwrap();
        let Some(name) = &net.card.static_reference else {
            continue;
        };
        let rpath = path.with_file_name(name);
        let bytes = std::fs::read(&rpath)
            .unwrap_or_else(|e| panic!("{}: reference {}: {e}", path.display(), rpath.display()));
        let reference = lcnet::load(&bytes).unwrap();
        net.card
            .check_static_reference(&reference.card)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(
            reference.card.static_reference.is_none(),
            "{name}: a reference names no reference of its own"
        );
    }
}
