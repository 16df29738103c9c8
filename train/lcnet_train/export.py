"""Export a checkpoint to the lcnet model file and its parity fixtures.

    python -m lcnet_train.export --ckpt checkpoints/r20_lcnet/last.pt --out ../weights/lcnet-r20.safetensors \
        --name lcnet-r20 [--tau-l 0.5 --tau-c 0.5]

Model file: safetensors, f32 tensors under the PyTorch state-dict names (no num_batches_tracked), with ONE
metadata key `lcnet` holding the model card JSON. Fixtures: `<model>.fixtures.safetensors` beside it:
`input` f32 [N,3,32,32] (normalised), `logits` f32 [N,10] (hard gates at the card's thresholds),
`logits_static` f32 [N,10], `s_l` f32 [N,nb], `executed` u8 [N,nb], `kept` i64 [N,nb] (kept conv1 channels,
0 where skipped), `macs` i64 [N], `test_index` i64 [N], `labels` i64 [N]; metadata tau_l, tau_c (strings),
`source` ("test" = CIFAR-10 test images, "random" = seeded noise when the data set is absent).
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import platform
import sys
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import save_file

from . import data as D
from .gate_scale import clamped_share, rescale_gates
from .model import WIDTHS, ResNetCifar, load_state, trace_of
from .model_file import load_checkpoint

N_FIXTURES = 8


def model_from_state(sd: dict, depth: int) -> ResNetCifar:
    l_gate = any(".gate_l." in k for k in sd)
    c_gate = any(".gate_c." in k for k in sd)
    m = ResNetCifar(depth, l_gate=l_gate, c_gate=c_gate)
    load_state(m, sd)
    return m.eval()


def model_card(model: ResNetCifar, name: str, mean, std, tau_l: float, tau_c: float, provenance: dict,
               gates_trained: bool) -> dict:
    return {
        "format": "lcnet",
        "version": 1,
        "name": name,
        "arch": {"depth": model.depth, "blocks_per_stage": model.n, "widths": list(WIDTHS),
                 "num_classes": model.num_classes, "shortcut": "A", "bn_eps": 1e-5},
        "classes": list(D.CLASSES),
        "input": {"size": 32, "mean": [float(v) for v in mean], "std": [float(v) for v in std]},
        "gates": ({"l_net": bool(model.l_gate), "c_net": bool(model.c_gate), "trained": bool(gates_trained)}
                  if model.has_gates else None),
        "thresholds": {"tau_l": float(tau_l), "tau_c": float(tau_c)},
        "provenance": provenance,
        "evaluation": None,
    }


def round_to_f16(model: ResNetCifar) -> ResNetCifar:
    """Rounds every parameter and buffer to the nearest float16 value (kept as float32), so that fixtures
    computed afterwards are what a model stored in float16 computes."""
    with torch.no_grad():
        for v in model.state_dict().values():
            if v.is_floating_point():
                if not torch.isfinite(v.half()).all():
                    raise ValueError("a value is out of float16 range: store this model in float32")
                v.copy_(v.half().float())
    return model


def write_model(path: Path, model: ResNetCifar, card: dict, dtype: torch.dtype = torch.float32):
    tensors = {k: v.detach().to(dtype).contiguous().cpu()
               for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked")}
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(path), metadata={"lcnet": json.dumps(card, separators=(",", ":"))})


def fixtures_path(model_path: Path) -> Path:
    name = model_path.name
    stem = name[: -len(".safetensors")] if name.endswith(".safetensors") else name
    return model_path.with_name(stem + ".fixtures.safetensors")


@torch.no_grad()
def fixtures(model: ResNetCifar, x: torch.Tensor, tau_l: float, tau_c: float) -> dict:
    logits, infos = model(x, mode="hard", tau_l=tau_l, tau_c=tau_c, trace=True)
    tr = trace_of(model, infos, "hard" if model.has_gates else "static", tau_l, tau_c)
    logits_static = model(x, mode="static")
    return {
        "input": x.contiguous(),
        "logits": logits.contiguous(),
        "logits_static": logits_static.contiguous(),
        "s_l": tr.s_l.to(torch.float32).contiguous(),
        "executed": tr.executed.to(torch.uint8).contiguous(),
        "kept": tr.kept.to(torch.int64).contiguous(),
        "macs": tr.macs.to(torch.int64).contiguous(),
    }


def fixture_inputs(mean, std, data=None, cache=None, n: int = N_FIXTURES):
    """N test images spread over the classes (index i*len/N), or seeded noise when the data is absent."""
    norm = D.Normalizer(mean, std)
    try:
        cif = D.load(data, cache, verbose=False)
        idx = np.arange(n) * (len(cif.test_y) // n)
        x = norm(D.to_nchw(cif.test_x[idx]))
        return x, torch.as_tensor(idx, dtype=torch.int64), torch.as_tensor(cif.test_y[idx]), "test"
    except FileNotFoundError as e:
        print(f"export: {e}; fixtures use seeded random images", file=sys.stderr)
        g = torch.Generator().manual_seed(1234)
        u8 = torch.randint(0, 256, (n, 3, 32, 32), generator=g, dtype=torch.uint8)
        return norm(u8), torch.full((n,), -1, dtype=torch.int64), torch.full((n,), -1, dtype=torch.int64), "random"


def rescale_from_data(model: ResNetCifar, mean, std, n: int, data=None, cache=None) -> dict:
    """Rescales the gates from the first `n` training images (see gate_scale) and reports what changed,
    with the share of gate values at the clamp's top on 2,000 test images before and after."""
    norm = D.Normalizer(mean, std)
    cif = D.load(data, cache, verbose=False)
    test = norm(D.to_nchw(cif.test_x[:2000]))
    before = clamped_share(model, test)
    report = rescale_gates(model, norm(D.to_nchw(cif.train_x[:n]))).as_dict()
    report.update(test_clamped_before=round(before, 6), test_clamped_after=round(clamped_share(model, test), 6))
    return report


