"""Train a CIFAR ResNet backbone (phase "backbone") or its LC-Net gates jointly with it (phase "gates").

    python -m lcnet_train.train --config r20_backbone [--resume] [--set key=value ...]

Runs unchanged under `torchrun --nproc_per_node N` (DistributedDataParallel; gloo on CPU, NCCL on GPUs):
the global batch stays `batch_size`, each rank takes every N-th image of it.

Exact resume: the epoch permutation is a function of (seed, epoch) and the augmentation of
(seed, epoch, step); the learning rate is a function of the global step. A checkpoint holds the model,
the optimizer (momentum buffers), the schedule position, RNG states, epoch, step and elapsed wall time.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import random
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from . import data as D
from .average import WeightAverage
from .gate_scale import rescale_gates
from .model import ResNetCifar, _used, load_state, soft_macs, static_macs, trace_of
from .model_file import load_checkpoint, source_path

TRAIN_DIR = D.TRAIN_DIR
CONFIG_DIR = TRAIN_DIR / "configs"

DEFAULTS = dict(
    name="run",
    depth=20,
    phase="backbone",            # "backbone" (gates off) or "gates" (gates inserted, joint training)
    epochs=60,
    batch_size=128,
    lr=0.2,                      # peak learning rate
    momentum=0.9,
    nesterov=True,
    weight_decay=5e-4,
    label_smoothing=0.1,
    schedule="onecycle",         # "onecycle" (linear warm-up, cosine down) or "cosine" (optional warm-up)
    warmup_frac=0.15,            # fraction of all steps spent warming up
    # Re-planned runs: [{"until_epoch": E, "epochs": N}, ...] means the schedule of epochs < E was computed for an
    # N-epoch run (what a run that was shortened part-way really did); later epochs follow `epochs`.
    schedule_plan=[],
    div_factor=25.0,             # onecycle: start lr = lr / div_factor
    final_div_factor=1e4,        # onecycle: final lr = start lr / final_div_factor
    seed=0,
    pad=4,
    flip=True,
    train_subset=None,           # int: use this many training images (seeded choice) — tests, smoke runs
    test_subset=None,
    eval_every=1,                # epochs
    eval_batch=1000,
    checkpoint_every_s=300.0,
    num_threads=2,
    # Speed: neither changes the model users get (float32 weights, exported as such).
    channels_last=False,         # NHWC activations and weights: same arithmetic, ~1.35x faster convolutions on CPU
    precision="fp32",            # "fp32" or "bf16": the training forward pass under bf16 autocast (float32 master
                                 # weights, optimizer and evaluation); ~1.8x faster on CPUs with AVX512-BF16
    # A run switched part-way: [{"until_step": S, "precision": P}, ...] means global steps < S ran at P.
    precision_plan=[],
    # --- phase "gates"
    init_from=None,              # checkpoint (relative to train/) whose model weights start this phase
    init_gates=False,            # also take the gates from init_from (fine-tune a trained LC-Net) rather than new ones
    teacher_from=None,           # checkpoint of the frozen teacher (its backbone, any depth; default: init_from), or a
                                 # list of them: an ensemble whose probabilities are averaged
    init_rescale_gates=0,        # N > 0 (with init_gates): rescale the loaded gates as the export's --rescale-gates N
                                 # does, so a fine-tune starts from the thresholds the shipped model's card means
    l_gate=True,
    c_gate=True,
    c_gate_input=True,           # False: the C-Net gates' weights stay 0, so they read nothing of the image and keep
                                 # the same channels for every image (a learned static pruning per threshold; the
                                 # L-Net alone decides per image)
    gate_init_std=0.01,
    gate_init_bias=0.95,
    gate_lr_mult=1.0,
    gate_l_lr_mult=1.0,          # the L-Net gates' learning rate: lr * gate_lr_mult * this (a fine-tune moves the few
                                 # block gates faster than the many channel gates, whose steps the pruned model's
                                 # decisions cannot absorb)
    gate_weight_decay=0.0,
    lambda_l=0.0,                # loss += lambda_l * mean(s_L)
    lambda_c=0.0,                # loss += lambda_c * mean(s_C)
    lambda_f=0.0,                # loss += lambda_f * (mean soft MACs / static MACs - rho)^2
    rho=0.4,
    macs_proxy="soft",           # usage in the lambda_f term: "soft" (gate values) or "ste" (non-zero gates, exact
                                 # MACs at thresholds 0, straight-through gradient)
    distill=0.0,                 # loss += distill * T^2 * KL(static logits of the same net || gated logits)
    distill_t=4.0,
    distill_teacher="self",      # "self": the same weights run statically; "init": the init_from weights, frozen
    rho_ramp_epochs=0.0,         # the compute target falls linearly from 1 to rho over this many epochs
    freeze_backbone=False,       # phase "gates": train the gates only; backbone weights and BN statistics stay as loaded
    gate_clamp_grad="exact",     # gradient of the gates' [0, 1] clamp in training: "exact", "upper" (straight
                                 # through above 1, so saturated gates can come back), "both"
    train_mode="soft",           # "soft", "hard" (thresholded gates in the forward pass) or "hard_ste" (the
                                 # same forward pass, the threshold's gradient passed straight through)
    tau_l=0.5,
    tau_c=0.5,
    # --- phase "gates", sandwich training (one set of weights for the whole compute range; see sandwich_step)
    sandwich=False,              # each step: the full network (every block and channel, factors 1) on the labels,
                                 # then gated passes at thresholds tau (tau_l = tau_c), distilled from the full one
    gate_budget=False,           # the gates also read a compute budget (a share of the static MACs): z = W p + c + v b;
                                 # the sandwich then draws budgets, not thresholds (tau_l/tau_c stay fixed)
    sw_budgets=[],               # budgets trained at every step (gate_budget)
    sw_budget_min=0.2,           # plus sw_random draws from [sw_budget_min, 1]
    eval_budgets=[],             # budgets evaluated after each epoch (gate_budget)
    sw_taus=[],                  # thresholds trained at every step (e.g. the default operating point)
    sw_random=1,                 # plus this many thresholds drawn uniformly from [0, sw_tau_max] per step
    sw_tau_max=0.6,
    sw_rho=[0.85, 0.25],         # compute target at tau 0 and at sw_tau_max (linear between): MACs / static
    sw_mode="hard_st",           # gated passes: "hard_st" (gradient to the gates' pre-activations, even when clamped)
                                 # or "hard_ste" (gradient to the clamped gate values: a gate at 0 or 1 hears nothing)
    sw_teacher="full",           # what the gated passes are distilled from: "full" (this step's full pass, in place)
                                 # or "init" (the frozen init_from network)
    sw_full_kd=0.0,              # full pass: loss += sw_full_kd * T^2 * KL(init_from network || full), which anchors
                                 # the static side to the backbone it started from (needs sw_teacher "init")
    sw_full=1.0,                 # weight of the full pass's loss; 0 skips the pass (the static side is then not trained:
                                 # a model trained so ships its backbone as the static reference; needs sw_teacher "init")
    sw_ce=0.5,                   # gated passes: loss = sw_ce * CE(labels) + distill * T^2 * KL(full || gated)
    sw_bn="frozen",              # "frozen": every pass normalises with the running statistics loaded from the
                                 # backbone, which stay fixed (training computes exactly what inference does);
                                 # "gated_running": only the gated passes do (the full pass updates them);
                                 # "batch": every pass uses batch statistics (only the full pass updates the running ones);
                                 # "gated_batch": the gated passes use batch statistics and the step's first one (the
                                 # default threshold, sw_taus[0]) updates the running ones (for sw_full 0: BN follows
                                 # the gated network, as the joint recipe's soft pass did)
    rate_band=[0.1, 0.9],        # each block's share of images that run it, per gated pass, is held in this band
    lambda_band=0.0,             # loss += lambda_band * sum_b (relu(lo - rate_b)^2 + relu(rate_b - hi)^2)
    lambda_polar=0.0,            # gated passes: loss += lambda_polar * mean over gate outputs of (1 - factor) where a
                                 # unit runs with a factor below 1 (kept units pulled to the static side's factor 1)
    band_exempt_first=True,      # a stage's first (downsampling) block may run for every image
    band_free_stages=[],         # stages (1-3) whose blocks the band leaves alone: they may run for every image (or
                                 # none), so the compute term takes its savings elsewhere
    stage_bands=[],              # per stage (1-3), a [lo, hi] band in place of rate_band, or null to keep it: e.g.
                                 # [[0.7, 0.95], null, null] holds stage 1's blocks on for most images (depth kept,
                                 # savings taken from channels, as the pruned lcnet-r56 spends its stage 1)
    macs_l_grad=1.0,             # gated passes: the share of the compute term's gradient that reaches the L gates
                                 # (the MACs themselves stay exact); below 1 the savings move from blocks to channels
    usage_t=0.0,                 # "hard_st": > 0 gives the usage (compute and band terms) the gradient of
                                 # sigmoid((z - tau) / usage_t) rather than of z (see model._gate_st)
    gate_input_grad=True,        # "hard_st": gradients of the gated passes reach the backbone through the gates' inputs
    grad_clip=0.0,               # > 0: clip the global gradient norm to this (sandwich runs)
    eval_taus=[],                # thresholds evaluated after each epoch (tau_l = tau_c), besides tau_l/tau_c
    swa_every_steps=0,           # > 0: stochastic weight averaging: every this many steps the weights join a running
                                 # mean, which becomes the model at the end of the run (the last iterate is kept as
                                 # the checkpoint's model_last); needs BN statistics that stay fixed (sandwich with
                                 # sw_bn "frozen", or freeze_backbone), so the mean network needs no recalibration
)


# ---------------------------------------------------------------- config

def read_config_file(p: Path, _chain: tuple[Path, ...] = ()) -> dict:
    """A config file's keys, its `base` resolved: a config may name another ("base": "<name>", looked for beside
    it, then in train/configs/; or a JSON file's path relative to it), which is read first (recursively) and
    which this file's keys then override. `base` itself and the base's `name` and `comment` are dropped, so each
    config keeps its own. Defaults are not filled in (see load_config)."""
    p = Path(p).resolve()
    if p in _chain:
        raise ValueError("config base cycle: " + " -> ".join(q.name for q in (*_chain, p)))
    user = json.loads(p.read_text())
    unknown = set(user) - set(DEFAULTS) - {"comment", "base"}
    if unknown:
        raise KeyError(f"{p}: unknown config keys {sorted(unknown)}")
    base = user.pop("base", None)
    if base is None:
        return user
    if not isinstance(base, str) or not base:
        raise ValueError(f"{p}: base must be a config name, not {base!r}")
    tried = [p.parent / base] if Path(base).suffix else [p.parent / f"{base}.json", CONFIG_DIR / f"{base}.json"]
    found = next((q for q in tried if q.is_file()), None)
    if found is None:
        raise FileNotFoundError(f"{p}: base config {base!r} not found (looked for "
                                f"{', '.join(str(q) for q in dict.fromkeys(tried))})")
    cfg = {k: v for k, v in read_config_file(found, (*_chain, p)).items() if k not in ("name", "comment")}
    cfg.update(user)
    return cfg


def load_config(name_or_path: str | None, overrides: list[str] = ()) -> dict:
    """DEFAULTS, then the config (a name in train/configs/ or a JSON file's path, its base chain resolved: see
    read_config_file), then the --set overrides."""
    cfg = dict(DEFAULTS)
    if name_or_path:
        p = Path(name_or_path)
        if not p.suffix:
            p = CONFIG_DIR / f"{name_or_path}.json"
        cfg.update(read_config_file(p))
    for kv in overrides:
        k, _, v = kv.partition("=")
        if k not in DEFAULTS:
            raise KeyError(f"--set {k}: unknown config key")
        try:
            cfg[k] = json.loads(v)
        except json.JSONDecodeError:
            cfg[k] = v
    return cfg


def planned_epochs(cfg: dict, epoch: int) -> int:
    """Run length (epochs) the lr schedule assumed while training epoch `epoch` (0-based)."""
    for seg in sorted(cfg.get("schedule_plan") or [], key=lambda s: s["until_epoch"]):
        if epoch < seg["until_epoch"]:
            return int(seg["epochs"])
    return int(cfg["epochs"])


def precision_at(cfg: dict, gstep: int) -> str:
    """Precision the training forward pass used (or uses) at global step `gstep`."""
    for seg in sorted(cfg.get("precision_plan") or [], key=lambda s: s["until_step"]):
        if gstep < seg["until_step"]:
            return seg["precision"]
    return cfg["precision"]


def plan_reproduces(old_cfg: dict, new_cfg: dict, used_at, done: int) -> bool:
    """Whether a changed plan says the same as the old one about each of the `done` units (epochs or global steps)
    already trained; `used_at(cfg, i)` is what unit `i` ran with under `cfg`."""
    old, new = {**DEFAULTS, **old_cfg}, {**DEFAULTS, **new_cfg}
    return all(used_at(old, i) == used_at(new, i) for i in range(done))


def autocast(device: torch.device, precision: str):
    if precision not in ("fp32", "bf16"):
        raise ValueError(f"precision {precision!r}: fp32 or bf16")
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=precision == "bf16")


def lr_factor(cfg: dict, step: int, total: int) -> float:
    """Learning-rate multiplier at global step `step` (0-based) of `total`."""
    warm = int(round(cfg["warmup_frac"] * total))
    if cfg["schedule"] == "onecycle":
        lo = 1.0 / cfg["div_factor"]
        end = lo / cfg["final_div_factor"]
        if step < warm:
            return lo + (1.0 - lo) * step / max(1, warm)
        t = (step - warm) / max(1, total - warm)
        return end + (1.0 - end) * 0.5 * (1.0 + math.cos(math.pi * min(1.0, t)))
    if cfg["schedule"] == "cosine":
        if step < warm:
            return (step + 1) / warm
        t = (step - warm) / max(1, total - warm)
        return 0.5 * (1.0 + math.cos(math.pi * min(1.0, t)))
    if cfg["schedule"] == "constant":
        return 1.0
    raise ValueError(f"schedule {cfg['schedule']!r}")


# ---------------------------------------------------------------- distributed

def dist_setup():
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world == 1:
        return 0, 1, None
    import torch.distributed as dist
    backend = "nccl" if torch.cuda.is_available() else "gloo"
    dist.init_process_group(backend)
    return dist.get_rank(), dist.get_world_size(), dist


def pick_device(rank: int) -> torch.device:
    if torch.cuda.is_available() and os.environ.get("LCNET_CPU") != "1":
        local = int(os.environ.get("LOCAL_RANK", rank))
        torch.cuda.set_device(local % torch.cuda.device_count())
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")


def sync_buffers(model, dist):
    """BN running statistics differ per rank (each sees its own images): take rank 0's."""
    if dist is None:
        return
    for b in model.buffers():
        dist.broadcast(b, 0)


