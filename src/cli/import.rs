use std::path::PathBuf;

use anyhow::Context;

#[derive(clap::Args)]
pub struct Args {
    /// PyTorch CIFAR ResNet state dict in safetensors form.
    state_dict: PathBuf,
    /// Output model file.
    #[arg(short, long)]
    output: PathBuf,
    /// Input normalisation mean (r,g,b on [0,1]); default: the one the reference weights use.
    #[arg(long, value_parser = crate::parse_triple, default_value = "0.485,0.456,0.406")]
    mean: [f32; 3],
    /// Input normalisation std (r,g,b).
    #[arg(long, value_parser = crate::parse_triple, default_value = "0.229,0.224,0.225")]
    std: [f32; 3],
    /// Model name for the card (default: the output file's stem).
    #[arg(long)]
    name: Option<String>,
}

pub fn run(a: Args) -> anyhow::Result<()> {
    let bytes = crate::read_capped(&a.state_dict, lcnet::model::file::MAX_MODEL_BYTES)?;
    let name = a
        .name
        .clone()
        .or_else(|| {
            a.output
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
        })
        .unwrap_or_else(|| "imported".into());
    let mut net = lcnet::model::file::import_state_dict(&bytes, &name, a.mean, a.std)
        .with_context(|| format!("cannot import {}", a.state_dict.display()))?;
    let mut card = net.card.clone();
    if let serde_json::Value::Object(m) = &mut card.provenance {
        m.insert(
            "imported_file".into(),
            a.state_dict.display().to_string().into(),
        );
    }
    net.set_card(card)?;
    let out = net.to_bytes()?;
    std::fs::write(&a.output, &out)
        .with_context(|| format!("cannot write {}", a.output.display()))?;
    eprintln!(
        "wrote {} (ResNet-{}, {} parameters, gates: {})",
        a.output.display(),
        net.card.arch.depth,
        net.num_params(),
        if net.card.gates.is_some() {
            "yes"
        } else {
            "none"
        }
    );
    Ok(())
}
