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
