//! Broken model files beyond tests/model_file.rs, built byte by byte here: headers that lie,
//! overlapping tensors, odd dtypes and shapes, bad cards — each refused with the reason, by the
//! library and by `lcnet info` / `lcnet classify` in one line.

mod common;

use common::{assert_has, lcnet, s};

use lcnet::model::file::import_state_dict;
use lcnet::Network;
use serde_json::{json, Map, Value};

/// A tensor of a hand-built file: name, dtype string, shape, byte range in the data blob.
struct Entry {
    name: String,
    dtype: String,
    shape: Vec<usize>,
    range: [usize; 2],
}

/// A valid model file taken apart: its entries (in data order), metadata and data blob.
struct Parts {
    entries: Vec<Entry>,
    meta: Map<String, Value>,
    data: Vec<u8>,
}

fn good_bytes() -> Vec<u8> {
    Network::random(1, true, 9).unwrap().to_bytes().unwrap()
}

fn split(bytes: &[u8]) -> Parts {
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let header: Map<String, Value> = serde_json::from_slice(&bytes[8..8 + n]).unwrap();
    let mut meta = Map::new();
    let mut entries = Vec::new();
    for (k, v) in header {
        if k == "__metadata__" {
            meta = v.as_object().unwrap().clone();
            continue;
        }
        let r = v["data_offsets"].as_array().unwrap();
        entries.push(Entry {
            name: k,
            dtype: v["dtype"].as_str().unwrap().into(),
            shape: serde_json::from_value(v["shape"].clone()).unwrap(),
            range: [
                r[0].as_u64().unwrap() as usize,
                r[1].as_u64().unwrap() as usize,
            ],
        });
    }
    entries.sort_by_key(|e| e.range[0]);
    Parts {
        entries,
        meta,
        data: bytes[8 + n..].to_vec(),
    }
}

/// Writes a header exactly as given (no checks), padded to 8 bytes, then the data.
fn join(p: &Parts) -> Vec<u8> {
    let mut h = Map::new();
    h.insert("__metadata__".into(), Value::Object(p.meta.clone()));
    for e in &p.entries {
        h.insert(
            e.name.clone(),
            json!({"dtype": e.dtype, "shape": e.shape, "data_offsets": e.range}),
        );
    }
    raw(&Value::Object(h).to_string(), &p.data)
}

fn raw(header: &str, data: &[u8]) -> Vec<u8> {
    let mut h = header.as_bytes().to_vec();
    while h.len() % 8 != 0 {
        h.push(b' ');
    }
    let mut out = (h.len() as u64).to_le_bytes().to_vec();
    out.extend(h);
    out.extend_from_slice(data);
    out
}

fn refused(bytes: &[u8]) -> String {
    match lcnet::load(bytes) {
        Ok(_) => panic!("a broken model file loaded"),
        Err(e) => e.to_string(),
    }
}

fn edit(f: impl FnOnce(&mut Parts)) -> Vec<u8> {
    let mut p = split(&good_bytes());
    f(&mut p);
    join(&p)
}

fn index(p: &Parts, name: &str) -> usize {
    p.entries.iter().position(|e| e.name == name).unwrap()
}

#[test]
fn the_hand_built_copy_of_a_good_file_loads() {
    lcnet::load(&edit(|_| {})).unwrap();
}

#[test]
fn truncated_files_name_the_problem() {
    let good = good_bytes();
    let header_len = u64::from_le_bytes(good[..8].try_into().unwrap()) as usize;
    for cut in [0, 3, 8, 8 + header_len / 2, 8 + header_len, good.len() - 1] {
        assert_has(&refused(&good[..cut]), "not a valid safetensors model file");
    }
}

