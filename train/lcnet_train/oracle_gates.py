"""Fit a trained LC-Net's L-Net gates to measured skip costs, with the backbone and C-Net gates fixed.

    python -m lcnet_train.oracle_gates --ckpt checkpoints/r20_lcnet/last.pt --out checkpoints/r20_lcnet_oracle/last.pt \\
        --delta 0.1 [--images 20000] [--sharpness 4]

Gradient training of the block gates on a trained network did not work here (train/README.md): a gate that scales
a block's residual costs accuracy long before it reaches zero, and one that crosses its threshold changes the
forward pass by a jump its gradient does not foresee. This module asks the network instead. For each training
image, block by block in forward order, on the path the gates fitted so far choose: run the rest of the network
with this block skipped too, and call the block *skippable* for that image when the gated network's output stays
within `delta` of the static network's (KL divergence, nats). Gate b is then a logistic regression of that label on
the pooled block input (the gate's own input), written into the gate as

    s_L = clamp(0.5 - sharpness * logit, 0, 1)

so that at tau_L = 0.5 the block is skipped exactly where the classifier says "skippable", and a kept block runs
unscaled (s_L = 1) once the logit is below -0.5 / sharpness. Moving tau_L trades accuracy for MACs around that
point. `delta` is a per-image budget: the later blocks only get what the earlier skips left.
"""
from __future__ import annotations

import argparse
import copy
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from . import data as D
from .model import ResNetCifar, load_state
from .model_file import load_checkpoint

TAU_L = 0.5


def _normalise(x_u8: torch.Tensor, mean, std) -> torch.Tensor:
    m = torch.tensor(mean).view(1, 3, 1, 1)
    s = torch.tensor(std).view(1, 3, 1, 1)
    return (D.to_nchw(x_u8).float() / 255.0 - m) / s


@torch.no_grad()
def _run_from(model: ResNetCifar, b: int, h: torch.Tensor, tau_c: float, batch: int) -> torch.Tensor:
    """Logits of blocks b.. (hard mode, current gates) and the classifier, from block b's input h."""
    out = []
    blocks = model.blocks()[b:]
    for i in range(0, len(h), batch):
        x = h[i:i + batch]
        for blk in blocks:
            x, _ = blk(x, "hard", TAU_L, tau_c)
        out.append(model.linear(x.mean(dim=(2, 3))))
    return torch.cat(out)