# ---------------------------------------------------------------- checkpoints

def save_checkpoint(path: Path, state: dict):
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)


def rng_states() -> dict:
    return dict(torch=torch.get_rng_state(), numpy=np.random.get_state(), python=random.getstate())


def set_rng_states(s: dict):
    torch.set_rng_state(s["torch"])
    np.random.set_state(s["numpy"])
    random.setstate(s["python"])


# ---------------------------------------------------------------- evaluation

@torch.no_grad()
def evaluate(model, x_u8: torch.Tensor, y: torch.Tensor, norm, cfg: dict, device) -> dict:
    """Static accuracy; for gated models also soft and hard (at tau_l, tau_c) accuracy and MACs."""
    was = model.training
    model.eval()
    modes = ["static"] + (["hard"] if model.has_gates else [])
    extra = [float(t) for t in cfg.get("eval_taus") or []] if model.has_gates else []
    if model.has_gates and cfg.get("gate_budget"):
        extra = [("b", float(b)) for b in cfg.get("eval_budgets") or []]
    correct = {m: 0 for m in modes}
    macs = {m: 0.0 for m in modes}
    exe = None
    sweep = {t: dict(correct=0, macs=0.0, exe=0.0) for t in extra}
    for i in range(0, len(y), cfg["eval_batch"]):
        xb = norm(x_u8[i:i + cfg["eval_batch"]].to(device))
        if cfg["channels_last"]:
            xb = xb.contiguous(memory_format=torch.channels_last)
        yb = y[i:i + cfg["eval_batch"]].to(device)
        for m in modes:
            logits, infos = model(xb, mode=m, tau_l=cfg["tau_l"], tau_c=cfg["tau_c"], trace=True,
                                  budget=default_budget(cfg))
            correct[m] += (logits.argmax(1) == yb).sum().item()
            tr = trace_of(model, infos, m, cfg["tau_l"], cfg["tau_c"])
            macs[m] += tr.macs.double().sum().item()
            if m == "hard":
                e = tr.executed.double().sum(0)
                exe = e if exe is None else exe + e
        for t, acc in sweep.items():
            tau, budget = (float(cfg["tau_l"]), t[1]) if isinstance(t, tuple) else (t, None)
            logits, infos = model(xb, mode="hard", tau_l=tau, tau_c=tau, trace=True, budget=budget)
            tr = trace_of(model, infos, "hard", tau, tau)
            acc["correct"] += (logits.argmax(1) == yb).sum().item()
            acc["macs"] += tr.macs.double().sum().item()
            acc["exe"] = acc["exe"] + tr.executed.double().sum(0)
    model.train(was)
    n = len(y)
    out = {f"acc_{m}": correct[m] / n for m in modes}
    s = static_macs(model)
    for m in modes:
        out[f"macs_{m}"] = macs[m] / n
        out[f"macs_frac_{m}"] = macs[m] / n / s
    if exe is not None:
        out["block_exec_rate"] = [round(v, 4) for v in (exe / n).tolist()]
    if sweep:
        out["sweep"] = [dict(**({"budget": t[1]} if isinstance(t, tuple) else {"tau": t}), acc=a["correct"] / n, macs_frac=round(a["macs"] / n / s, 4),
                             **blocks_summary(a["exe"] / n)) for t, a in sweep.items()]
    return out


