"""Read an exported model file (`weights/*.safetensors`) back as a trainer checkpoint.

A model file holds the trainer's state dict (float32, or float16 where the card says so) and a card whose
provenance keeps the training config. That is enough to stand in for the checkpoint it was exported from: to
warm-restart from a shipped model (`init_from`), distil from it (`teacher_from`), average it with later restarts
(`lcnet_train.average`) or export it again at other thresholds. Training checkpoints are large and mostly kept
off the repository; the shipped model files are what every clone has.

    from lcnet_train.model_file import load_checkpoint
    ck = load_checkpoint("../weights/lcnet-r56-perimage.safetensors")   # or a checkpoints/*/last.pt

A shipped file is replaced when a better model ships, so a config that starts from one names it by commit:
`git:<commit>:<path from the repository root>` (e.g. `git:6e9438f:weights/lcnet-r56-perimage.safetensors`)
reads that file as it was in that commit, wherever a checkpoint path is taken (`init_from`, `teacher_from`,
`average --ckpt`, `export --ckpt`).
"""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

import torch
from safetensors import safe_open

from .data import TRAIN_DIR
from .model import ResNetCifar, load_state

SUFFIX = ".safetensors"
GIT_PREFIX = "git:"
GIT_CACHE = TRAIN_DIR / ".cache" / "git"


def _git(*args: str) -> bytes:
    try:
        return subprocess.run(["git", "-C", str(TRAIN_DIR), *args], check=True, capture_output=True).stdout
    except FileNotFoundError:
        raise ValueError("git is not installed, so a git:<commit>:<path> source cannot be read") from None
    except subprocess.CalledProcessError as e:
        raise ValueError(e.stderr.decode(errors="replace").strip() or f"git {' '.join(args)} failed") from None


def source_path(spec, base: Path | None = None) -> Path:
    """The file a checkpoint source names: `git:<commit>:<path>` → that file as it was in that commit (written
    once under train/.cache/git/<full commit>/), anything else → a path, taken relative to `base` where given
    and not absolute. Raises ValueError naming the source where the commit or the file in it is unknown."""
    spec = str(spec)
    if not spec.startswith(GIT_PREFIX):
        p = Path(spec)
        return p if p.is_absolute() or base is None else base / p
    commit, sep, rel = spec[len(GIT_PREFIX):].partition(":")
    if not sep or not commit or not rel:
        raise ValueError(f"{spec}: a git source is git:<commit>:<path from the repository root>")
    try:
        full = _git("rev-parse", "--verify", "--quiet", f"{commit}^{{commit}}").decode().strip()
    except ValueError as e:
        # --quiet leaves stderr empty for an unknown commit; anything else (not a repository, no git) says why
        why = "" if str(e).startswith("git ") else f" ({e})"
        raise ValueError(f"{spec}: no commit {commit!r} in this repository{why}") from None
    out = GIT_CACHE / full / rel
    if not out.is_file():
        try:
            blob = _git("show", f"{full}:{rel}")
        except ValueError as e:
            raise ValueError(f"{spec}: {e}") from None
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(out.name + ".part")
        tmp.write_bytes(blob)
        tmp.replace(out)  # whole or absent: a reader never sees half a file
    return out


def is_model_file(path) -> bool:
    """Whether `path` names an exported model file rather than a training checkpoint (`.pt`)."""
    return Path(path).suffix == SUFFIX


def load_model_file(path) -> tuple[ResNetCifar, dict]:
    """An lcnet model file → (ResNetCifar in eval mode, f32 weights; its card). Raises ValueError, naming the
    file and the reason, where it is unreadable, has no lcnet card, or its tensors do not match the card."""
    path = Path(path)
    try:
        with safe_open(str(path), "pt") as f:
            meta = f.metadata() or {}
            sd = {k: f.get_tensor(k).to(torch.float32) for k in f.keys()}
    except Exception as e:  # safetensors raises its own error types for missing, unreadable or truncated files
        raise ValueError(f"{path}: not a readable safetensors file ({e})") from None
    try:
        card = json.loads(meta["lcnet"])
    except (KeyError, json.JSONDecodeError):
        raise ValueError(f"{path}: not an lcnet model file (no 'lcnet' model card in the metadata)") from None
    arch = card.get("arch") or {}
    if not isinstance(arch.get("depth"), int):
        raise ValueError(f"{path}: its card names no network depth")
    gates = card.get("gates") or {}
    m = ResNetCifar(arch["depth"], num_classes=arch.get("num_classes", 10), l_gate=bool(gates.get("l_net")),
                    c_gate=bool(gates.get("c_net")))
    try:
        load_state(m, sd)
    except (KeyError, RuntimeError) as e:
        raise ValueError(f"{path}: its tensors do not match its card's architecture ({e})") from None
    return m.eval(), card


def checkpoint_from_model_file(path) -> dict:
    """The checkpoint-like dict (model, config, data, run, epoch, …) that `path`'s model file was exported from,
    without the optimizer state. Raises ValueError where the file is not an lcnet model (`load_model_file`) or
    its card lacks the training config."""
    model, card = load_model_file(path)
    prov = card.get("provenance") or {}
    cfg = prov.get("config")
    if card.get("format") != "lcnet" or not isinstance(cfg, dict):
        raise ValueError(f"{path}: its card holds no training config (provenance.config), so it cannot stand in "
                         "for a checkpoint")
    phases = prov.get("phases") or []
    own = phases[-1] if phases else {}
    evaluated = prov.get("pytorch_test_eval") or {}
    ck = {
        # the full state dict, num_batches_tracked included (model files leave it out), as a checkpoint has it
        "model": model.state_dict(),
        "config": cfg,
        "run": prov.get("run"),
        "epoch": prov.get("epochs", own.get("epochs", 0)),
        "elapsed_s": float(own.get("wall_time_s", 0.0)),
        "phases": phases[:-1],
        "history": [{"epoch": prov.get("epochs"), **evaluated}] if evaluated else [],
        "data": {"source": prov.get("data"), "sha256": prov.get("data_sha256"),
                 "mean": (card.get("input") or {}).get("mean"), "std": (card.get("input") or {}).get("std")},
        "done": True,
        "model_file": str(path),
    }
    if prov.get("averaged_from"):
        ck["averaged_from"] = prov["averaged_from"]
    return ck


def load_checkpoint(path) -> dict:
    """A training checkpoint (`.pt`) as saved, or a model file read back by `checkpoint_from_model_file`;
    `path` may be a `git:<commit>:<path>` source (`source_path`)."""
    path = source_path(path)
    if is_model_file(path):
        return checkpoint_from_model_file(path)
    return torch.load(path, map_location="cpu", weights_only=False)
