//! The `lcnet` binary end to end: JSON output, tables, and one clear error line for bad input.

mod common;

use std::path::PathBuf;

use common::{assert_success, lcnet, s};
use lcnet::Network;

fn setup(name: &str) -> (PathBuf, PathBuf, PathBuf) {
    let dir = common::scratch(name);
    let model = dir.join("model.safetensors");
    std::fs::write(
        &model,
        Network::random(2, true, 21).unwrap().to_bytes().unwrap(),
    )
    .unwrap();
    let png = dir.join("img.png");
    let px: Vec<u8> = common::noise(70 * 50 * 3, 5)
        .into_iter()
        .map(|v| (v * 255.0) as u8)
        .collect();
    image::RgbImage::from_raw(70, 50, px)
        .unwrap()
        .save(&png)
        .unwrap();
    (dir, model, png)
}

#[test]
fn classify_json_reports_label_macs_and_blocks() {
    let (_dir, model, png) = setup("cli_classify");
    let out = lcnet(&[
        "classify",
        "-m",
        s(&model),
        "--json",
        "--tau-l",
        "0.5",
        "--tau-c",
        "0.5",
        s(&png),
    ]);
    assert_success(&out);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let r = &v[0];
    for k in ["label", "prob", "macs", "macs_static", "blocks", "file"] {
        assert!(r.get(k).is_some(), "no {k}");
    }
    assert_eq!(r["macs_static"], 14_155_776u64 * 2 - 1_916_288);
    assert!(r["macs"].as_u64().unwrap() < r["macs_static"].as_u64().unwrap());
    assert_eq!(r["blocks"].as_array().unwrap().len(), 6);
    assert!(
        r["blocks"][0].get("executed").is_some() && r["blocks"][0].get("channels_kept").is_some()
    );

    let st = lcnet(&["classify", "-m", s(&model), "--json", "--static", s(&png)]);
    let v: serde_json::Value = serde_json::from_slice(&st.stdout).unwrap();
    assert_eq!(v[0]["macs"], v[0]["macs_static"]);
    assert!(v[0]["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .all(|b| b["executed"] == true));

    let table = lcnet(&["classify", "-m", s(&model), s(&png)]);
    assert!(table.status.success());
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(text.contains("img.png") && text.contains("/6"), "{text}");

    // the table shortens a long name by characters: a cut inside a two-byte 'é' once panicked
    let long = png.with_file_name("éééééééééééééééééééx.png");
    std::fs::copy(&png, &long).unwrap();
    let table = lcnet(&["classify", "-m", s(&model), s(&long)]);
    assert_success(&table);
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(text.contains("éééééééééééééééééééx.png"), "{text}");
}

#[test]
fn bench_reports_times_macs_and_the_kernel_it_ran() {
    let (_dir, model, _) = setup("cli_bench");
    for (kernel, want) in [("auto", ""), ("simd128", "4 lanes"), ("scalar", "scalar")] {
        let out = lcnet(&[
            "bench",
            "-m",
            s(&model),
            "--images",
            "3",
            "--runs",
            "1",
            "--warmup",
            "1",
            "--tau-l",
            "0.5",
            "--tau-c",
            "0.5",
            "--kernel",
            kernel,
            "--json",
        ]);
        assert_success(&out);
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        for k in [
            "ms_static",
            "ms_dynamic",
            "ms_static_stock",
            "realised_ratio",
            "realised_ratio_paired",
        ] {
            let x = v[k].as_f64().unwrap_or(f64::NAN);
            assert!(x.is_finite() && x > 0.0, "{k} = {x} with --kernel {kernel}");
        }
        assert_eq!(
            v["macs_static"].as_f64(),
            Some((14_155_776 * 2 - 1_916_288) as f64)
        );
        assert!(v["macs_dynamic"].as_f64().unwrap() < v["macs_static"].as_f64().unwrap());
        let ran = v["kernel"].as_str().unwrap();
        if cfg!(target_arch = "x86_64") {
            assert!(ran.contains(want), "--kernel {kernel} ran {ran}");
        }
    }
    let bad = lcnet(&["bench", "-m", s(&model), "--kernel", "gpu"]);
    assert!(!bad.status.success());
}

#[test]
fn info_and_import_work() {
    let (dir, model, _) = setup("cli_info");
    let out = lcnet(&["info", s(&model)]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("ResNet-14") && text.contains("UNTRAINED"),
        "{text}"
    );
    let json = lcnet(&["info", "--json", s(&model)]);
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(v["macs_static"], 14_155_776u64 * 2 - 1_916_288);
    // the defaults and limits every front end uses (the page reads them from here)
    assert_eq!(v["defaults"]["mode"], "lc");
    assert_eq!(v["defaults"]["tau_l"], v["card"]["thresholds"]["tau_l"]);
    assert_eq!(v["defaults"]["top_k"], 5);
    assert_eq!(v["limits"]["model_file_bytes"], 512u64 << 20);
    assert_eq!(v["limits"]["image_pixels"], 64u64 << 20);
    assert_eq!(v["limits"]["image_side"], 16_384);
    // A model file is also a valid state dict to import (the card is replaced).
    let out = dir.join("imported.safetensors");
    let r = lcnet(&[
        "import",
        s(&model),
        "-o",
        s(&out),
        "--mean",
        "0.5,0.5,0.5",
        "--std",
        "0.25,0.25,0.25",
    ]);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    assert!(lcnet(&["info", s(&out)]).status.success());
    let bad = lcnet(&["import", s(&model), "-o", s(&out), "--mean", "0.5,0.5"]);
    assert!(!bad.status.success());
}

/// Asserts a failure with a one-line message on stderr containing `want`.
fn fails_with(out: std::process::Output, want: &str) {
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(want), "stderr {err:?} lacks {want:?}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn bad_input_gets_one_clear_error() {
    let (dir, model, png) = setup("cli_errors");
    let missing = dir.join("nope.png");
    fails_with(
        lcnet(&["classify", "-m", s(&model), s(&missing)]),
        "No such file",
    );
    let text = dir.join("text.png");
    std::fs::write(&text, "hello, I am not an image").unwrap();
    fails_with(
        lcnet(&["classify", "-m", s(&model), s(&text)]),
        "not a recognised image format",
    );
    let trunc = dir.join("trunc.png");
    let bytes = std::fs::read(&png).unwrap();
    std::fs::write(&trunc, &bytes[..bytes.len() / 2]).unwrap();
    fails_with(
        lcnet(&["classify", "-m", s(&model), s(&trunc)]),
        "trunc.png",
    );
    // One bad image among good ones: the good ones are still classified.
    let mixed = lcnet(&["classify", "-m", s(&model), "--json", s(&png), s(&text)]);
    assert!(!mixed.status.success());
    let v: serde_json::Value = serde_json::from_slice(&mixed.stdout).unwrap();
    assert!(v[0]["label"].is_string() && v[1]["error"].is_string());
    // Wrong model files.
    fails_with(
        lcnet(&["classify", "-m", s(&png), s(&png)]),
        "is not a usable lcnet model",
    );
    fails_with(lcnet(&["info", s(&missing)]), "cannot read");
    fails_with(
        lcnet(&["eval", "-m", s(&model), "--data", s(&missing)]),
        "no such file or directory",
    );
    fails_with(
        lcnet(&["eval", "-m", s(&model), "--data", s(&dir)]),
        "not a CIFAR-10 directory",
    );
    fails_with(
        lcnet(&["classify", "-m", s(&model), "--mode", "fast", s(&png)]),
        "unknown mode",
    );
}

/// A CIFAR-10 binary test batch of `n` noise images (labels 0–9 in turn) under
/// `dir/cifar-10-batches-bin`; returns that folder and the records written.
fn write_test_batch(dir: &std::path::Path, n: u8, seed: u64) -> (PathBuf, Vec<u8>) {
    let bin = dir.join("cifar-10-batches-bin");
    std::fs::create_dir_all(&bin).unwrap();
    let mut recs = Vec::new();
    for i in 0..n {
        recs.push(i % 10);
        recs.extend(
            common::noise(3072, seed + i as u64)
                .into_iter()
                .map(|v| (v * 255.0) as u8),
        );
    }
    std::fs::write(bin.join("test_batch.bin"), &recs).unwrap();
    (bin, recs)
}

#[test]
fn eval_reads_binary_batches() {
    let (dir, model, _) = setup("cli_eval_bin");
    let (bin, recs) = write_test_batch(&dir, 30, 0);
    let out = lcnet(&["eval", "-m", s(&model), "--data", s(&dir), "--json"]);
    assert_success(&out);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["n"], 30);
    for k in [
        "accuracy",
        "macs_mean",
        "macs_static",
        "block_exec_rate",
        "channel_density",
    ] {
        assert!(v.get(k).is_some(), "no {k}");
    }
    // The masked path (batched, full width) gives the same report as the default fast path.
    let masked = lcnet(&[
        "eval",
        "-m",
        s(&model),
        "--data",
        s(&dir),
        "--json",
        "--path",
        "masked",
    ]);
    assert_success(&masked);
    let m: serde_json::Value = serde_json::from_slice(&masked.stdout).unwrap();
    assert_eq!(m["correct"], v["correct"]);
    assert_eq!(m["block_exec_rate"], v["block_exec_rate"]);
    let (a, b) = (
        m["macs_mean"].as_f64().unwrap(),
        v["macs_mean"].as_f64().unwrap(),
    );
    assert!((a - b).abs() < 1e-6 * b, "{a} vs {b}");
    // A sweep writes the accuracy–MACs curve into a model card, static point first.
    let out_model = dir.join("swept.safetensors");
    let sw = lcnet(&[
        "eval",
        "-m",
        s(&model),
        "--data",
        s(&dir),
        "--sweep",
        "lc:0.3:0.3,l:0.6:0",
        "--write-card",
        s(&out_model),
    ]);
    assert_success(&sw);
    let info = lcnet(&["info", "--json", s(&out_model)]);
    let v: serde_json::Value = serde_json::from_slice(&info.stdout).unwrap();
    let curve = v["card"]["evaluation"]["curve"].as_array().unwrap().clone();
    assert_eq!(curve.len(), 3);
    assert_eq!(curve[0]["mode"], "static");
    assert_eq!(curve[0]["macs_fraction"], 1.0);
    assert_eq!(curve[2]["tau_l"], 0.6);
    assert!(curve[1]["macs_fraction"].as_f64().unwrap() < 1.0);
    fails_with(
        lcnet(&[
            "eval",
            "-m",
            s(&model),
            "--data",
            s(&dir),
            "--sweep",
            "lc:0.3",
        ]),
        "not MODE:TAU_L:TAU_C",
    );
    std::fs::write(bin.join("test_batch.bin"), &recs[..100]).unwrap();
    fails_with(
        lcnet(&["eval", "-m", s(&model), "--data", s(&dir)]),
        "3073-byte records",
    );
}

#[test]
fn eval_on_the_jpeg_tarball_with_a_limit() {
    let Some(data) = common::shared_file("data/cifar10-jpeg.tar.gz") else {
        return;
    };
    let (_dir, model, _) = setup("cli_eval_jpeg");
    let out = lcnet(&[
        "eval",
        "-m",
        s(&model),
        "--data",
        s(&data),
        "--limit",
        "50",
        "--json",
    ]);
    assert_success(&out);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["n"], 50);
}

