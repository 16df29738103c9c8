"""CIFAR-10 for the trainer: readers for the JPEG tarball and the official binary batches,
a decoded-array cache, normalisation statistics, seeded shuffling and cheap uint8 augmentation.

Arrays are uint8 NHWC (N, 32, 32, 3) with int64 labels in class order `CLASSES`.
The JPEG copy is ordered by class then file name in both splits (the order `test_index` refers to).
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

CLASSES = [
    "airplane", "automobile", "bird", "cat", "deer",
    "dog", "frog", "horse", "ship", "truck",
]

TRAIN_DIR = Path(__file__).resolve().parents[1]          # .../train
REPO_ROOT = TRAIN_DIR.parent
DEFAULT_DATA = REPO_ROOT.parent / "shared" / "data" / "cifar10-jpeg.tar.gz"
DEFAULT_CACHE = TRAIN_DIR / ".cache"


def default_data_path() -> Path:
    return Path(os.environ.get("LCNET_DATA", DEFAULT_DATA))


def default_cache_dir() -> Path:
    return Path(os.environ.get("LCNET_CACHE", DEFAULT_CACHE))


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


@dataclass
class Cifar:
    train_x: np.ndarray  # uint8 (N, 32, 32, 3)
    train_y: np.ndarray  # int64 (N,)
    test_x: np.ndarray
    test_y: np.ndarray
    source: str          # path of the data file/folder
    sha256: str          # of the JPEG tarball, or of the concatenated binary batches

    def mean_std(self) -> tuple[list[float], list[float]]:
        return mean_std(self.train_x)


def mean_std(x_u8: np.ndarray) -> tuple[list[float], list[float]]:
    """Per-channel mean and (population) std of uint8 NHWC images on [0, 1]."""
    flat = x_u8.reshape(-1, 3)
    v = np.arange(256, dtype=np.float64) / 255.0
    mean, std = [], []
    for c in range(3):  # exact, from a histogram (no float copy of the data set)
        cnt = np.bincount(flat[:, c], minlength=256).astype(np.float64)
        m = (cnt * v).sum() / cnt.sum()
        mean.append(float(m))
        std.append(float(np.sqrt((cnt * (v - m) ** 2).sum() / cnt.sum())))
    return mean, std


# ---------------------------------------------------------------- JPEG tarball

def _decode_tar(tar_path: Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Decode every `{train,test}/<class>/<name>.jpg` member with Pillow (RGB).

    Read straight from the tar stream: the decoded arrays are what is cached."""
    from PIL import Image

    found: dict[str, list[tuple[int, str, np.ndarray]]] = {"train": [], "test": []}
    with tarfile.open(tar_path, "r:*") as tar:
        for m in tar:
            if not m.isfile() or not m.name.lower().endswith((".jpg", ".jpeg", ".png")):
                continue
            parts = Path(m.name).parts
            if len(parts) < 3 or parts[-3] not in found or parts[-2] not in CLASSES:
                continue
            data = tar.extractfile(m).read()
            with Image.open(io.BytesIO(data)) as im:
                arr = np.asarray(im.convert("RGB"), dtype=np.uint8)
            if arr.shape != (32, 32, 3):
                raise ValueError(f"{m.name}: expected 32x32 RGB, got {arr.shape}")
            found[parts[-3]].append((CLASSES.index(parts[-2]), parts[-1], arr))
    out = {}
    for split, items in found.items():
        if not items:
            raise ValueError(f"{tar_path}: no {split}/<class>/*.jpg members")
        items.sort(key=lambda t: (t[0], t[1]))  # class order, then file name
        out[split] = (np.stack([a for _, _, a in items]),
                      np.array([c for c, _, _ in items], dtype=np.int64))
    return out


def load_jpeg_tar(tar_path: Path | None = None, cache_dir: Path | None = None,
                  verbose: bool = True) -> Cifar:
    """Load the JPEG copy, decoding it once into `<cache>/cifar10-jpeg-<sha12>/*.npy`."""
    tar_path = Path(tar_path or default_data_path())
    cache_dir = Path(cache_dir or default_cache_dir())
    if not tar_path.is_file():
        raise FileNotFoundError(f"CIFAR-10 JPEG tarball not found: {tar_path} (set --data or LCNET_DATA)")
    digest = sha256_file(tar_path)
    d = cache_dir / f"cifar10-jpeg-{digest[:12]}"
    names = ["train_x", "train_y", "test_x", "test_y"]
    meta_path = d / "meta.json"
    if not (meta_path.is_file() and all((d / f"{n}.npy").is_file() for n in names)):
        if verbose:
            print(f"decoding {tar_path} into {d} (once) ...", flush=True)
        dec = _decode_tar(tar_path)
        d.mkdir(parents=True, exist_ok=True)
        arrays = dict(train_x=dec["train"][0], train_y=dec["train"][1],
                      test_x=dec["test"][0], test_y=dec["test"][1])
        for n, a in arrays.items():
            tmp = d / f"{n}.tmp.npy"
            np.save(tmp, a)
            os.replace(tmp, d / f"{n}.npy")
        mean, std = mean_std(arrays["train_x"])
        meta = dict(source=str(tar_path), sha256=digest, classes=CLASSES,
                    n_train=int(len(arrays["train_y"])), n_test=int(len(arrays["test_y"])),
                    mean=mean, std=std)
        meta_path.write_text(json.dumps(meta, indent=1))
    arrays = {n: np.load(d / f"{n}.npy") for n in names}
    return Cifar(source=str(tar_path), sha256=digest, **arrays)


