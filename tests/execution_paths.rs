//! The sliced path (real skipping) must compute what the masked path computes, and the MACs it
//! actually executes must equal the accounting.

mod common;

use candle_core::{Device, Tensor};
use lcnet::exec::{masked, sliced, Mode, Options};
use lcnet::macs;
use lcnet::{Classifier, Network};

fn input_tensor(v: &[f32]) -> Tensor {
    Tensor::from_slice(v, (1, 3, 32, 32), &Device::Cpu).unwrap()
}

fn max_diff(a: &[f32], b: &[f32]) -> f32 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

fn settings() -> Vec<Options> {
    let mut v = Vec::new();
    for &(tl, tc) in &[
        (0.3, 0.3),
        (0.5, 0.5),
        (0.7, 0.2),
        (0.2, 0.8),
        (0.9, 0.9),
        (0.1, 1.0),
    ] {
        for mode in [Mode::Lc, Mode::L, Mode::C] {
            v.push(Options {
                mode,
                tau_l: tl,
                tau_c: tc,
                top_k: 3,
                force_on: Vec::new(),
                force_off: Vec::new(),
            });
        }
    }
    v.push(Options::static_net());
    // "What if" overrides: blocks forced on against their gate, off against it, in static mode too.
    let b = |s: &str| s.parse().unwrap();
    v.push(Options {
        force_on: vec![b("1.0"), b("3.0")],
        force_off: vec![b("2.0")],
        ..Options::dynamic(0.9, 0.5)
    });
    v.push(Options {
        force_off: vec![b("1.0"), b("3.0")],
        ..Options::static_net()
    });
    v
}

/// A random network packed for the fast path.
fn classifier(n: usize, gates: bool, seed: u64) -> Classifier {
    Classifier::new(Network::random(n, gates, seed).unwrap()).unwrap()
}

#[test]
fn sliced_equals_masked_on_random_models() {
    let mut skipped_blocks = 0;
    let mut skipped_channels = 0;
    let mut empty_blocks = 0;
    for (n, seed) in [(1, 1u64), (2, 7), (3, 42)] {
        let net = Network::random(n, true, seed).unwrap();
        let inputs: Vec<Vec<f32>> = (0..4)
            .map(|i| common::random_input(seed * 100 + i))
            .collect();
        let batch = masked::batch(&inputs, 32).unwrap();
        for opts in settings() {
            let m = masked::forward(&net, &batch, &opts).unwrap();
            let logits = m.logits.to_vec2::<f32>().unwrap();
            for (i, x) in inputs.iter().enumerate() {
                let s = sliced::forward(&net, &input_tensor(x), &opts).unwrap();
                let d = max_diff(&s.logits, &logits[i]);
                assert!(d <= 1e-4, "n={n} {opts:?} image {i}: |Δlogit| = {d}");
                for (a, b) in s.decisions.iter().zip(&m.decisions[i]) {
                    assert_eq!(
                        (a.executed, &a.kept),
                        (b.executed, &b.kept),
                        "decisions differ for {opts:?}"
                    );
                }
                for (b, dec) in net.blocks.iter().zip(&s.decisions) {
                    skipped_blocks += usize::from(!dec.executed);
                    if dec.executed {
                        skipped_channels += b.out_ch - dec.kept.len();
                        empty_blocks += usize::from(dec.kept.is_empty());
                    }
                }
            }
        }
    }
    // The settings must really exercise skipping, including blocks that keep no channel.
    assert!(skipped_blocks > 50, "only {skipped_blocks} blocks skipped");
    assert!(
        skipped_channels > 500,
        "only {skipped_channels} channels skipped"
    );
    assert!(empty_blocks > 0, "no block ran with zero channels");
}