#[test]
fn headers_that_lie_are_refused() {
    let good = good_bytes();
    // The header length points past the end of the file.
    let mut long = good.clone();
    long[..8].copy_from_slice(&(good.len() as u64).to_le_bytes());
    assert_has(&refused(&long), "not a valid safetensors");
    // A header length of zero, and one that is not JSON.
    assert_has(&refused(&raw("", &[])), "not a valid safetensors");
    assert_has(
        &refused(&raw("{\"a\": [1, 2", &[0; 16])),
        "not a valid safetensors",
    );
    assert_has(&refused(&raw("[1, 2, 3]", &[])), "not a valid safetensors");
    // A tensor whose range runs past the data.
    let past = edit(|p| {
        let last = p.entries.len() - 1;
        p.entries[last].range[1] += 4;
    });
    assert_has(&refused(&past), "not a valid safetensors");
    // A range that does not match the shape × dtype size.
    let short = edit(|p| {
        let i = index(p, "linear.bias");
        p.entries[i].shape = vec![11];
    });
    assert_has(&refused(&short), "not a valid safetensors");
    // Data left over after the last tensor.
    let mut trailing = good.clone();
    trailing.extend_from_slice(&[0; 64]);
    assert_has(&refused(&trailing), "not a valid safetensors");
    // An end before the start.
    let backwards = edit(|p| {
        let i = index(p, "linear.bias");
        p.entries[i].range.swap(0, 1);
    });
    assert_has(&refused(&backwards), "not a valid safetensors");
}

#[test]
fn overlapping_tensors_are_refused() {
    // Two tensors of the same size sharing one byte range (the file is shortened so that the
    // total still adds up).
    let bytes = edit(|p| {
        let a = index(p, "bn1.weight");
        let b = index(p, "bn1.bias");
        let len = p.entries[b].range[1] - p.entries[b].range[0];
        let shared = p.entries[a].range;
        p.entries[b].range = shared;
        for e in p.entries.iter_mut() {
            if e.range[0] > shared[0] && e.name != "bn1.bias" {
                e.range[0] -= len;
                e.range[1] -= len;
            }
        }
        p.data.truncate(p.data.len() - len);
    });
    assert_has(&refused(&bytes), "not a valid safetensors");
    // Half-overlapping ranges.
    let half = edit(|p| {
        let i = index(p, "linear.bias");
        p.entries[i].range[0] -= 8;
        p.entries[i].range[1] -= 8;
    });
    assert_has(&refused(&half), "not a valid safetensors");
}

#[test]
fn wrong_dtypes_are_named() {
    for (dtype, size) in [("F64", 8), ("BF16", 2), ("U8", 1), ("I64", 8), ("BOOL", 1)] {
        let bytes = edit(|p| {
            let i = index(p, "linear.bias");
            let old = p.entries[i].range;
            let new_len = 10 * size;
            let delta = new_len as isize - (old[1] - old[0]) as isize;
            let mut data = p.data[..old[0]].to_vec();
            data.extend(vec![0u8; new_len]);
            data.extend_from_slice(&p.data[old[1]..]);
            p.data = data;
            p.entries[i].dtype = dtype.into();
            p.entries[i].range[1] = old[0] + new_len;
            for e in p.entries.iter_mut().filter(|e| e.range[0] > old[0]) {
                e.range[0] = (e.range[0] as isize + delta) as usize;
                e.range[1] = (e.range[1] as isize + delta) as usize;
            }
        });
        assert_has(
            &refused(&bytes),
            &format!("tensor `linear.bias` has dtype {dtype}, expected F32 or F16"),
        );
    }
    let unknown = edit(|p| p.entries[0].dtype = "F128".into());
    assert_has(&refused(&unknown), "not a valid safetensors");
}

#[test]
fn wrong_shapes_are_named() {
    // Same number of elements, other shape.
    let reshaped = edit(|p| {
        let i = index(p, "conv1.weight");
        p.entries[i].shape = vec![16, 27];
    });
    assert_has(
        &refused(&reshaped),
        "tensor `conv1.weight` has shape [16, 27], expected [16, 3, 3, 3]",
    );
    // A scalar where a vector belongs (one element of linear.bias kept as a scalar).
    let scalar = edit(|p| {
        let i = index(p, "linear.bias");
        let start = p.entries[i].range[0];
        p.entries[i].shape = vec![];
        p.entries[i].range[1] = start + 4;
        let end = p.data.len();
        let removed = 36;
        p.data.drain(start + 4..start + 4 + removed);
        for e in p.entries.iter_mut().filter(|e| e.range[0] > start) {
            e.range[0] -= removed;
            e.range[1] -= removed;
        }
        assert_eq!(p.data.len(), end - removed);
    });
    assert_has(
        &refused(&scalar),
        "`linear.bias` has shape [], expected [10]",
    );
}

