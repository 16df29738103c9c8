"""Average the weights of finished checkpoints of one run's restarts (stochastic weight averaging over cycles).

    python -m lcnet_train.average --ckpt checkpoints/r20_sandwich_t/last.pt checkpoints/r20_sandwich_u/last.pt \
        --out checkpoints/r20_swa_tu/last.pt

Warm restarts of one run (u continues t, t continues r) end in one basin of the loss; their mean often sits lower
in it than any of them (Izmailov et al. 2018, *Averaging Weights Leads to Wider Optima*). The checkpoints must
share architecture and gates, and their batch-norm statistics must be equal: with frozen statistics
(`sw_bn: "frozen"`) they are the backbone's in every checkpoint, so the mean network normalises exactly as each of
them did and needs no recalibration; checkpoints whose statistics differ are refused rather than silently mixed.
The result is a checkpoint `export.py` reads: the last input's config, optimizer state dropped, its provenance
listing what was averaged. An input may be an exported model file (`weights/*.safetensors`, read back by
`model_file.py`), so a shipped model can be averaged with restarts trained from it. `--weights` gives each input a
weight: a shipped mean of n restarts averaged with one more at weights n and 1 is the mean of all n + 1, without the
n checkpoints it was made from.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

from .model_file import load_checkpoint

STATISTICS = (".running_mean", ".running_var")
STAT_SUFFIXES = STATISTICS + (".num_batches_tracked",)


def averaged(name: str, v: torch.Tensor) -> bool:
    """Whether a state-dict entry is averaged: floating-point weights, not batch-norm statistics."""
    return v.is_floating_point() and not name.endswith(STAT_SUFFIXES)


class WeightAverage:
    """The running mean of a model's weights over the snapshots `add` is given (the trainer's `swa_every_steps`),
    in float64 so that many small updates do not round away. Batch-norm statistics are not averaged: the trainer
    allows an average only where they stay fixed (frozen statistics), so every snapshot has the same ones."""

    def __init__(self, n: int = 0, mean: dict | None = None, total: float | None = None):
        self.n = n
        self.total = float(n) if total is None else total  # sum of the snapshots' weights
        self.mean = mean or {}

    def add(self, state: dict, weight: float = 1.0):
        """Adds a snapshot with `weight` (> 0) to the (weighted) running mean."""
        self.n += 1
        self.total += weight
        for k, v in state.items():
            if averaged(k, v):
                v = v.detach().cpu().double()
                if k in self.mean:
                    self.mean[k] += (v - self.mean[k]) * weight / self.total
                else:
                    self.mean[k] = v.clone()

    def state_dict(self, like: dict) -> dict:
        """`like` (a model state dict) with its averaged entries replaced by the mean, in their own dtype."""
        if not self.n:
            raise ValueError("no snapshot averaged yet")
        return {k: (self.mean[k].to(v.dtype) if averaged(k, v) else v.detach().cpu().clone())
                for k, v in like.items()}

    def to_checkpoint(self) -> dict:
        return {"n": self.n, "total": self.total, "mean": {k: v.clone() for k, v in self.mean.items()}}

    @classmethod
    def from_checkpoint(cls, d: dict | None) -> "WeightAverage":
        return cls(d["n"], {k: v.clone() for k, v in d["mean"].items()}, d.get("total")) if d else cls()


def average(ckpts: list[dict], names: list[str], weights: list[float] | None = None) -> dict:
    """The mean of `ckpts`' model tensors (batch-norm statistics required equal), as a checkpoint dict; with
    `weights` (one positive number per checkpoint), the weighted mean."""
    if len(ckpts) < 2:
        raise ValueError("averaging needs at least two checkpoints")
    if weights is not None and (len(weights) != len(ckpts) or not all(w > 0 for w in weights)):
        raise ValueError(f"weights: one positive number per checkpoint ({len(ckpts)}), got {list(weights)}")
    first = ckpts[0]["model"]
    for name, ck in zip(names[1:], ckpts[1:]):
        if ck["config"]["depth"] != ckpts[0]["config"]["depth"]:
            raise ValueError(f"{name}: depth {ck['config']['depth']} != {ckpts[0]['config']['depth']}")
        if set(ck["model"]) != set(first):
            raise ValueError(f"{name}: tensor names differ from {names[0]}'s")
        for k, v in ck["model"].items():
            if v.shape != first[k].shape:
                raise ValueError(f"{name}: {k} has shape {tuple(v.shape)}, {names[0]} {tuple(first[k].shape)}")
            # num_batches_tracked is left out: batch norm reads it only without a momentum, and model files
            # do not carry it
            if k.endswith(STATISTICS) and not torch.equal(v, first[k]):
                raise ValueError(f"{name}: batch-norm statistics {k} differ from {names[0]}'s "
                                 "(only checkpoints trained on frozen statistics can be averaged as they are)")
    avg = WeightAverage()
    for ck, w in zip(ckpts, weights or [1.0] * len(ckpts)):
        avg.add(ck["model"], float(w))
    mean = avg.state_dict(first)
    last = ckpts[-1]
    out = {k: v for k, v in last.items() if k not in ("model", "optimizer", "rng")}
    out["model"] = mean
    out["run"] = f"mean of {', '.join(str(ck.get('run')) for ck in ckpts)}"
    out["averaged_from"] = [{"checkpoint": n, "run": ck.get("run"), "epoch": ck.get("epoch")}
                            for n, ck in zip(names, ckpts)]
    if weights is not None:
        for src, w in zip(out["averaged_from"], weights):
            src["weight"] = w
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ckpt", nargs="+", required=True,
                    help="finished checkpoints (last.pt) or model files (weights/*.safetensors) to average")
    ap.add_argument("--weights", nargs="+", type=float, metavar="W",
                    help="one positive weight per --ckpt (default: equal); e.g. 4 1 adds a fifth restart to a mean "
                         "of four")
    ap.add_argument("--out", required=True, help="where to write the averaged checkpoint")
    args = ap.parse_args(argv)
    try:
        ckpts = [load_checkpoint(p) for p in args.ckpt]
    except ValueError as e:
        raise SystemExit(str(e)) from None
    unfinished = [p for p, ck in zip(args.ckpt, ckpts) if not ck.get("done")]
    if unfinished:
        raise SystemExit(f"unfinished checkpoints (average finished runs only): {unfinished}")
    try:
        ck = average(ckpts, args.ckpt, args.weights)
    except ValueError as e:
        raise SystemExit(str(e)) from None
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    torch.save(ck, args.out)
    print(f"wrote {args.out}: mean of {len(ckpts)} checkpoints", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