#[test]
fn thresholds_at_minus_infinity_give_the_static_network() {
    let gated = Network::random(3, true, 5).unwrap();
    let x = common::random_input(9);
    let keep_all = Options {
        mode: Mode::Lc,
        tau_l: f32::NEG_INFINITY,
        tau_c: f32::NEG_INFINITY,
        top_k: 1,
        force_on: Vec::new(),
        force_off: Vec::new(),
    };
    let stat = sliced::forward(&gated, &input_tensor(&x), &Options::static_net()).unwrap();
    // With every gate value above −∞, nothing is skipped, and only the gates' scales differ:
    // compare against a copy of the model whose gates output exactly 1.
    let dynamic = sliced::forward(&gated, &input_tensor(&x), &keep_all).unwrap();
    assert!(dynamic
        .decisions
        .iter()
        .all(|d| d.executed && d.kept.len() == d.s_c.as_ref().unwrap().len()));
    let mut ones = gated.clone();
    for b in &mut ones.blocks {
        for g in [b.gate_l.as_mut().unwrap(), b.gate_c.as_mut().unwrap()] {
            g.weight.iter_mut().for_each(|w| *w = 0.0);
            g.bias.iter_mut().for_each(|v| *v = 1.0);
        }
    }
    let forced = sliced::forward(&ones, &input_tensor(&x), &keep_all).unwrap();
    assert!(
        max_diff(&forced.logits, &stat.logits) <= 1e-5,
        "gates forced to 1 differ from static"
    );
    // The static mode of a gated model equals the same backbone without gates.
    let mut plain = gated.clone();
    for b in &mut plain.blocks {
        b.gate_l = None;
        b.gate_c = None;
    }
    let p = sliced::forward(&plain, &input_tensor(&x), &Options::static_net()).unwrap();
    assert!(max_diff(&p.logits, &stat.logits) <= 1e-5);
    assert_eq!(stat.executed.gates, 0);
}

#[test]
fn executed_macs_equal_the_accounting() {
    let net = classifier(3, true, 11);
    let mut seen = std::collections::BTreeSet::new();
    for seed in 0..6 {
        let x = common::random_input(seed);
        for opts in settings() {
            let s = sliced::forward(&net, &input_tensor(&x), &opts).unwrap();
            let trace = net.trace(&s.logits, &s.decisions, &opts, 0.0);
            assert_eq!(
                s.executed.compute + s.executed.gates,
                trace.macs,
                "{opts:?}"
            );
            assert_eq!(s.executed.gates, trace.macs_gates, "{opts:?}");
            let block_sum: u64 = trace.blocks.iter().map(|b| b.macs).sum();
            assert_eq!(block_sum + macs::fixed_macs(&net), trace.macs);
            seen.insert(trace.macs);
        }
    }
    assert!(
        seen.len() > 20,
        "the MACs barely vary ({} distinct values)",
        seen.len()
    );
    let full = net
        .classify(&common::random_input(1), &Options::static_net())
        .unwrap();
    assert_eq!(full.macs, macs::static_macs(&net));
    assert_eq!(full.macs_gates, 0);
}

#[test]
fn static_macs_match_the_known_totals() {
    for (n, want) in [
        (3usize, 40_551_040u64),
        (9, 125_485_696),
        (5, 68_862_592),
        (18, 252_887_680),
    ] {
        let net = Network::random(n, false, 0).unwrap();
        assert_eq!(macs::static_macs(&net), want, "n = {n}");
        assert_eq!(want, 14_155_776 * n as u64 - 1_916_288);
    }
}

#[test]
fn trace_reports_what_ran() {
    let net = classifier(2, true, 3);
    let t = net
        .classify(&common::random_input(4), &Options::dynamic(0.5, 0.5))
        .unwrap();
    assert_eq!(t.blocks.len(), 6);
    assert_eq!(t.top.len(), 5);
    assert_eq!(t.label, t.top[0].label);
    assert!((t.top.iter().map(|c| c.prob).sum::<f32>() - 1.0).abs() < 0.2);
    for b in &t.blocks {
        assert_eq!(b.kept.len(), b.channels_kept);
        assert_eq!(b.scales.len(), b.channels_kept);
        assert!(b.s_l.is_some());
        if !b.executed {
            assert_eq!((b.channels_kept, b.macs), (0, b.macs_gates));
            assert!(b.s_l.unwrap() <= 0.5);
        } else {
            assert!(b.scales.iter().all(|&s| s > 0.5 && s <= 1.0));
        }
    }
    assert!(t.macs < t.macs_static);
    let json = serde_json::to_value(&t).unwrap();
    for key in [
        "label",
        "prob",
        "macs",
        "macs_static",
        "blocks",
        "top",
        "elapsed_ms",
    ] {
        assert!(json.get(key).is_some(), "trace JSON lacks {key}");
    }
    assert!(
        json["blocks"][0].get("executed").is_some()
            && json["blocks"][0].get("channels_kept").is_some()
    );
}