def default_budget(cfg: dict) -> float | None:
    """The budget the trainer's default evaluation feeds gates that read one: the first trained budget."""
    if not cfg.get("gate_budget"):
        return None
    return float(cfg["sw_budgets"][0]) if cfg.get("sw_budgets") else 1.0


def blocks_summary(rate: torch.Tensor) -> dict:
    """Per-block execution rates, and how many blocks are chosen per image (rate in [0.05, 0.95]) or never run
    (rate < 0.005): the issue's measures of a per-image L-Net."""
    return dict(chosen=int(((rate >= 0.05) & (rate <= 0.95)).sum()), never=int((rate < 0.005).sum()),
                rates=[round(v, 3) for v in rate.tolist()])


def rescale_init_gates(model: ResNetCifar, cfg: dict, images, log) -> None:
    """With init_rescale_gates N, rescales the gates loaded from init_from on `images(N)` (normalised training
    images) exactly as the export's --rescale-gates N does: a trained LC-Net's raw gates sit at an arbitrary
    scale, and only the rescaled ones give its card's thresholds their meaning (try i fine-tuned the raw ones
    at the shipped model's threshold and collapsed)."""
    n = int(cfg["init_rescale_gates"])
    if not n:
        return
    if not cfg["init_gates"]:
        raise ValueError("init_rescale_gates needs init_gates (gates loaded from init_from)")
    log(f"gates rescaled on {n} training images: {rescale_gates(model, images(n)).as_dict()}")


# ---------------------------------------------------------------- training