def export(ckpt: dict, out: Path, name: str, tau_l: float | None = None, tau_c: float | None = None,
           data=None, cache=None, date: str | None = None, add_gates: bool = False, f16: bool = False,
           rescale: int = 0, static_reference: str | None = None) -> dict:
    cfg = ckpt["config"]
    if any(".budget_" in k for k in ckpt["model"]):
        raise ValueError("gates that read a compute budget (gate_budget) have no model-file format yet: "
                         "the Rust model, the wasm module and the page do not read a budget")
    tau_l = cfg.get("tau_l", 0.5) if tau_l is None else tau_l
    tau_c = cfg.get("tau_c", 0.5) if tau_c is None else tau_c
    model = model_from_state(ckpt["model"], cfg["depth"])
    if add_gates and not model.has_gates:
        # Fresh gates at their phase-2 initialisation (near 1): the model card says they are untrained.
        model.add_gates(True, True, init_std=cfg.get("gate_init_std", 0.01),
                        init_bias=cfg.get("gate_init_bias", 0.95), seed=cfg.get("seed", 0))
        model.eval()
    dat = ckpt["data"]
    scaled = rescale_from_data(model, dat["mean"], dat["std"], rescale, data, cache) if rescale else None
    if f16:
        round_to_f16(model)
    last = ckpt["history"][-1] if ckpt.get("history") else {}
    prov = {
        "trainer": "lcnet_train (PyTorch)",
        "run": ckpt.get("run"),
        "config": {k: v for k, v in cfg.items() if k != "comment"},
        "phases": ckpt.get("phases", []) + [{"run": ckpt.get("run"), "phase": cfg["phase"], "epochs": ckpt["epoch"],
                                             "wall_time_s": round(ckpt["elapsed_s"], 1)}],
        "epochs": ckpt["epoch"],
        "wall_time_s": round(ckpt["elapsed_s"] + sum(p.get("wall_time_s", 0) for p in ckpt.get("phases", [])), 1),
        "storage": "float16" if f16 else "float32",
        **({"gate_rescale": scaled} if scaled else {}),
        **({"averaged_from": ckpt["averaged_from"]} if ckpt.get("averaged_from") else {}),
        "data": dat["source"],
        "data_sha256": dat["sha256"],
        "date": date or dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "pytorch_test_eval": {k: v for k, v in last.items() if k.startswith(("acc_", "macs_frac_"))},
    }
    card = model_card(model, name, dat["mean"], dat["std"], tau_l, tau_c, prov,
                      gates_trained=cfg["phase"] == "gates" and ckpt["epoch"] > 0)
    if static_reference:
        card["static_reference"] = static_reference
    write_model(out, model, card, torch.float16 if f16 else torch.float32)
    x, idx, labels, source = fixture_inputs(dat["mean"], dat["std"], data, cache)
    fx = fixtures(model, x, tau_l, tau_c)
    fx["test_index"], fx["labels"] = idx, labels
    save_file(fx, str(fixtures_path(out)), metadata={"tau_l": repr(float(tau_l)), "tau_c": repr(float(tau_c)),
                                                     "source": source})
    return card