#[test]
fn eval_and_info_use_the_static_reference_the_card_names() {
    let (dir, _, _) = setup("cli_static_reference");
    write_test_batch(&dir, 20, 100);
    let reference = dir.join("ref.safetensors");
    std::fs::write(
        &reference,
        Network::random(2, false, 5).unwrap().to_bytes().unwrap(),
    )
    .unwrap();
    let mut net = Network::random(2, true, 21).unwrap();
    let mut card = net.card.clone();
    card.static_reference = Some("ref.safetensors".into());
    net.set_card(card).unwrap();
    let model = dir.join("gated.safetensors");
    std::fs::write(&model, net.to_bytes().unwrap()).unwrap();

    let info = lcnet(&["info", s(&model)]);
    assert_success(&info);
    common::assert_has(
        &String::from_utf8_lossy(&info.stdout),
        "static ref    ref.safetensors (the static network it is compared with; beside it)",
    );
    let alone = lcnet(&[
        "eval",
        "-m",
        s(&reference),
        "--data",
        s(&dir),
        "--static",
        "--json",
    ]);
    assert_success(&alone);
    let alone: serde_json::Value = serde_json::from_slice(&alone.stdout).unwrap();
    let sw = lcnet(&[
        "eval",
        "-m",
        s(&model),
        "--data",
        s(&dir),
        "--sweep",
        "lc:0.3:0.3",
        "--json",
    ]);
    assert_success(&sw);
    let v: serde_json::Value = serde_json::from_slice(&sw.stdout).unwrap();
    assert_eq!(v["static_reference"]["file"], "ref.safetensors");
    assert_eq!(v["static_reference"]["accuracy"], alone["accuracy"]);
    // Asking a gated model for its static network points at the calibrated reference; the
    // reference itself, and a gated run, get no such note.
    let png = dir.join("img.png");
    for (args, noted) in [
        (vec!["classify", "-m", s(&model), "--static", s(&png)], true),
        (
            vec!["eval", "-m", s(&model), "--data", s(&dir), "--static"],
            true,
        ),
        (vec!["classify", "-m", s(&model), s(&png)], false),
        (
            vec!["classify", "-m", s(&reference), "--static", s(&png)],
            false,
        ),
    ] {
        let out = lcnet(&args);
        assert_success(&out);
        let err = String::from_utf8_lossy(&out.stderr);
        let want = format!(
            "its static reference is {}",
            dir.join("ref.safetensors").display()
        );
        assert_eq!(err.contains(&want), noted, "{args:?}: {err}");
    }

    std::fs::remove_file(&reference).unwrap();
    fails_with(
        lcnet(&[
            "eval",
            "-m",
            s(&model),
            "--data",
            s(&dir),
            "--sweep",
            "lc:0.3:0.3",
        ]),
        "the static reference \"ref.safetensors\" named by",
    );
    common::assert_has(
        &String::from_utf8_lossy(&lcnet(&["info", s(&model)]).stdout),
        "NOT USABLE",
    );
}

#[test]
fn classify_can_force_blocks_on_and_off() {
    let (_dir, model, png) = setup("cli_force");
    let run = |extra: &[&str]| {
        let mut args = vec!["classify", "-m", s(&model), "--json"];
        args.extend_from_slice(extra);
        args.push(s(&png));
        let out = lcnet(&args);
        assert_success(&out);
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        v[0].clone()
    };
    let base = run(&[]);
    let forced = run(&["--force-off", "1.0", "--force-on", "2.1,3.0"]);
    let block = |t: &serde_json::Value, i: usize| t["blocks"][i].clone();
    assert_eq!(block(&forced, 0)["executed"], false);
    assert_eq!(block(&forced, 0)["forced"], false);
    assert_eq!(block(&forced, 3)["executed"], true);
    assert_eq!(block(&forced, 3)["forced"], true);
    assert!(block(&base, 0).get("forced").is_none());
    fails_with(
        lcnet(&["classify", "-m", s(&model), "--force-on", "9.9", s(&png)]),
        "no block 9.9 in this model",
    );
    fails_with(
        lcnet(&["classify", "-m", s(&model), "--force-on", "x", s(&png)]),
        "is not STAGE.INDEX",
    );
}