def build_model(cfg: dict, device, log, load_init: bool = True) -> tuple[ResNetCifar, list]:
    """The model, and the earlier phases it builds on (for the model card's provenance)."""
    model = ResNetCifar(cfg["depth"])
    phases = []
    if cfg["phase"] == "gates":
        if cfg["init_from"] and load_init:
            src = source_path(cfg["init_from"], TRAIN_DIR)
            ck = load_checkpoint(src)
            load_state(model, {k: v for k, v in ck["model"].items() if ".gate_" not in k})
            log(f"backbone weights from {src} (epoch {ck['epoch']})")
            phases = ck.get("phases", []) + [dict(run=ck.get("run"), phase=ck["config"]["phase"], epochs=ck["epoch"],
                                                  wall_time_s=round(ck["elapsed_s"], 1),
                                                  final=ck["history"][-1] if ck.get("history") else None)]
        model.add_gates(cfg["l_gate"], cfg["c_gate"], cfg["gate_init_std"], cfg["gate_init_bias"],
                        seed=D._mix(cfg["seed"], 0x6A7E))
        if cfg["init_gates"] and load_init:
            gates = {k: v for k, v in ck["model"].items() if ".gate_" in k}
            if not gates:
                raise ValueError(f"init_gates: {src} holds no gates")
            missing = set(k for k in model.state_dict() if ".gate_" in k) - set(gates)
            if missing:
                raise ValueError(f"init_gates: {src} lacks {sorted(missing)[:3]}")
            model.load_state_dict(gates, strict=False)
            log(f"gates from {src}")
        if not cfg["c_gate_input"]:
            for blk in model.blocks():
                if blk.gate_c is not None:
                    with torch.no_grad():
                        blk.gate_c.weight.zero_()
                    blk.gate_c.weight.requires_grad_(False)
        model.set_clamp_grad(cfg["gate_clamp_grad"])
        if cfg["gate_budget"]:
            model.add_budget_input()
        for blk in model.blocks():
            blk.gate_input_grad = bool(cfg["gate_input_grad"])
            blk.usage_t = float(cfg["usage_t"])
    elif cfg["phase"] != "backbone":
        raise ValueError(f"phase {cfg['phase']!r}")
    return model.to(device), phases


def set_train_mode(model: ResNetCifar, cfg: dict):
    """Training mode; with freeze_backbone the BatchNorms keep using (and keeping) their running statistics."""
    model.train()
    if cfg["phase"] == "gates" and cfg["freeze_backbone"]:
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.eval()


def make_optimizer(model: ResNetCifar, cfg: dict):
    gate, gate_l, rest = [], [], []
    freeze = cfg["phase"] == "gates" and cfg["freeze_backbone"]
    for name, p in model.named_parameters():
        if not p.requires_grad:  # e.g. C-Net weights held at 0 (c_gate_input false)
            continue
        if ".gate_l." in name and cfg["gate_l_lr_mult"] != 1.0:
            gate_l.append(p)
        elif ".gate_" in name or ".budget_" in name:
            gate.append(p)
        elif freeze:
            p.requires_grad_(False)
        else:
            rest.append(p)
    groups = [dict(params=rest, lr=cfg["lr"], weight_decay=cfg["weight_decay"], base_lr=cfg["lr"])] if rest else []
    if gate:
        glr = cfg["lr"] * cfg["gate_lr_mult"]
        groups.append(dict(params=gate, lr=glr, weight_decay=cfg["gate_weight_decay"], base_lr=glr))
    if gate_l:
        glr = cfg["lr"] * cfg["gate_lr_mult"] * cfg["gate_l_lr_mult"]
        groups.append(dict(params=gate_l, lr=glr, weight_decay=cfg["gate_weight_decay"], base_lr=glr))
    return torch.optim.SGD(groups, lr=cfg["lr"], momentum=cfg["momentum"], nesterov=cfg["nesterov"])


def subset(n: int, k, seed: int, salt: int) -> torch.Tensor:
    if k is None or k >= n:
        return torch.arange(n)
    g = torch.Generator().manual_seed(D._mix(seed, salt))
    return torch.randperm(n, generator=g)[:k].sort().values


def ramped(rho: float, cfg: dict, epochs_done: float) -> float:
    """A compute target `rho` after `epochs_done` (fractional) epochs of this phase: during the first
    rho_ramp_epochs it falls linearly from 1 to rho."""
    ramp = cfg["rho_ramp_epochs"]
    if ramp <= 0:
        return rho
    return 1.0 - (1.0 - rho) * min(1.0, epochs_done / ramp)


def rho_at(cfg: dict, epochs_done: float) -> float:
    """The compute target after `epochs_done` (fractional) epochs of this phase."""
    return ramped(cfg["rho"], cfg, epochs_done)


def make_teacher(cfg: dict, device):
    """The frozen static network distillation reads when distill_teacher (sandwich: sw_teacher) is "init"."""
    if cfg["sandwich"]:
        if cfg["sw_teacher"] != "init":
            return None
    elif not cfg["distill"] or cfg["distill_teacher"] == "self":
        return None
    if not (cfg["teacher_from"] or cfg["init_from"]) or (not cfg["sandwich"] and cfg["distill_teacher"] != "init"):
        raise ValueError("a frozen teacher (distill_teacher / sw_teacher \"init\") needs init_from or teacher_from")
    srcs = cfg["teacher_from"] or cfg["init_from"]
    nets = [_frozen_backbone(src, cfg["depth"]) for src in (srcs if isinstance(srcs, list) else [srcs])]
    teacher = nets[0] if len(nets) == 1 else Ensemble(nets)
    return teacher.to(device).eval()


def _frozen_backbone(src, depth: int):
    ck = load_checkpoint(source_path(src, TRAIN_DIR))
    # the teacher keeps its own depth (e.g. an R56 backbone distilled into an R20), read from its checkpoint
    net = ResNetCifar(ck.get("config", {}).get("depth", depth))
    load_state(net, {k: v for k, v in ck["model"].items() if ".gate_" not in k})
    for p in net.parameters():
        p.requires_grad_(False)
    return net


class Ensemble(torch.nn.Module):
    """Frozen static networks read as one teacher: the log of their mean probabilities (an ensemble is a
    better teacher than its best member: the R56 and R20 backbones score 89.33 % and 87.74 % alone, 90.34 %
    together). Softmax of the output is the mean, so distillation at temperature 1 reads the ensemble exactly."""

    def __init__(self, nets):
        super().__init__()
        self.nets = torch.nn.ModuleList(nets)

    def forward(self, x, mode: str = "static"):
        probs = torch.stack([n(x, mode=mode).float().softmax(1) for n in self.nets]).mean(0)
        return probs.clamp_min(1e-12).log()