def fresh_checkpoint(depth: int = 20, gates: bool = True, seed: int = 0) -> dict:
    """An untrained model as a checkpoint-like dict, for round-trip tests: random BN statistics and gates
    spread so that hard decisions at 0.5 are mixed (some blocks and channels skipped, some kept)."""
    g = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    m = ResNetCifar(depth)
    if gates:
        m.add_gates(True, True, init_std=1.0, init_bias=0.5, seed=seed)
    with torch.no_grad():
        for mod in m.modules():
            if isinstance(mod, torch.nn.BatchNorm2d):
                c = mod.num_features
                mod.weight.copy_(0.5 + torch.rand(c, generator=g))
                mod.bias.copy_(0.2 * torch.randn(c, generator=g))
                mod.running_mean.copy_(0.2 * torch.randn(c, generator=g))
                mod.running_var.copy_(0.5 + torch.rand(c, generator=g))
    cfg = {"name": f"fresh-r{depth}", "depth": depth, "phase": "gates" if gates else "backbone",
           "tau_l": 0.5, "tau_c": 0.5, "seed": seed}
    return {"model": m.state_dict(), "config": cfg, "epoch": 0, "elapsed_s": 0.0, "history": [], "run": cfg["name"],
            "data": {"source": "none (untrained)", "sha256": None,
                     "mean": [0.4914, 0.4822, 0.4465], "std": [0.2470, 0.2435, 0.2616]}}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--ckpt", help="training checkpoint (last.pt), or a model file to export again (other thresholds)")
    src.add_argument("--fresh", type=int, metavar="DEPTH", help="an untrained gated model of this depth (tests)")
    ap.add_argument("--no-gates", action="store_true", help="with --fresh: no gates")
    ap.add_argument("--add-gates", action="store_true",
                    help="with --ckpt of a backbone: insert untrained gates (initialised near 1)")
    ap.add_argument("--seed", type=int, default=0, help="with --fresh")
    ap.add_argument("--out", required=True, help="model file (.safetensors); fixtures go beside it")
    ap.add_argument("--name", required=True, help="model name for the card, e.g. lcnet-r20")
    ap.add_argument("--tau-l", type=float)
    ap.add_argument("--tau-c", type=float)
    ap.add_argument("--data")
    ap.add_argument("--cache")
    ap.add_argument("--f16", action="store_true",
                    help="store the tensors in float16 (half the size; fixtures computed from the rounded weights)")
    ap.add_argument("--rescale-gates", type=int, default=0, metavar="N",
                    help="rescale the gates so each one's largest value over the first N training images is 0.9 "
                         "(exact at tau = 0; gives thresholds above 0 a meaning for jointly trained gates)")
    ap.add_argument("--static-reference", metavar="FILE",
                    help="the static network the model is compared with: a model file beside --out (e.g. the "
                         "backbone's export), named in the card")
    args = ap.parse_args(argv)
    if args.fresh:
        ck = fresh_checkpoint(args.fresh, not args.no_gates, args.seed)
    else:
        ck = load_checkpoint(args.ckpt)
    card = export(ck, Path(args.out), args.name, args.tau_l, args.tau_c, args.data,
                  Path(args.cache) if args.cache else None, add_gates=args.add_gates, f16=args.f16,
                  rescale=args.rescale_gates, static_reference=args.static_reference)
    print(json.dumps(card, indent=1), flush=True)
    print(f"wrote {args.out} and {fixtures_path(Path(args.out))}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
