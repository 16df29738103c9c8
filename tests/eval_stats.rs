//! `lcnet eval`'s per-image statistics (blocks run, block patterns, MACs by outcome) recomputed
//! image by image from the sliced path's own traces.

mod common;

use std::collections::HashSet;

use candle_core::{Device, Tensor};
use lcnet::eval::Evaluator;
use lcnet::exec::{sliced, Mode, Options};
use lcnet::Network;

#[test]
fn per_image_statistics_match_the_traces() {
    let net = Network::random(2, true, 11).unwrap();
    let inputs: Vec<Vec<f32>> = (0..24).map(|i| common::random_input(500 + i)).collect();
    let opts = Options {
        mode: Mode::Lc,
        tau_l: 0.5,
        tau_c: 0.4,
        top_k: 1,
        force_on: Vec::new(),
        force_off: Vec::new(),
    };
    // Predictions first, so the labels make some images right and some wrong.
    let mut traces = Vec::new();
    for x in &inputs {
        let t = Tensor::from_slice(x, (1, 3, 32, 32), &Device::Cpu).unwrap();
        let s = sliced::forward(&net, &t, &opts).unwrap();
        traces.push(net.trace(&s.logits, &s.decisions, &opts, 0.0));
    }
    let labels: Vec<usize> = traces
        .iter()
        .enumerate()
        .map(|(i, t)| {
            if i % 3 == 0 {
                (t.class_index + 1) % 10
            } else {
                t.class_index
            }
        })
        .collect();
    let mut ev = Evaluator::new(&net, opts);
    for (x, y) in inputs.chunks(5).zip(labels.chunks(5)) {
        ev.add_batch(&net, x, y).unwrap();
    }
    let r = ev.report(&net);

    let runs: Vec<f64> = traces
        .iter()
        .map(|t| t.blocks.iter().filter(|b| b.executed).count() as f64)
        .collect();
    let mean = runs.iter().sum::<f64>() / runs.len() as f64;
    let std =
        (runs.iter().map(|r| (r - mean) * (r - mean)).sum::<f64>() / runs.len() as f64).sqrt();
    let patterns: HashSet<Vec<bool>> = traces
        .iter()
        .map(|t| t.blocks.iter().map(|b| b.executed).collect())
        .collect();
    let macs_of = |right: bool| {
        let v: Vec<f64> = traces
            .iter()
            .zip(&labels)
            .filter(|(t, &y)| (t.class_index == y) == right)
            .map(|(t, _)| t.macs as f64)
            .collect();
        v.iter().sum::<f64>() / v.len() as f64
    };
    assert!(
        patterns.len() > 1 && std > 0.0,
        "the test model must route images differently"
    );
    assert_eq!(r.distinct_block_patterns, patterns.len());
    assert!(
        (r.blocks_run_std - std).abs() < 1e-9,
        "{} vs {std}",
        r.blocks_run_std
    );
    assert!((r.macs_mean_correct - macs_of(true)).abs() < 1e-6);
    assert!((r.macs_mean_wrong - macs_of(false)).abs() < 1e-6);
    assert_eq!(r.correct, 16);
}

/// `lcnet eval` counts the fast path's traces (what `classify` and the page run); the batched
/// masked path is its definition. Both must give the same report, setting by setting.
#[test]
fn fast_path_traces_give_the_masked_paths_report() {
    let net = Network::random(3, true, 5).unwrap();
    let clf = lcnet::Classifier::new(net.clone()).unwrap();
    let inputs: Vec<Vec<f32>> = (0..40).map(|i| common::random_input(900 + i)).collect();
    let labels: Vec<usize> = (0..40).map(|i| i % 10).collect();
    let setting = |mode, tau_l, tau_c| Options {
        mode,
        tau_l,
        tau_c,
        top_k: 1,
        force_on: Vec::new(),
        force_off: Vec::new(),
    };
    for opts in [
        setting(Mode::Static, 0.0, 0.0),
        setting(Mode::Lc, 0.5, 0.4),
        setting(Mode::L, 0.45, 0.0),
        setting(Mode::C, 0.0, 0.5),
    ] {
        let mut masked = Evaluator::new(&net, opts.clone());
        for (x, y) in inputs.chunks(7).zip(labels.chunks(7)) {
            masked.add_batch(&net, x, y).unwrap();
        }
        let mut fast = Evaluator::new(&net, opts.clone());
        for (x, &y) in inputs.iter().zip(&labels) {
            fast.add_trace(&clf.classify(x, &opts).unwrap(), y);
        }
        let (m, f) = (masked.report(&net), fast.report(&net));
        assert_eq!(f.correct, m.correct, "{opts:?}");
        assert_eq!(f.block_exec_rate, m.block_exec_rate, "{opts:?}");
        assert_eq!(f.distinct_block_patterns, m.distinct_block_patterns);
        assert_eq!(fast.predictions, masked.predictions, "{opts:?}");
        for (a, b) in [
            (f.macs_mean, m.macs_mean),
            (f.macs_std, m.macs_std),
            (f.blocks_run_std, m.blocks_run_std),
            (f.macs_mean_wrong, m.macs_mean_wrong),
        ] {
            assert!(
                (a - b).abs() <= 1e-9 * b.abs().max(1.0),
                "{a} vs {b} ({opts:?})"
            );
        }
        if opts.mode != Mode::Static {
            assert!(
                f.macs_fraction < 1.0,
                "the setting must skip work ({opts:?})"
            );
        }
    }
}