def gate_loss(model, infos, cfg, logits, x, static_macs_total, rho=None, teacher=None):
    terms = {}
    sl = [i["s_l"] for i in infos if i["s_l"] is not None]
    sc = [i["s_c"] for i in infos if i["s_c"] is not None]
    if sl and cfg["lambda_l"]:
        terms["l"] = cfg["lambda_l"] * torch.stack(sl, 1).mean()
    if sc and cfg["lambda_c"]:
        terms["c"] = cfg["lambda_c"] * torch.cat(sc, 1).mean()
    if cfg["lambda_f"]:
        # MACs as the forward pass ran them: thresholds 0 for soft gates, tau for hard ones
        hard = cfg["train_mode"] != "soft"
        frac = soft_macs(model, infos, cfg["macs_proxy"], cfg["tau_l"] if hard else 0.0,
                         cfg["tau_c"] if hard else 0.0).mean() / static_macs_total
        terms["f"] = cfg["lambda_f"] * (frac - (cfg["rho"] if rho is None else rho)) ** 2
    if cfg["lambda_band"] and sl:
        # the band on each block's share of images that run it (thresholds 0 for soft gates, tau_l for hard
        # ones), its gradient passed straight through to the gate's pre-activation, so it reaches a gate the
        # clamp holds at 0 for every image: the joint recipe then cannot prune a block for every image
        tau = cfg["tau_l"] if cfg["train_mode"] != "soft" else 0.0
        for info in infos:
            if info["s_l"] is not None:
                on = (info["s_l"] > tau).to(info["z_l"].dtype)
                info["ul"] = info["z_l"] + (on - info["z_l"]).detach()
        terms["band"] = cfg["lambda_band"] * band_loss(model, infos, cfg)
    if cfg["distill"] and teacher is not None:
        with torch.no_grad():
            t_logits = teacher(x, mode="static")
        terms["kd"] = cfg["distill"] * _kd(logits, t_logits, cfg["distill_t"])
    elif cfg["distill"]:
        # teacher: the same weights run statically, BN on batch statistics as in training, but without
        # touching the running statistics (momentum 0 for this pass)
        with _BatchStatsKept(model, True), torch.no_grad():
            t_logits = model(x, mode="static")
        terms["kd"] = cfg["distill"] * _kd(logits, t_logits, cfg["distill_t"])
    return terms


def _tau_draws(cfg: dict, seed: int) -> list[float]:
    """The thresholds of one sandwich step: the fixed ones, then sw_random draws from [0, sw_tau_max] (a function
    of the seed, so a resumed run draws the same). With gate_budget: the budgets, likewise."""
    g = torch.Generator().manual_seed(seed)
    u = torch.rand(int(cfg["sw_random"]), generator=g)
    if cfg["gate_budget"]:
        lo = float(cfg["sw_budget_min"])
        return [float(b) for b in cfg["sw_budgets"]] + (lo + (1.0 - lo) * u).tolist()
    return [float(t) for t in cfg["sw_taus"]] + (u * cfg["sw_tau_max"]).tolist()


def _pass_setting(cfg: dict, draw: float, epochs_done: float) -> tuple[float, float | None, float]:
    """(tau, budget, compute target) of a gated pass for one draw."""
    if cfg["gate_budget"]:
        return float(cfg["tau_l"]), draw, ramped(draw, cfg, epochs_done)
    return draw, None, sw_rho_at(cfg, draw, epochs_done)


def sw_rho_at(cfg: dict, tau: float, epochs_done: float = math.inf) -> float:
    """The compute target (MACs / static) of a gated pass at threshold tau: linear from sw_rho[0] at 0 to
    sw_rho[1] at sw_tau_max; during the first rho_ramp_epochs it falls linearly from 1 to that."""
    r0, r1 = cfg["sw_rho"]
    t = min(1.0, max(0.0, tau / max(1e-9, float(cfg["sw_tau_max"]))))
    return ramped(r0 + (r1 - r0) * t, cfg, epochs_done)


class _RunningStatsBN:
    """Within the block, every BatchNorm normalises with its running statistics and leaves them alone (as at
    inference); the rest of the model stays in training mode."""

    def __init__(self, model, on: bool):
        self.bns = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)] if on else []

    def __enter__(self):
        self.was = [m.training for m in self.bns]
        for m in self.bns:
            m.train(False)

    def __exit__(self, *exc):
        for m, w in zip(self.bns, self.was):
            m.train(w)


class _BatchStatsKept:
    """Within the block, BatchNorms use batch statistics but leave the running ones alone (momentum 0)."""

    def __init__(self, model, on: bool):
        self.bns = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)] if on else []

    def __enter__(self):
        self.saved = [(m.momentum, m.num_batches_tracked.clone()) for m in self.bns]
        for m in self.bns:
            m.momentum = 0.0

    def __exit__(self, *exc):
        for m, (mom, nbt) in zip(self.bns, self.saved):
            m.momentum = mom
            m.num_batches_tracked.copy_(nbt)


def polar_loss(infos) -> torch.Tensor:
    """Mean, over every gate output of a gated pass, of 1 - factor where the unit runs scaled below 1: kept
    blocks and channels are pulled towards the factor 1 the static side runs them at."""
    terms = []
    for info in infos:
        for f in (info["fl"], info["fc"]):
            if f is None:
                continue
            v = f.detach()
            scaled = ((v > 0) & (v < 1)).to(f.dtype)
            terms.append((scaled * (1.0 - f)).mean())
    return torch.stack(terms).mean() if terms else torch.zeros(())


def band_loss(model, infos, cfg) -> torch.Tensor:
    """Each block's batch share of images that run it, held in rate_band: no block may be off for every image
    (pruned) or, unless exempt, on for every image (ConvNet-AIG's per-layer target rate, as a band)."""
    bands = list(cfg["stage_bands"] or [])
    total = None
    for i, (blk, info) in enumerate(zip(model.blocks(), infos)):
        stage = i // model.n + 1
        if info["ul"] is None or stage in cfg["band_free_stages"]:
            continue
        own = bands[stage - 1] if stage <= len(bands) else None
        lo, hi = own if own is not None else cfg["rate_band"]
        rate = info["ul"].float().mean()
        term = F.relu(lo - rate) ** 2
        if not (cfg["band_exempt_first"] and blk.downsample):
            term = term + F.relu(rate - hi) ** 2
        total = term if total is None else total + term
    return total if total is not None else torch.zeros(())


def _kd(logits: torch.Tensor, teacher: torch.Tensor, t: float) -> torch.Tensor:
    """T^2 * KL(teacher || student) at temperature t."""
    return t * t * F.kl_div(F.log_softmax(logits / t, 1), F.log_softmax(teacher / t, 1), reduction="batchmean",
                            log_target=True)