#[test]
fn non_finite_values_are_named_in_f16_too() {
    for bits in [0x7E00u16, 0x7C00, 0xFC00] {
        let bytes = edit(|p| {
            let i = index(p, "linear.bias");
            let [a, b] = p.entries[i].range;
            let n = (b - a) / 4;
            let mut halves = vec![0u8; n * 2];
            halves[..2].copy_from_slice(&bits.to_le_bytes());
            let removed = n * 2;
            p.data.splice(a..b, halves);
            p.entries[i].dtype = "F16".into();
            p.entries[i].range[1] = a + n * 2;
            for e in p.entries.iter_mut().filter(|e| e.range[0] > a) {
                e.range[0] -= removed;
                e.range[1] -= removed;
            }
        });
        assert_has(
            &refused(&bytes),
            "`linear.bias` contains NaN or infinite values",
        );
    }
}

#[test]
fn bad_cards_are_named() {
    let with_card = |card: Value| {
        edit(|p| {
            p.meta
                .insert("lcnet".into(), Value::String(card.to_string()));
        })
    };
    let card: Value = {
        let p = split(&good_bytes());
        serde_json::from_str(p.meta["lcnet"].as_str().unwrap()).unwrap()
    };
    assert_has(&refused(&with_card(json!([1, 2]))), "invalid model card");
    assert_has(&refused(&with_card(json!("lcnet"))), "invalid model card");
    let mut v = card.clone();
    v["version"] = json!(99);
    assert_has(
        &refused(&with_card(v)),
        "unsupported model card version 99 (this build reads version 1)",
    );
    let mut v = card.clone();
    v["version"] = json!("one");
    assert_has(&refused(&with_card(v)), "invalid model card");
    let mut v = card.clone();
    v.as_object_mut().unwrap().remove("arch");
    assert_has(&refused(&with_card(v)), "missing field `arch`");
    let mut v = card.clone();
    v["input"]["std"] = json!([0.0, 0.2, 0.2]);
    assert_has(&refused(&with_card(v)), "std > 0");
    let mut v = card.clone();
    v["arch"]["num_classes"] = json!(1_000_000_000u64);
    assert_has(&refused(&with_card(v)), "num_classes 1000000000");
    let mut v = card.clone();
    v["classes"] = json!(["only one"]);
    assert_has(&refused(&with_card(v)), "1 class names for 10 classes");
    let mut v = card.clone();
    v["format"] = json!("onnx");
    assert_has(&refused(&with_card(v)), "format is \"onnx\"");
    // The card under another key, and metadata that is not a string map.
    let moved = edit(|p| {
        let c = p.meta.remove("lcnet").unwrap();
        p.meta.insert("card".into(), c);
    });
    assert_has(&refused(&moved), "no lcnet model card");
    let nested = edit(|p| {
        p.meta.insert("lcnet".into(), card.clone());
    });
    assert_has(&refused(&nested), "not a valid safetensors");
}

#[test]
fn not_safetensors_at_all() {
    let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";
    for bytes in [
        &png[..],
        b"{\"dtype\": \"F32\"}",
        &[0xFF; 100],
        &[0; 8],
        b"PK\x03\x04zip",
    ] {
        assert_has(&refused(bytes), "not a valid safetensors model file");
    }
    assert!(lcnet::load(&[0u8; 16]).is_err());
}

