use std::path::PathBuf;

use lcnet::info::ModelInfo;

#[derive(clap::Args)]
pub struct Args {
    /// Model file.
    model: PathBuf,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

pub fn run(a: Args) -> anyhow::Result<()> {
    let net = crate::load_model(&a.model)?;
    let info = ModelInfo::of(&net);
    if a.json {
        out!("{}", serde_json::to_string_pretty(&info)?);
        return Ok(());
    }
    let c = &info.card;
    out!("model         {}", c.name);
    out!(
        "architecture  CIFAR ResNet-{} ({} blocks per stage, widths {:?}, shortcut {}, {} classes)",
        c.arch.depth,
        c.arch.blocks_per_stage,
        c.arch.widths,
        c.arch.shortcut,
        c.arch.num_classes
    );
    out!(
        "parameters    {} ({} in gates)",
        info.params,
        info.gate_params
    );
    let gates = match &c.gates {
        None => "none (static ResNet)".to_string(),
        Some(g) => format!(
            "L-Net {}, C-Net {}, {}",
            if g.l_net { "yes" } else { "no" },
            if g.c_net { "yes" } else { "no" },
            if g.trained {
                "trained"
            } else {
                "UNTRAINED (initialised near 1: they skip little)"
            }
        ),
    };
    out!("gates         {gates}");
    out!(
        "thresholds    τ_L = {}, τ_C = {}",
        c.thresholds.tau_l,
        c.thresholds.tau_c
    );
    out!(
        "static MACs   {} ({})",
        info.macs_static,
        crate::mmacs(info.macs_static as f64)
    );
    out!(
        "input         {}×{} RGB, mean {:?}, std {:?}",
        c.input.size,
        c.input.size,
        c.input.mean,
        c.input.std
    );
    out!("classes       {}", c.classes.join(", "));
    if let Some(r) = &c.static_reference {
        let found = match crate::load_static_reference(&a.model, &net) {
            Ok(_) => "beside it".to_string(),
            Err(e) => format!("NOT USABLE: {e:#}"),
        };
        out!("static ref    {r} (the static network it is compared with; {found})");
    }
    if !c.provenance.is_null() {
        out!("provenance    {}", serde_json::to_string(&c.provenance)?);
    }
    if let Some(e) = &c.evaluation {
        out!("evaluation    {}", serde_json::to_string(e)?);
    }
    out!("\nblock      in→out  stride  out   static MACs  gates");
    for b in &info.blocks {
        out!(
            "layer{}.{:<3} {:>3}→{:<3} {:>5}  {:>2}×{:<2} {:>11}  {}{}",
            b.stage,
            b.index,
            b.in_ch,
            b.out_ch,
            b.stride,
            b.out_hw,
            b.out_hw,
            b.macs_static,
            if b.gate_l { "L" } else { "-" },
            if b.gate_c { "C" } else { "-" }
        );
    }
    Ok(())
}