def sandwich_step(model, xb, yb, cfg, smacs, seed, precision, device, epochs_done: float = math.inf,
                  teacher=None) -> tuple[torch.Tensor, torch.Tensor, dict]:
    """One training step of the sandwich recipe; runs backward itself (one pass at a time, so only one graph is
    held) and returns (the full pass's logits, the total loss, per-term values) for the progress line.

    1. the full network, every block and channel at factor 1 (what "static" means at inference), on the labels:
       this keeps the static side a calibrated network and is the teacher of the gated passes;
    2. gated passes in the inference's thresholded forward pass ("hard_st") at each threshold of the step, with
       the gradient passed straight through to the gates: loss = sw_ce * CE + distill * T^2 * KL(full || gated)
       + lambda_f * (MACs/static - rho(tau))^2 + lambda_band * band, so one set of weights serves every
       threshold and each threshold means a compute target."""
    terms = {}
    if cfg["sw_bn"] not in ("frozen", "gated_running", "batch", "gated_batch"):
        raise ValueError(f"sw_bn {cfg['sw_bn']!r}")
    t = cfg["distill_t"]
    if cfg["sw_teacher"] == "init":
        if teacher is None:
            raise ValueError('sw_teacher "init" needs the init_from network')
        with torch.no_grad(), autocast(device, precision):
            t_logits = teacher(xb, mode="static").float()
    elif cfg["sw_teacher"] != "full":
        raise ValueError(f"sw_teacher {cfg['sw_teacher']!r}")
    total = torch.zeros(())
    full = None
    if cfg["sw_full"]:
        with _RunningStatsBN(model, cfg["sw_bn"] == "frozen"), autocast(device, precision):
            full = model(xb, mode="static").float()
            loss_full = F.cross_entropy(full, yb, label_smoothing=cfg["label_smoothing"])
            if cfg["sw_full_kd"]:
                if cfg["sw_teacher"] != "init":
                    raise ValueError('sw_full_kd needs sw_teacher "init"')
                loss_full = loss_full + cfg["sw_full_kd"] * _kd(full, t_logits, t)
            loss_full = cfg["sw_full"] * loss_full
        loss_full.backward()
        terms["full"] = loss_full.item()
        total = loss_full.detach()
    if cfg["sw_teacher"] == "full":
        if full is None:
            raise ValueError('sw_teacher "full" needs the full pass (sw_full > 0)')
        t_logits = full.detach()
    batch_bn = cfg["sw_bn"] in ("batch", "gated_batch")
    with _RunningStatsBN(model, not batch_bn):
        for i, draw in enumerate(_tau_draws(cfg, seed)):
            tau, budget, rho = _pass_setting(cfg, draw, epochs_done)
            keep_running = batch_bn and not (cfg["sw_bn"] == "gated_batch" and i == 0)
            with _BatchStatsKept(model, keep_running), autocast(device, precision):
                logits, infos = model(xb, mode=cfg["sw_mode"], tau_l=tau, tau_c=tau, trace=True, budget=budget)
                if cfg["sw_mode"] == "hard_ste":  # usage with the gate values' gradient, for the terms below
                    for info in infos:
                        info["ul"] = _used(info["s_l"], tau) if info["s_l"] is not None else None
                        info["uc"] = _used(info["s_c"], tau) if info["s_c"] is not None else None
                logits = logits.float()
                loss = cfg["sw_ce"] * F.cross_entropy(logits, yb, label_smoothing=cfg["label_smoothing"])
                if cfg["distill"]:
                    loss = loss + cfg["distill"] * _kd(logits, t_logits, t)
                frac = soft_macs(model, infos, "st", l_grad=cfg["macs_l_grad"]).mean() / smacs
                if cfg["lambda_f"]:
                    loss = loss + cfg["lambda_f"] * (frac - rho) ** 2
                if cfg["lambda_band"]:
                    loss = loss + cfg["lambda_band"] * band_loss(model, infos, cfg)
                if cfg["lambda_polar"]:
                    loss = loss + cfg["lambda_polar"] * polar_loss(infos)
            loss.backward()
            terms[f"t{i}"] = round(draw, 3)
            terms[f"m{i}"] = round(frac.item(), 3)
            total = total + loss.detach()
            if full is None:
                full = logits.detach()  # the progress line's accuracy: the first gated pass's
    return full, total, terms


def arg_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", required=True,
                    help="name in train/configs/ or a JSON file (its \"base\" config, if any, read first)")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a config value")
    ap.add_argument("--run-name", dest="run", help="run name (default: the config's name); not --run, which torchrun would claim")
    ap.add_argument("--resume", action="store_true", help="continue from <out>/<run>/last.pt when it exists")
    ap.add_argument("--data", help="JPEG tarball or folder of binary batches (default ../shared/..., env LCNET_DATA)")
    ap.add_argument("--cache", help="decoded-array cache (default train/.cache, env LCNET_CACHE)")
    ap.add_argument("--out", default=str(TRAIN_DIR / "checkpoints"), help="checkpoint root")
    ap.add_argument("--log-folder", dest="logs", default=str(TRAIN_DIR / "logs"), help="log folder (not --logs: torchrun claims it)")
    ap.add_argument("--max-steps", type=int, help="stop (after checkpointing) at this global step")
    ap.add_argument("--no-progress", action="store_true")
    ap.add_argument("--dump-rank-state", metavar="DIR", help="each rank writes its final state dict here (tests)")
    return ap


# Keys that change how often we look, not what is trained: a resume may alter them.
RESUME_MAY_CHANGE = {"comment", "eval_every", "eval_batch", "checkpoint_every_s", "num_threads", "channels_last"}


def resume_checkpoint(ckpt_path: Path, cfg: dict, run: str, log):
    """The checkpoint to continue from, refusing one whose config differs from `cfg` in anything but
    how often we look, or a re-plan/precision switch that reproduces every step already trained."""
    ck = torch.load(ckpt_path, map_location="cpu", weights_only=False)
    # keys added to DEFAULTS after the checkpoint was written count as their default
    changed = {k: (ck["config"].get(k, DEFAULTS.get(k)), cfg.get(k, DEFAULTS.get(k)))
               for k in (set(cfg) | set(ck["config"])) - RESUME_MAY_CHANGE
               if ck["config"].get(k, DEFAULTS.get(k)) != cfg.get(k, DEFAULTS.get(k))}
    # A re-plan (shorter or longer run) is accepted only when the new plan reproduces every epoch already
    # trained, so the config alone still says exactly what the run did.
    if changed and set(changed) <= {"epochs", "schedule_plan"}:
        started = ck["epoch"] + (1 if ck["step"] else 0)
        if plan_reproduces(ck["config"], cfg, planned_epochs, started) and cfg["epochs"] > ck["epoch"]:
            log(f"{run}: re-planned at epoch {ck['epoch']}: {changed}")
            changed = {}
    # A precision switch likewise: the new plan must say what every step already trained ran at.
    if changed and set(changed) <= {"precision", "precision_plan"}:
        done_steps = ck["schedule"]["global_step"]
        if plan_reproduces(ck["config"], cfg, precision_at, done_steps):
            log(f"{run}: precision from global step {done_steps}: {precision_at(cfg, done_steps)} ({changed})")
            changed = {}
    if changed:
        raise SystemExit(f"{ckpt_path}: config differs from the checkpoint's (old, new): {changed}")
    return ck


