"""Shared helpers. Tests run from train/ (`train/run_tests.sh`); data-dependent ones skip with a one-line
reason when ../shared is absent."""
import os
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

TRAIN = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(TRAIN))
SHARED = Path(os.environ.get("LCNET_SHARED", TRAIN.parent.parent / "shared"))

torch.set_num_threads(int(os.environ.get("LCNET_TEST_THREADS", "2")))


def synthetic_images(n: int, seed: int):
    """Learnable toy CIFAR: class c is a colour and a bar position, plus noise. uint8 NHWC, int64 labels."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 10
    rng.shuffle(y)
    colours = np.array([[(c * 37) % 256, (c * 91 + 60) % 256, (c * 151 + 120) % 256] for c in range(10)])
    x = rng.normal(128, 40, (n, 32, 32, 3))
    x = 0.5 * x + 0.5 * colours[y][:, None, None, :]
    for i, c in enumerate(y):
        x[i, 3 * c:3 * c + 3, :, :] = 255
    return np.clip(x, 0, 255).astype(np.uint8), y.astype(np.int64)


def write_bin_batches(folder: Path, n_train_per_batch: int = 64, n_test: int = 100, seed: int = 0):
    """A CIFAR-10 binary-format data set: data_batch_{1..5}.bin + test_batch.bin."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    for name, n, s in [(f"data_batch_{i}.bin", n_train_per_batch, seed + i) for i in range(1, 6)] + \
                      [("test_batch.bin", n_test, seed + 99)]:
        x, y = synthetic_images(n, s)
        rec = np.concatenate([y.astype(np.uint8)[:, None], x.transpose(0, 3, 1, 2).reshape(n, -1)], axis=1)
        rec.tofile(folder / name)
        out[name] = (x, y)
    return out


@pytest.fixture(scope="session")
def bin_data(tmp_path_factory):
    d = tmp_path_factory.mktemp("cifar-bin") / "cifar-10-batches-bin"
    write_bin_batches(d)
    return d.parent


@pytest.fixture(scope="session")
def jpeg_tar():
    p = Path(os.environ.get("LCNET_DATA", SHARED / "data" / "cifar10-jpeg.tar.gz"))
    if not p.is_file():
        pytest.skip(f"CIFAR-10 JPEG tarball absent at {p}: real-data test skipped")
    return p