# ---------------------------------------------------------------- official binary batches

BIN_RECORD = 1 + 3 * 32 * 32


def read_bin_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """One CIFAR-10 binary batch: records of 1 label byte + 3072 bytes (R, G, B planes, row-major)."""
    raw = np.fromfile(path, dtype=np.uint8)
    if raw.size == 0 or raw.size % BIN_RECORD:
        raise ValueError(f"{path}: size {raw.size} is not a multiple of {BIN_RECORD}")
    rec = raw.reshape(-1, BIN_RECORD)
    y = rec[:, 0].astype(np.int64)
    if y.max() >= 10:
        raise ValueError(f"{path}: label {y.max()} out of range")
    x = rec[:, 1:].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)  # CHW -> HWC
    return np.ascontiguousarray(x), y


def load_cifar_bin(folder: Path) -> Cifar:
    """`folder` holds data_batch_{1..5}.bin and test_batch.bin (or is their parent with cifar-10-batches-bin/)."""
    folder = Path(folder)
    if (folder / "cifar-10-batches-bin").is_dir():
        folder = folder / "cifar-10-batches-bin"
    train_files = sorted(folder.glob("data_batch_*.bin"), key=lambda p: int(p.stem.split("_")[-1]))
    test_file = folder / "test_batch.bin"
    if not train_files or not test_file.is_file():
        raise FileNotFoundError(f"{folder}: expected data_batch_*.bin and test_batch.bin")
    h = hashlib.sha256()
    xs, ys = [], []
    for p in train_files:
        x, y = read_bin_batch(p)
        xs.append(x); ys.append(y)
        h.update(p.read_bytes())
    tx, ty = read_bin_batch(test_file)
    h.update(test_file.read_bytes())
    return Cifar(np.concatenate(xs), np.concatenate(ys), tx, ty, str(folder), h.hexdigest())


def load(data: str | Path | None = None, cache_dir: Path | None = None, verbose: bool = True) -> Cifar:
    """A JPEG tarball path, or a folder of binary batches."""
    p = Path(data) if data else default_data_path()
    if p.is_dir():
        return load_cifar_bin(p)
    return load_jpeg_tar(p, cache_dir, verbose=verbose)


# ---------------------------------------------------------------- batches and augmentation

def _mix(*xs: int) -> int:
    """A seed derived from integers (stable across runs and platforms)."""
    h = hashlib.sha256(",".join(str(int(x)) for x in xs).encode()).digest()
    return int.from_bytes(h[:8], "little") & ((1 << 63) - 1)


def epoch_permutation(n: int, seed: int, epoch: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(_mix(seed, epoch, 0xE90C))
    return torch.randperm(n, generator=g)


def augment_u8(x: torch.Tensor, seed: int, pad: int = 4, flip: bool = True) -> torch.Tensor:
    """x: uint8 (B, 3, H, W). Zero-pad by `pad`, random HxW crop, random horizontal flip.

    One gather for crop+flip; the randomness comes from `seed` only (exact resume)."""
    b, c, hh, ww = x.shape
    g = torch.Generator().manual_seed(seed)
    oy = torch.randint(0, 2 * pad + 1, (b,), generator=g)
    ox = torch.randint(0, 2 * pad + 1, (b,), generator=g)
    fl = torch.rand(b, generator=g) < 0.5 if flip else torch.zeros(b, dtype=torch.bool)
    dev = x.device
    oy, ox, fl = oy.to(dev), ox.to(dev), fl.to(dev)
    xp = torch.nn.functional.pad(x, (pad, pad, pad, pad))
    ar_h = torch.arange(hh, device=dev)
    ar_w = torch.arange(ww, device=dev)
    rows = oy[:, None] + ar_h[None, :]                                   # (B, H)
    cols = torch.where(fl[:, None], ox[:, None] + (ww - 1) - ar_w[None, :], ox[:, None] + ar_w[None, :])
    bi = torch.arange(b, device=dev)[:, None, None, None]
    ci = torch.arange(c, device=dev)[None, :, None, None]
    return xp[bi, ci, rows[:, None, :, None], cols[:, None, None, :]]


class Normalizer:
    def __init__(self, mean, std, device="cpu"):
        self.mean = torch.tensor(mean, dtype=torch.float32, device=device).view(1, 3, 1, 1)
        self.std = torch.tensor(std, dtype=torch.float32, device=device).view(1, 3, 1, 1)

    def __call__(self, x_u8_nchw: torch.Tensor) -> torch.Tensor:
        """uint8 NCHW -> float32 (x/255 - mean)/std, in that order (as the Rust preprocessing)."""
        return (x_u8_nchw.float() / 255.0 - self.mean) / self.std


def to_nchw(x_u8_nhwc: np.ndarray | torch.Tensor) -> torch.Tensor:
    t = torch.as_tensor(x_u8_nhwc)
    return t.permute(0, 3, 1, 2).contiguous()