def plain_step(ddp_model, model, xb, yb, cfg, mode, smacs, teacher, precision, device, progress):
    """Forward and backward of one batch outside the sandwich rule; returns (logits, loss)."""
    with autocast(device, precision):
        if mode == "static":
            logits = ddp_model(xb, mode="static")
            infos = None
        else:
            logits, infos = ddp_model(xb, mode=mode, tau_l=cfg["tau_l"], tau_c=cfg["tau_c"], trace=True)
        logits = logits.float()
        loss = F.cross_entropy(logits, yb, label_smoothing=cfg["label_smoothing"])
        if infos is not None:
            rho = rho_at(cfg, progress)
            for v in gate_loss(model, infos, cfg, logits, xb, smacs, rho, teacher).values():
                loss = loss + v.float()
    loss.backward()
    return logits, loss


def make_logger(log_path: Path):
    """A function that prints a time-stamped line and appends it to `log_path`."""
    def log(msg: str):
        line = f"{dt.datetime.now().isoformat(timespec='seconds')} {msg}"
        print(line, flush=True)
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(log_path, "a") as f:
            f.write(line + "\n")
    return log


class Progress:
    """The per-epoch progress bar (tqdm), or nothing when `enabled` is false."""

    def __init__(self, enabled: bool, run: str, epoch: int, epochs: int, steps: int, initial: int):
        self.bar = None
        if enabled:
            from tqdm import tqdm
            self.bar = tqdm(total=steps, initial=initial, desc=f"{run} ep {epoch + 1}/{epochs}",
                            mininterval=1.0 if sys.stderr.isatty() else 30.0, dynamic_ncols=True, leave=True)

    def update(self, loss: float, acc: float, ips: float, lr: float, left_s: float):
        if self.bar is not None:
            self.bar.set_postfix_str(f"loss {loss:.3f} acc {acc:.3f} {ips:.0f} img/s lr {lr:.4f} ETA {left_s / 60:.0f} min",
                                     refresh=False)
            self.bar.update(1)

    def close(self):
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def load_split(args, cfg: dict, device, verbose: bool):
    """The data set and the config's subsets of it: training images (uint8, on `device`) and labels,
    test images and labels (on the CPU: evaluation moves them batch by batch)."""
    cif = D.load(args.data, Path(args.cache) if args.cache else None, verbose=verbose)
    tr_idx = subset(len(cif.train_y), cfg["train_subset"], cfg["seed"], 1)
    te_idx = subset(len(cif.test_y), cfg["test_subset"], cfg["seed"], 2)
    train_x = D.to_nchw(cif.train_x)[tr_idx].to(device)
    train_y = torch.as_tensor(cif.train_y)[tr_idx].to(device)
    test_x = D.to_nchw(cif.test_x)[te_idx]
    test_y = torch.as_tensor(cif.test_y)[te_idx]
    return cif, train_x, train_y, test_x, test_y


