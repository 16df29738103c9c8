//! Known answers from a model nobody on this project wrote: the reference CIFAR ResNets in
//! `../shared/reference`, imported unchanged, must reproduce PyTorch's logits and accuracy.

mod common;

use lcnet::data::cifar::{self, Split};
use lcnet::eval::Evaluator;
use lcnet::exec::{masked, Options};
use lcnet::model::file::import_state_dict;
use lcnet::preprocess::to_input;
use lcnet::Classifier;
use safetensors::SafeTensors;

const MEAN: [f32; 3] = [0.485, 0.456, 0.406];
const STD: [f32; 3] = [0.229, 0.224, 0.225];

fn reference(depth: usize) -> Option<Classifier> {
    let path = common::shared_file(&format!("reference/resnet{depth}-reference.safetensors"))?;
    let bytes = std::fs::read(path).unwrap();
    let net = import_state_dict(&bytes, &format!("ref-r{depth}"), MEAN, STD).unwrap();
    Some(Classifier::new(net).unwrap())
}

fn check_logits(depth: usize) {
    let (Some(net), Some(ka)) = (
        reference(depth),
        common::shared_file("reference/known-answers.safetensors"),
    ) else {
        return;
    };
    let bytes = std::fs::read(ka).unwrap();
    let st = SafeTensors::deserialize(&bytes).unwrap();
    let images = st.tensor("images_u8_nhwc").unwrap();
    let want: Vec<f32> = st
        .tensor(&format!("resnet{depth}_logits"))
        .unwrap()
        .data()
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    let inputs: Vec<Vec<f32>> = images
        .data()
        .chunks_exact(32 * 32 * 3)
        .map(|px| to_input(px, 32, 32, 3, &net.card.input).unwrap())
        .collect();
    assert_eq!(inputs.len(), 64);
    let opts = Options::static_net();
    let got = masked::forward(&net, &masked::batch(&inputs, 32).unwrap(), &opts)
        .unwrap()
        .logits
        .to_vec2::<f32>()
        .unwrap();
    let mut worst = 0f32;
    for (i, row) in got.iter().enumerate() {
        for (j, v) in row.iter().enumerate() {
            worst = worst.max((v - want[i * 10 + j]).abs());
        }
        // The sliced path, on the same image, gives the same answer.
        let t = net.classify(&inputs[i], &opts).unwrap();
        for (j, v) in t.logits.iter().enumerate() {
            worst = worst.max((v - want[i * 10 + j]).abs());
        }
    }
    eprintln!("ResNet-{depth}: max |Δlogit| vs PyTorch over 64 images = {worst:.2e}");
    assert!(worst <= 1e-3, "ResNet-{depth}: logits differ by {worst}");
}

#[test]
fn resnet20_reference_logits() {
    check_logits(20);
}

#[test]
fn resnet56_reference_logits() {
    check_logits(56);
}

/// Full JPEG test set accuracy, against PyTorch's 81.03 % (R20) and 83.20 % (R56) ± 0.3.
#[test]
fn reference_accuracy_on_the_jpeg_test_set() {
    let Some(data) = common::shared_file("data/cifar10-jpeg.tar.gz") else {
        return;
    };
    let ds = cifar::load(&data, Split::Test, &mut |_, _| {}).unwrap();
    assert_eq!(ds.len(), 10_000);
    for (depth, want) in [(20, 0.8103), (56, 0.8320)] {
        let Some(net) = reference(depth) else { return };
        let mut ev = Evaluator::new(&net, Options::static_net());
        for start in (0..ds.len()).step_by(200) {
            let idx = start..(start + 200).min(ds.len());
            let inputs: Vec<Vec<f32>> = idx
                .clone()
                .map(|i| to_input(ds.image(i), 32, 32, 3, &net.card.input).unwrap())
                .collect();
            ev.add_batch(&net, &inputs, &ds.labels[idx]).unwrap();
        }
        let r = ev.report(&net);
        eprintln!(
            "ResNet-{depth} on CIFAR-10 (JPEG copy) test set: {:.2} % (PyTorch + Pillow: {:.2} %)",
            100.0 * r.accuracy,
            100.0 * want
        );
        assert!(
            (r.accuracy - want).abs() <= 0.003,
            "ResNet-{depth}: {}",
            r.accuracy
        );
    }
}
