//! The model file: round trip, import, and a clear refusal for every kind of broken file.

use std::collections::HashMap;

use lcnet::model::file::import_state_dict;
use lcnet::{Classifier, Error, Network, Options};
use safetensors::tensor::{Dtype, TensorView};

/// One stored tensor: name, dtype, shape, little-endian bytes.
type Raw = (String, Dtype, Vec<usize>, Vec<u8>);

/// Rebuilds a file from (name, dtype, shape, bytes) with optional metadata.
fn write(
    tensors: &[(String, Dtype, Vec<usize>, Vec<u8>)],
    meta: Option<HashMap<String, String>>,
) -> Vec<u8> {
    let views: Vec<(String, TensorView<'_>)> = tensors
        .iter()
        .map(|(n, d, s, b)| (n.clone(), TensorView::new(*d, s.clone(), b).unwrap()))
        .collect();
    safetensors::serialize(views, meta).unwrap()
}

/// Splits a model file into editable parts.
fn parts(bytes: &[u8]) -> (Vec<Raw>, HashMap<String, String>) {
    let st = safetensors::SafeTensors::deserialize(bytes).unwrap();
    let (_, meta) = safetensors::SafeTensors::read_metadata(bytes).unwrap();
    let mut t: Vec<_> = st
        .tensors()
        .into_iter()
        .map(|(n, v)| (n, v.dtype(), v.shape().to_vec(), v.data().to_vec()))
        .collect();
    t.sort_by(|a, b| a.0.cmp(&b.0));
    (t, meta.metadata().clone().unwrap())
}

fn model_bytes() -> Vec<u8> {
    Network::random(1, true, 3).unwrap().to_bytes().unwrap()
}

fn err(bytes: &[u8]) -> String {
    match lcnet::load(bytes) {
        Ok(_) => panic!("a broken file loaded"),
        Err(e) => e.to_string(),
    }
}

/// The fast path's logits for `x`.
fn logits(net: &Network, x: &[f32], o: &Options) -> Vec<f32> {
    let c = Classifier::new(net.clone()).unwrap();
    c.classify(x, o).unwrap().logits
}

#[test]
fn the_card_reads_without_loading_the_tensors() {
    let net = Network::random(2, true, 8).unwrap();
    let bytes = net.to_bytes().unwrap();
    assert_eq!(lcnet::model::file::read_card(&bytes).unwrap(), net.card);
    let (t, _) = parts(&bytes);
    assert!(matches!(
        lcnet::model::file::read_card(&write(&t, None)),
        Err(Error::MissingCard)
    ));
    assert!(lcnet::model::file::read_card(b"not a model").is_err());
}

#[test]
fn the_card_reads_from_the_header_bytes_alone() {
    use lcnet::model::file::{card_head_len, read_card_head};
    let net = Network::random(2, true, 8).unwrap();
    let bytes = net.to_bytes().unwrap();
    let len = bytes.len() as u64;
    assert_eq!(card_head_len(&bytes[..7]), None);
    let head = card_head_len(&bytes[..8]).unwrap() as usize;
    assert!(
        head < bytes.len() / 2,
        "the header is a small part of the file"
    );
    assert_eq!(read_card_head(&bytes[..head], len).unwrap(), net.card);
    let short = read_card_head(&bytes[..head - 1], len)
        .unwrap_err()
        .to_string();
    assert!(short.contains("cut short"), "{short}");
    let wrong = read_card_head(&bytes[..head], len + 1)
        .unwrap_err()
        .to_string();
    assert!(
        wrong.contains(&format!("the file has {}", len + 1)),
        "{wrong}"
    );
}

#[test]
fn round_trip_keeps_card_and_outputs() {
    let net = Network::random(2, true, 8).unwrap();
    let again = lcnet::load(&net.to_bytes().unwrap()).unwrap();
    assert_eq!(net.card, again.card);
    let x: Vec<f32> = (0..3072)
        .map(|i| ((i * 7) % 13) as f32 / 6.0 - 1.0)
        .collect();
    let o = Options::dynamic(0.5, 0.5);
    assert_eq!(logits(&net, &x, &o), logits(&again, &x, &o));
}

#[test]
fn f16_storage_loads() {
    let (mut t, meta) = parts(&model_bytes());
    for (_, d, _, b) in t.iter_mut() {
        let halves: Vec<u8> = b
            .chunks_exact(4)
            .flat_map(|c| {
                let v = f32::from_le_bytes([c[0], c[1], c[2], c[3]]);
                candle_core::Tensor::new(&[v], &candle_core::Device::Cpu)
                    .unwrap()
                    .to_dtype(candle_core::DType::F16)
                    .unwrap()
                    .to_vec1::<half::f16>()
                    .unwrap()[0]
                    .to_le_bytes()
            })
            .collect();
        *d = Dtype::F16;
        *b = halves;
    }
    lcnet::load(&write(&t, Some(meta))).unwrap();
}

#[test]
fn broken_files_are_refused_with_the_reason() {
    let good = model_bytes();
    assert!(err(b"").contains("not a valid safetensors"));
    assert!(err(b"GIF89a this is not a model").contains("not a valid safetensors"));
    assert!(
        err(&good[..good.len() / 2]).contains("not a valid safetensors"),
        "truncated"
    );
    // A header that lies about its length.
    let mut lying = good.clone();
    lying[..8].copy_from_slice(&(u64::MAX / 2).to_le_bytes());
    assert!(err(&lying).contains("not a valid safetensors"));

    let (t, meta) = parts(&good);
    assert!(err(&write(&t, None)).contains("no lcnet model card"));
    let with_card = |card: &str| {
        let mut m = meta.clone();
        m.insert("lcnet".into(), card.into());
        write(&t, Some(m))
    };
    assert!(err(&with_card("{not json")).contains("not JSON"));
    let card: serde_json::Value = serde_json::from_str(&meta["lcnet"]).unwrap();
    let mut v2 = card.clone();
    v2["version"] = 2.into();
    assert!(err(&with_card(&v2.to_string())).contains("unsupported model card version 2"));
    let mut unknown = card.clone();
    unknown["colour"] = "blue".into();
    assert!(err(&with_card(&unknown.to_string())).contains("unknown field `colour`"));
    let mut depth = card.clone();
    depth["arch"]["depth"] = 21.into();
    assert!(err(&with_card(&depth.to_string())).contains("depth 21"));

    let missing: Vec<_> = t
        .iter()
        .filter(|x| x.0 != "layer1.0.bn2.running_var")
        .cloned()
        .collect();
    assert!(err(&write(&missing, Some(meta.clone())))
        .contains("missing tensor `layer1.0.bn2.running_var`"));

    let mut extra = t.clone();
    extra.push((
        "layer9.0.conv1.weight".into(),
        Dtype::F32,
        vec![1],
        vec![0; 4],
    ));
    assert!(err(&write(&extra, Some(meta.clone())))
        .contains("unexpected tensor `layer9.0.conv1.weight`"));

    let mut shape = t.clone();
    let i = shape.iter().position(|x| x.0 == "linear.bias").unwrap();
    shape[i] = ("linear.bias".into(), Dtype::F32, vec![5], vec![0; 20]);
    assert!(err(&write(&shape, Some(meta.clone())))
        .contains("`linear.bias` has shape [5], expected [10]"));

    let mut dtype = t.clone();
    dtype[i] = ("linear.bias".into(), Dtype::I32, vec![10], vec![0; 40]);
    assert!(err(&write(&dtype, Some(meta.clone()))).contains("`linear.bias` has dtype I32"));

    let mut nan = t.clone();
    nan[i].3[..4].copy_from_slice(&f32::NAN.to_le_bytes());
    assert!(err(&write(&nan, Some(meta.clone()))).contains("`linear.bias` contains NaN"));
    let mut inf = t.clone();
    inf[i].3[4..8].copy_from_slice(&f32::INFINITY.to_le_bytes());
    assert!(err(&write(&inf, Some(meta.clone()))).contains("NaN or infinite"));

    // A static reference is a plain model file name beside the model, never a path.
    for bad in [
        "../x.safetensors",
        "/etc/passwd",
        "sub/r.safetensors",
        ".hidden.safetensors",
        "r.bin",
        "",
    ] {
        let mut r = card.clone();
        r["static_reference"] = bad.into();
        assert!(
            err(&with_card(&r.to_string())).contains("must be a plain .safetensors file name"),
            "{bad:?}"
        );
    }
    let mut r = card.clone();
    r["static_reference"] = "r20-backbone.safetensors".into();
    let net = lcnet::load(&with_card(&r.to_string())).unwrap();
    assert_eq!(
        net.card.static_reference.as_deref(),
        Some("r20-backbone.safetensors")
    );

    // The evaluation is typed: a reader can rely on its shape and values.
    let point = serde_json::json!({
        "mode": "lc", "tau_l": 0.3, "tau_c": 0.3, "accuracy": 0.8, "macs_mean": 1e6,
        "macs_std": 1e5, "macs_fraction": 0.5, "macs_gates_mean": 100.0,
        "block_exec_rate": [1.0, 0.5, 0.25], "channel_density": [0.5, 0.5, 1.0],
    });
    let evaluation = |curve: serde_json::Value| {
        let mut e = card.clone();
        e["evaluation"] = serde_json::json!({
            "dataset": "CIFAR-10 (JPEG copy) test split", "n": 10, "static_accuracy": 0.9,
            "measured_by": "lcnet eval --sweep", "curve": [curve],
        });
        e
    };
    let good = lcnet::load(&with_card(&evaluation(point.clone()).to_string())).unwrap();
    let ev = good.card.evaluation.as_ref().unwrap();
    assert_eq!((ev.n, ev.curve[0].block_exec_rate.len()), (10, 3));
    assert_eq!(ev.curve[0].blocks_run_std, None); // measured before the field existed
    for (field, value, want) in [
        (
            "accuracy",
            serde_json::json!(1.5),
            "curve[0].accuracy 1.5 is not in [0, 1]",
        ),
        (
            "macs_std",
            serde_json::json!(-1.0),
            "curve[0].macs_std -1 is not a finite",
        ),
        (
            "block_exec_rate",
            serde_json::json!([1.0]),
            "has 1 values for 3 blocks",
        ),
        (
            "channel_density",
            serde_json::json!([0.5, 2.0, 1.0]),
            "is not in [0, 1]",
        ),
        ("mode", serde_json::json!("fast"), "unknown variant `fast`"),
        ("surprise", serde_json::json!(1), "unknown field `surprise`"),
    ] {
        let mut p = point.clone();
        p[field] = value;
        let e = err(&with_card(&evaluation(p).to_string()));
        assert!(e.contains(want), "{field}: {e}");
    }
    let mut other = evaluation(point.clone());
    other["evaluation"]["static_reference"] =
        serde_json::json!({"file": "a.safetensors", "name": "a", "accuracy": 0.9});
    assert!(err(&with_card(&other.to_string())).contains("is not the card's static_reference"));

    // A gate-less card over a file with gates names the first surplus gate tensor.
    let mut nogates = card.clone();
    nogates["gates"] = serde_json::Value::Null;
    assert!(
        err(&with_card(&nogates.to_string())).contains("unexpected tensor `layer1.0.gate_c.bias`")
    );
}

#[test]
fn import_reads_depth_and_drops_batch_counters() {
    let net = Network::random(2, false, 4).unwrap();
    let (mut t, _) = parts(&net.to_bytes().unwrap());
    t.push((
        "bn1.num_batches_tracked".into(),
        Dtype::I64,
        vec![],
        vec![0; 8],
    ));
    let plain = write(
        &t,
        Some(HashMap::from([("source".to_string(), "test".to_string())])),
    );
    assert!(matches!(lcnet::load(&plain), Err(Error::MissingCard)));
    let imported = import_state_dict(&plain, "imp", [0.5; 3], [0.25; 3]).unwrap();
    assert_eq!(imported.card.arch.depth, 14);
    assert!(imported.card.gates.is_none());
    assert_eq!(imported.card.provenance["imported_from"]["source"], "test");
    let x = vec![0.1f32; 3072];
    let o = Options::static_net();
    assert_eq!(logits(&imported, &x, &o), logits(&net, &x, &o));
    assert!(import_state_dict(b"nonsense", "x", [0.5; 3], [0.25; 3]).is_err());
}

#[test]
fn a_static_reference_must_be_the_same_network_shape() {
    let a = Network::random(1, true, 3).unwrap();
    let same = Network::random(1, false, 4).unwrap();
    assert!(a.card.check_static_reference(&same.card).is_ok());
    let deeper = Network::random(2, false, 4).unwrap();
    let e = a.card.check_static_reference(&deeper.card).unwrap_err();
    assert!(e.to_string().contains("differs in its architecture"), "{e}");
    let mut other_input = same.card.clone();
    other_input.input.mean = [0.0; 3];
    let e = a.card.check_static_reference(&other_input).unwrap_err();
    assert!(e.to_string().contains("input pre-processing"), "{e}");
}