#[test]
fn fast_path_equals_the_candle_reference() {
    use lcnet::exec::fast;
    let mut worst = 0f32;
    for (n, seed) in [(1, 2u64), (3, 13)] {
        let net = classifier(n, true, seed);
        for i in 0..3 {
            let x = common::random_input(seed * 10 + i);
            for opts in settings() {
                let r = sliced::forward(&net, &input_tensor(&x), &opts).unwrap();
                let f = fast::forward(&net, net.folded(), &x, &opts).unwrap();
                worst = worst.max(max_diff(&r.logits, &f.logits));
                assert_eq!(r.executed, f.executed, "{opts:?}");
                for (a, b) in r.decisions.iter().zip(&f.decisions) {
                    assert_eq!((a.executed, &a.kept), (b.executed, &b.kept), "{opts:?}");
                }
                let t = net.classify(&x, &opts).unwrap();
                assert_eq!(t.logits, f.logits);
            }
        }
    }
    assert!(worst <= 1e-4, "fast vs reference |Δlogit| = {worst}");
}

#[test]
fn forcing_a_block_changes_the_macs_by_exactly_its_cost() {
    let net = classifier(2, true, 5);
    let x = common::random_input(9);
    let base_opts = Options::dynamic(0.5, 0.5);
    let base = net.classify(&x, &base_opts).unwrap();
    for (i, b) in base.blocks.iter().enumerate() {
        let id = format!("{}.{}", b.stage, b.index).parse().unwrap();
        let flip = if b.executed {
            Options {
                force_off: vec![id],
                ..base_opts.clone()
            }
        } else {
            Options {
                force_on: vec![id],
                ..base_opts.clone()
            }
        };
        let t = net.classify(&x, &flip).unwrap();
        let fb = &t.blocks[i];
        assert_eq!(fb.executed, !b.executed);
        assert_eq!(fb.forced, Some(!b.executed));
        // blocks before it decide and cost as before (later ones see other features and may
        // decide otherwise); the total is still the sum of what each block spent
        for (o, n) in base.blocks.iter().zip(&t.blocks).take(i) {
            assert_eq!((o.executed, o.macs), (n.executed, n.macs));
        }
        let fixed = base.macs - base.blocks.iter().map(|b| b.macs).sum::<u64>();
        assert_eq!(t.macs, fixed + t.blocks.iter().map(|b| b.macs).sum::<u64>());
        if b.executed {
            // skipped: only its L gate's MACs remain
            assert_eq!(fb.macs, fb.macs_gates);
        }
    }
    let bad = Options {
        force_on: vec!["4.0".parse().unwrap()],
        ..base_opts.clone()
    };
    let e = net
        .classify(&x, &bad)
        .and(bad.validate_for(&net).map(|_| base.clone()));
    assert!(e.is_err_and(|e| e.to_string().contains("no block 4.0 in this model")));
    let both = Options {
        force_on: vec!["1.0".parse().unwrap()],
        force_off: vec!["1.0".parse().unwrap()],
        ..base_opts
    };
    assert!(both
        .validate()
        .is_err_and(|e| e.to_string().contains("forced both on and off")));
    assert!("2".parse::<lcnet::exec::BlockRef>().is_err());
}

#[test]
fn options_start_from_the_card_and_apply_only_what_is_changed() {
    let mut net = Network::random(2, true, 5).unwrap();
    net.card.thresholds.tau_l = 0.3;
    net.card.thresholds.tau_c = 0.4;
    let d = net.options(&lcnet::OptionOverrides::default()).unwrap();
    assert_eq!(d, net.default_options());
    assert_eq!((d.mode, d.tau_l, d.tau_c, d.top_k), (Mode::Lc, 0.3, 0.4, 5));
    let o = net
        .options(&lcnet::OptionOverrides {
            tau_c: Some(0.1),
            top_k: Some(2),
            force_off: vec!["2.1".parse().unwrap()],
            ..Default::default()
        })
        .unwrap();
    assert_eq!((o.mode, o.tau_l, o.tau_c, o.top_k), (Mode::Lc, 0.3, 0.1, 2));
    assert_eq!(o.force_off, vec!["2.1".parse().unwrap()]);
    let nan = lcnet::OptionOverrides {
        tau_l: Some(f32::NAN),
        ..Default::default()
    };
    assert!(net
        .options(&nan)
        .is_err_and(|e| e.to_string().contains("must not be NaN")));
    let missing = lcnet::OptionOverrides {
        force_on: vec!["3.7".parse().unwrap()],
        ..Default::default()
    };
    assert!(net
        .options(&missing)
        .is_err_and(|e| e.to_string().contains("no block 3.7 in this model")));
    // a model with one kind of gate runs (and names) that mode by default
    let gates = net.card.gates.as_mut().unwrap();
    gates.c_net = false;
    assert_eq!(net.default_options().mode, Mode::L);
    net.card.gates = None;
    assert_eq!(net.default_options().mode, Mode::Static);
}