def main(argv=None) -> int:
    args = arg_parser().parse_args(argv)

    cfg = load_config(args.config, args.set)
    run = args.run or cfg["name"]
    rank, world, dist = dist_setup()
    device = pick_device(rank)
    if device.type == "cpu":
        torch.set_num_threads(max(1, int(cfg["num_threads"]) // world))
    ckpt_path = Path(args.out) / run / "last.pt"
    log_path = Path(args.logs) / f"{run}.log"

    log = make_logger(log_path) if rank == 0 else (lambda msg: None)

    # ---- state
    ck = resume_checkpoint(ckpt_path, cfg, run, log) if args.resume and ckpt_path.is_file() else None
    if ck is not None:
        if ck.get("done"):
            log(f"{run}: already complete ({ck['epoch']} epochs); nothing to do")
            return 0

    cif, train_x, train_y, test_x, test_y = load_split(args, cfg, device, verbose=rank == 0)
    mean, std = cif.mean_std()
    norm = D.Normalizer(mean, std, device)

    torch.manual_seed(cfg["seed"])  # initial weights
    model, phases = build_model(cfg, device, log, load_init=ck is None)
    if ck is None:
        rescale_init_gates(model, cfg, lambda n: norm(train_x[:n]), log)
    if cfg["channels_last"]:
        model = model.to(memory_format=torch.channels_last)
    opt = make_optimizer(model, cfg)
    n_train = len(train_y)
    bs = cfg["batch_size"]
    if bs % world:
        raise SystemExit(f"batch_size {bs} is not divisible by the world size {world}")
    steps_per_epoch = n_train // bs
    if steps_per_epoch < 1:
        raise SystemExit(f"{n_train} training images < batch size {bs}")
    total_steps = steps_per_epoch * cfg["epochs"]
    epoch, step, elapsed, history = 0, 0, 0.0, []
    if ck is not None:
        load_state(model, ck["model"])
        opt.load_state_dict(ck["optimizer"])
        set_rng_states(ck["rng"])
        epoch, step, elapsed, history = ck["epoch"], ck["step"], ck["elapsed_s"], ck["history"]
        phases = ck.get("phases", [])
        log(f"{run}: resumed at epoch {epoch} step {step}/{steps_per_epoch} ({elapsed / 60:.1f} min so far)")
    else:
        log(f"{run}: start; config {json.dumps(cfg, sort_keys=True)}")
    log(f"data {cif.source} sha256 {cif.sha256}; train {n_train} test {len(test_y)}; mean {mean} std {std}; "
        f"device {device} threads {torch.get_num_threads()} world {world}")

    ddp_model = model
    if dist is not None:
        from torch.nn.parallel import DistributedDataParallel as DDP
        sync_buffers(model, dist)
        ddp_model = DDP(model, device_ids=[device.index] if device.type == "cuda" else None)

    smacs = static_macs(model)
    teacher = make_teacher(cfg, device) if cfg["phase"] == "gates" else None
    if teacher is not None and cfg["channels_last"]:
        teacher = teacher.to(memory_format=torch.channels_last)
    mode = cfg["train_mode"] if cfg["phase"] == "gates" else "static"
    sandwich = cfg["phase"] == "gates" and cfg["sandwich"]
    if sandwich and world > 1:
        raise SystemExit("sandwich training runs in one process (its passes use different parameters)")
    swa_every = int(cfg["swa_every_steps"])
    if swa_every:
        fixed_bn = cfg["phase"] == "gates" and ((sandwich and cfg["sw_bn"] == "frozen") or cfg["freeze_backbone"])
        if not fixed_bn or world > 1:
            raise SystemExit("swa_every_steps needs batch-norm statistics that stay fixed (a sandwich run with "
                             "sw_bn \"frozen\", or freeze_backbone) and one process")
    swa = WeightAverage.from_checkpoint(ck.get("swa") if ck is not None else None)
    last_iterate = None  # the run's last weights, once the average has replaced them at the end

    def state(done=False) -> dict:
        # contiguous(): a checkpoint does not depend on the memory layout trained in
        extra = {}
        if swa_every:
            extra["swa"] = swa.to_checkpoint()
            if last_iterate is not None:
                extra["model_last"] = last_iterate
        return dict(**extra, model={k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()},
                    optimizer=opt.state_dict(), schedule=dict(kind=cfg["schedule"], global_step=epoch * steps_per_epoch + step,
                                                              total_steps=total_steps),
                    rng=rng_states(), epoch=epoch, step=step, elapsed_s=elapsed + (time.time() - t_start),
                    history=history, config=cfg, run=run, done=done, phases=phases,
                    data=dict(source=os.path.basename(cif.source), sha256=cif.sha256, mean=mean, std=std,
                              n_train=n_train, n_test=len(test_y)),
                    torch_version=torch.__version__, world_size=world)

    def checkpoint(done=False, collective=True):
        # collective: called by every rank at the same point (epoch end, --max-steps), so BN buffers can be
        # synced; the time-based mid-epoch save is rank 0's alone (its buffers are the ones DDP broadcasts)
        if dist is not None and collective:
            sync_buffers(model, dist)
        if rank == 0:
            save_checkpoint(ckpt_path, state(done))

    t_start = time.time()
    t_ckpt = time.time()
    set_train_mode(model, cfg)
    while epoch < cfg["epochs"]:
        perm = D.epoch_permutation(n_train, cfg["seed"], epoch).to(device)
        bar = Progress(rank == 0 and not args.no_progress, run, epoch, cfg["epochs"], steps_per_epoch, step)
        seen = correct = 0
        loss_sum = 0.0
        t_ep = time.time()
        steps_run = 0
        while step < steps_per_epoch:
            gstep = epoch * steps_per_epoch + step
            f = lr_factor(cfg, gstep, steps_per_epoch * planned_epochs(cfg, epoch))
            for g in opt.param_groups:
                g["lr"] = g["base_lr"] * f
            idx = perm[step * bs:(step + 1) * bs]
            xb = D.augment_u8(train_x[idx], D._mix(cfg["seed"], epoch, step), cfg["pad"], cfg["flip"])
            xb, yb = norm(xb[rank::world]), train_y[idx][rank::world]
            if cfg["channels_last"]:
                xb = xb.contiguous(memory_format=torch.channels_last)
            opt.zero_grad(set_to_none=True)
            if sandwich:
                logits, loss, _ = sandwich_step(model, xb, yb, cfg, smacs, D._mix(cfg["seed"], epoch, step, 0x5A),
                                                precision_at(cfg, gstep), device, epoch + step / steps_per_epoch,
                                                teacher)
            else:
                logits, loss = plain_step(ddp_model, model, xb, yb, cfg, mode, smacs, teacher,
                                          precision_at(cfg, gstep), device, epoch + step / steps_per_epoch)
            if cfg["grad_clip"]:
                torch.nn.utils.clip_grad_norm_(model.parameters(), cfg["grad_clip"])
            opt.step()
            if swa_every and (gstep + 1) % swa_every == 0:
                swa.add(model.state_dict())
            step += 1
            steps_run += 1
            seen += len(yb)
            correct += (logits.argmax(1) == yb).sum().item()
            loss_sum += loss.item() * len(yb)
            ips = steps_run * bs / max(1e-9, time.time() - t_ep)
            bar.update(loss_sum / seen, correct / seen, ips, opt.param_groups[0]["lr"],
                       (total_steps - gstep - 1) * bs / max(1e-9, ips))
            if args.max_steps is not None and gstep + 1 >= args.max_steps:
                bar.close()
                checkpoint()
                log(f"{run}: stopped at --max-steps {args.max_steps} (epoch {epoch} step {step})")
                finish(dist, model, rank, args.dump_rank_state)
                return 0
            if time.time() - t_ckpt >= cfg["checkpoint_every_s"]:
                checkpoint(collective=False)
                t_ckpt = time.time()
        bar.close()
        epoch += 1
        step = 0
        if dist is not None:
            sync_buffers(model, dist)
        rec = dict(epoch=epoch, train_loss=loss_sum / max(1, seen), train_acc=correct / max(1, seen),
                   epoch_s=round(time.time() - t_ep, 1), lr=opt.param_groups[0]["lr"])
        if swa_every and epoch >= cfg["epochs"] and swa.n:
            # the run's result is the mean; the final evaluation and export see it
            last_iterate = {k: v.detach().cpu().contiguous().clone() for k, v in model.state_dict().items()}
            load_state(model, swa.state_dict(model.state_dict()))
            rec["swa_snapshots"] = swa.n
            log(f"{run}: the model is now the mean of {swa.n} snapshots (every {swa_every} steps)")
        if rank == 0 and (epoch % cfg["eval_every"] == 0 or epoch == cfg["epochs"]):
            t_ev = time.time()
            rec.update(evaluate(model, test_x, test_y, norm, cfg, device))
            set_train_mode(model, cfg)
            rec["eval_s"] = round(time.time() - t_ev, 1)
        history.append(rec)
        rec["wall_s"] = round(elapsed + time.time() - t_start, 1)
        log(f"{run}: epoch {epoch}/{cfg['epochs']} " + json.dumps(rec))
        checkpoint(done=epoch >= cfg["epochs"])
        t_ckpt = time.time()
    log(f"{run}: done, {cfg['epochs']} epochs, wall {(elapsed + time.time() - t_start) / 60:.1f} min")
    finish(dist, model, rank, args.dump_rank_state)
    return 0


def finish(dist, model, rank: int, dump_dir: str | None):
    if dump_dir:  # each rank's final state, for the DDP test
        Path(dump_dir).mkdir(parents=True, exist_ok=True)
        torch.save({k: v.detach().cpu() for k, v in model.state_dict().items()}, Path(dump_dir) / f"rank{rank}.pt")
    if dist is not None:
        dist.barrier()
        dist.destroy_process_group()


if __name__ == "__main__":
    sys.exit(main())