#[test]
fn import_refuses_scalars_and_empty_giants_without_panicking() {
    // `conv1.weight` as a scalar: the importer used to index its shape and panic.
    let scalar = edit(|p| {
        p.meta.clear();
        let i = index(p, "conv1.weight");
        let start = p.entries[i].range[0];
        let len = p.entries[i].range[1] - start - 4;
        p.entries[i].shape = vec![];
        p.entries[i].range[1] = start + 4;
        p.data.drain(start + 4..start + 4 + len);
        for e in p.entries.iter_mut().filter(|e| e.range[0] > start) {
            e.range[0] -= len;
            e.range[1] -= len;
        }
    });
    let e = import_state_dict(&scalar, "x", [0.5; 3], [0.25; 3]).unwrap_err();
    assert_has(&e.to_string(), "`conv1.weight` has shape []");
    // A zero-sized `linear.weight` claiming 10^12 classes: refused before naming them.
    let giant = edit(|p| {
        p.meta.clear();
        let i = index(p, "linear.weight");
        let [a, b] = p.entries[i].range;
        p.entries[i].shape = vec![1_000_000_000_000, 0];
        p.entries[i].range[1] = a;
        p.data.drain(a..b);
        for e in p.entries.iter_mut().filter(|e| e.range[0] > a) {
            e.range[0] -= b - a;
            e.range[1] -= b - a;
        }
    });
    let e = import_state_dict(&giant, "x", [0.5; 3], [0.25; 3]).unwrap_err();
    assert_has(&e.to_string(), "num_classes 1000000000000");
}

#[test]
fn the_cli_gives_the_reason_in_one_line() {
    let dir = common::scratch("robust_models_cli");
    let good = good_bytes();
    let header_len = u64::from_le_bytes(good[..8].try_into().unwrap()) as usize;
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("empty.safetensors", vec![], "not a valid safetensors"),
        (
            "truncated.safetensors",
            good[..8 + header_len + 100].to_vec(),
            "not a valid safetensors",
        ),
        (
            "overlap.safetensors",
            edit(|p| {
                let i = index(p, "linear.bias");
                p.entries[i].range[0] -= 8;
                p.entries[i].range[1] -= 8;
            }),
            "not a valid safetensors",
        ),
        (
            "dtype.safetensors",
            edit(|p| {
                let i = index(p, "linear.bias");
                p.entries[i].dtype = "I32".into();
            }),
            "has dtype I32",
        ),
        (
            "missing.safetensors",
            edit(|p| {
                let i = index(p, "linear.bias");
                let [a, b] = p.entries.remove(i).range;
                p.data.drain(a..b);
                for e in p.entries.iter_mut().filter(|e| e.range[0] > a) {
                    e.range[0] -= b - a;
                    e.range[1] -= b - a;
                }
            }),
            "missing tensor `linear.bias`",
        ),
        (
            "shape.safetensors",
            edit(|p| {
                let i = index(p, "conv1.weight");
                p.entries[i].shape = vec![16, 27];
            }),
            "has shape [16, 27]",
        ),
        (
            "nan.safetensors",
            edit(|p| {
                let a = p.entries[index(p, "linear.bias")].range[0];
                p.data[a..a + 4].copy_from_slice(&f32::NAN.to_le_bytes());
            }),
            "NaN or infinite",
        ),
        (
            "card.safetensors",
            edit(|p| {
                p.meta.insert("lcnet".into(), Value::String("{oops".into()));
            }),
            "not JSON",
        ),
        (
            "version.safetensors",
            edit(|p| {
                let mut c: Value = serde_json::from_str(p.meta["lcnet"].as_str().unwrap()).unwrap();
                c["version"] = json!(7);
                p.meta.insert("lcnet".into(), Value::String(c.to_string()));
            }),
            "unsupported model card version 7",
        ),
        (
            "plain.safetensors",
            edit(|p| p.meta.clear()),
            "no lcnet model card",
        ),
        (
            "image.png",
            b"\x89PNG\r\n\x1a\n....".to_vec(),
            "not a valid safetensors",
        ),
    ];
    let img = dir.join("img.png");
    image::RgbImage::new(8, 8).save(&img).unwrap();
    for (name, bytes, want) in &cases {
        let p = dir.join(name);
        std::fs::write(&p, bytes).unwrap();
        for out in [
            lcnet(&["info", s(&p)]),
            lcnet(&["classify", "-m", s(&p), s(&img)]),
        ] {
            let err = String::from_utf8_lossy(&out.stderr);
            assert!(!out.status.success(), "{name} accepted");
            assert!(err.contains(name) && err.contains(want), "{name}: {err}");
            assert!(!err.contains("panicked"), "{err}");
            assert_eq!(err.trim_end().lines().count(), 1, "{err}");
        }
    }
}