def _kl(teacher_logp: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
    return F.kl_div(logits.log_softmax(1), teacher_logp, reduction="none", log_target=True).sum(1)


def fit_logistic(feats: torch.Tensor, labels: torch.Tensor, l2: float = 1e-4, iters: int = 200):
    """Weights u and bias c of P(label = 1) = sigmoid(u . x + c), fitted on standardised features (full-batch
    L-BFGS), returned in the raw feature space."""
    mu, sd = feats.mean(0), feats.std(0).clamp_min(1e-6)
    z = (feats - mu) / sd
    u = torch.zeros(feats.shape[1], requires_grad=True)
    c = torch.zeros(1, requires_grad=True)
    y = labels.float()
    opt = torch.optim.LBFGS([u, c], max_iter=iters, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = F.binary_cross_entropy_with_logits(z @ u + c, y) + l2 * (u * u).sum()
        loss.backward()
        return loss

    if 0 < int(y.sum()) < len(y):
        opt.step(closure)
    else:  # one class only: a constant gate
        with torch.no_grad():
            c.fill_(10.0 if int(y.sum()) else -10.0)
    u_raw = (u / sd).detach()
    return u_raw, (c - (u.detach() / sd * mu).sum()).detach().reshape(())


def set_gate(gate: torch.nn.Linear, u: torch.Tensor, c: torch.Tensor, sharpness: float):
    """s_L = clamp(0.5 - sharpness * (u . p + c))."""
    with torch.no_grad():
        gate.weight.copy_((-sharpness * u).view_as(gate.weight))
        gate.bias.fill_(TAU_L - sharpness * float(c))


def fit(model: ResNetCifar, x: torch.Tensor, delta: float, sharpness: float, tau_c: float,
        batch: int = 500, log=print) -> list[dict]:
    """Fits every L-Net gate of `model` in place on the normalised images `x`; returns per-block statistics."""
    model.eval()
    blocks = model.blocks()
    for blk in blocks:  # every block on (s_L = 1) until fitted
        with torch.no_grad():
            blk.gate_l.weight.zero_()
            blk.gate_l.bias.fill_(1.5)
    with torch.no_grad():
        teacher = torch.cat([model(x[i:i + batch], mode="static").log_softmax(1) for i in range(0, len(x), batch)])
        h = torch.cat([F.relu(model.bn1(model.conv1(x[i:i + batch]))) for i in range(0, len(x), batch)])
    stats = []
    for b, blk in enumerate(blocks):
        t0 = time.time()
        with torch.no_grad():
            skipped_h = F.relu(blk.shortcut(h))
            kl_skip = _kl(teacher, _run_from(model, b + 1, skipped_h, tau_c, batch))
            label = kl_skip <= delta
            feats = h.mean(dim=(2, 3))
        u, c = fit_logistic(feats, label)
        set_gate(blk.gate_l, u, c, sharpness)
        with torch.no_grad():
            s_l = blk.gate_l(feats).clamp(0.0, 1.0).squeeze(1)
            skip = s_l <= TAU_L
            h = torch.cat([blk(h[i:i + batch], "hard", TAU_L, tau_c)[0] for i in range(0, len(h), batch)])
        st = dict(block=b, skippable=round(label.float().mean().item(), 4), skipped=round(skip.float().mean().item(), 4),
                  agree=round((skip == label).float().mean().item(), 4),
                  scaled=round(((s_l > TAU_L) & (s_l < 1)).float().mean().item(), 4), s=round(time.time() - t0, 1))
        log(f"block {b}: {st}")
        stats.append(st)
    return stats


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ckpt", required=True, help="a gates-phase checkpoint (last.pt) with L-Net gates")
    ap.add_argument("--out", required=True, help="checkpoint to write (same format, L-Net gates replaced)")
    ap.add_argument("--delta", type=float, default=0.1, help="per-image KL budget (nats) for skipped blocks")
    ap.add_argument("--sharpness", type=float, default=4.0)
    ap.add_argument("--images", type=int, default=20000, help="training images fitted on (seeded choice)")
    ap.add_argument("--tau-c", type=float, help="C-Net threshold the path runs at (default: the checkpoint's)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--data", help="CIFAR-10 JPEG tarball or binary folder (default: ../shared/data/...)")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    src = Path(args.ckpt)
    ck = load_checkpoint(src)
    cfg = ck["config"]
    model = ResNetCifar(cfg["depth"]).add_gates(True, True)
    load_state(model, ck["model"])
    tau_c = cfg.get("tau_c", 0.5) if args.tau_c is None else args.tau_c
    c10 = D.load(args.data, verbose=False)
    g = torch.Generator().manual_seed(args.seed)
    idx = torch.randperm(len(c10.train_y), generator=g)[:args.images]
    x = _normalise(torch.as_tensor(c10.train_x)[idx], ck["data"]["mean"], ck["data"]["std"])
    t0 = time.time()
    stats = fit(model, x, args.delta, args.sharpness, tau_c)
    wall = time.time() - t0
    out = copy.copy(ck)
    out["model"] = model.state_dict()
    # the backbone and C-Net gates are the gates phase's; the card's provenance records this step in its config
    out["config"] = {k: v for k, v in cfg.items() if k != "comment"}
    out["config"].update(tau_l=TAU_L, tau_c=tau_c, oracle_l_gates=dict(
        delta=args.delta, sharpness=args.sharpness, images=args.images, seed=args.seed, from_ckpt=str(src),
        wall_time_s=round(wall, 1), blocks=stats))
    out["run"] = f"{ck.get('run')}+oracle_l_gates"
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    torch.save(out, args.out)
    print(f"wrote {args.out} ({wall:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
