"""Names a static reference in an exported model's card, or renames the model, leaving its tensors as they are.

    python -m lcnet_train.card_edit ../weights/lcnet-r20.safetensors --static-reference r20-backbone.safetensors \\
        [--reference-eval eval.json]
    python -m lcnet_train.card_edit ../weights/lcnet-r20-pruned.safetensors --name lcnet-r20-pruned

A jointly trained model's own weights, run with every block and channel, are out of calibration: the static
network it is compared with is its backbone, exported beside it. --reference-eval takes what
`lcnet eval -m <reference> --static --json` printed for that file and stores its accuracy in the card's
evaluation as `static_reference` (what `lcnet eval --sweep --write-card` writes for a model that names one).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from safetensors import safe_open
from safetensors.torch import save_file


def read_model(path: Path) -> tuple[dict, dict]:
    """(tensors, card) of a model file."""
    with safe_open(str(path), "pt") as f:
        meta = f.metadata() or {}
        tensors = {k: f.get_tensor(k) for k in f.keys()}
    if "lcnet" not in meta:
        raise ValueError(f"{path} has no lcnet model card")
    return tensors, json.loads(meta["lcnet"])


def _as_f32(v):
    """A card value as the Rust loader reads it: its floats rounded to f32 (the exporter writes f64 text)."""
    if isinstance(v, float):
        return float(np.float32(v))
    if isinstance(v, list):
        return [_as_f32(x) for x in v]
    if isinstance(v, dict):
        return {k: _as_f32(x) for k, x in v.items()}
    return v


def set_static_reference(path: Path, reference: str, reference_eval: dict | None = None) -> dict:
    """Writes `reference` into the card of the model at `path` (and, given the reference's `lcnet eval --json`
    report, its measured accuracy into the card's evaluation); returns the new card."""
    if "/" in reference or "\\" in reference or not reference.endswith(".safetensors"):
        raise ValueError(f"static reference {reference!r} must be a .safetensors file name beside the model")
    ref_path = path.parent / reference
    _, ref_card = read_model(ref_path)
    tensors, card = read_model(path)
    for key in ("arch", "classes", "input"):
        if _as_f32(ref_card[key]) != _as_f32(card[key]):
            raise ValueError(f"{ref_path} differs from {path} in its {key}")
    card["static_reference"] = reference
    if reference_eval is not None:
        if reference_eval.get("options", {}).get("mode") != "static":
            raise ValueError("--reference-eval must be the reference's static evaluation (lcnet eval --static --json)")
        ev = card.get("evaluation") or {}
        if "curve" not in ev:
            # the loader's typed evaluation is the whole measured curve; a reference's accuracy has no place alone
            raise ValueError(f"{path} has no evaluation curve yet: run lcnet eval --sweep --write-card on it first")
        ev["static_reference"] = {"file": reference, "name": ref_card["name"],
                                  "accuracy": reference_eval["accuracy"]}
        card["evaluation"] = ev
    save_file(tensors, str(path), metadata={"lcnet": json.dumps(card, separators=(",", ":"))})
    return card


def set_name(path: Path, name: str) -> dict:
    """Renames the model at `path` in its card (a shipped file moved to a new name keeps its card in step, so the
    page's model list and `lcnet info` say the file's name); returns the new card."""
    if not name or any(c.isspace() for c in name):
        raise ValueError(f"model name {name!r} must be non-empty, without spaces")
    tensors, card = read_model(path)
    card["name"] = name
    save_file(tensors, str(path), metadata={"lcnet": json.dumps(card, separators=(",", ":"))})
    return card


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model", help="model file to edit in place")
    ap.add_argument("--static-reference", metavar="FILE", help="model file beside it")
    ap.add_argument("--name", help="rename the model in its card")
    ap.add_argument("--reference-eval", metavar="JSON", help="lcnet eval -m <reference> --static --json output")
    args = ap.parse_args(argv)
    if not (args.static_reference or args.name):
        ap.error("nothing to do: give --static-reference, --name or both")
    if args.reference_eval and not args.static_reference:
        ap.error("--reference-eval needs --static-reference")
    if args.name:
        card = set_name(Path(args.model), args.name)
        print(json.dumps({"name": card["name"]}))
    if args.static_reference:
        ev = json.loads(Path(args.reference_eval).read_text()) if args.reference_eval else None
        card = set_static_reference(Path(args.model), args.static_reference, ev)
        print(json.dumps({"static_reference": card["static_reference"],
                          "evaluation.static_reference": (card.get("evaluation") or {}).get("static_reference")}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
