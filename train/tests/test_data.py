import io
import tarfile

import numpy as np
import torch
from PIL import Image

from conftest import write_bin_batches
from lcnet_train import data as D


def test_binary_loader(tmp_path):
    written = write_bin_batches(tmp_path / "cifar-10-batches-bin", n_train_per_batch=7, n_test=5)
    c = D.load(tmp_path)  # a folder: binary batches (parent of cifar-10-batches-bin/ works too)
    assert c.train_x.shape == (35, 32, 32, 3) and c.train_x.dtype == np.uint8
    assert c.test_x.shape == (5, 32, 32, 3)
    x1, y1 = written["data_batch_1.bin"]
    assert np.array_equal(c.train_x[:7], x1) and np.array_equal(c.train_y[:7], y1)
    x5, _ = written["data_batch_5.bin"]
    assert np.array_equal(c.train_x[28:], x5)
    assert np.array_equal(c.test_x, written["test_batch.bin"][0])
    # one record by hand: label byte, then the R plane, G plane, B plane
    raw = (tmp_path / "cifar-10-batches-bin" / "test_batch.bin").read_bytes()
    assert raw[0] == c.test_y[0]
    assert raw[1] == c.test_x[0, 0, 0, 0] and raw[1 + 1024] == c.test_x[0, 0, 0, 1]
    assert raw[1 + 2048 + 33] == c.test_x[0, 1, 1, 2]
    assert len(c.sha256) == 64


def _jpeg(arr):
    b = io.BytesIO()
    Image.fromarray(arr).save(b, format="JPEG", quality=95)
    return b.getvalue()


def test_jpeg_tar_loader_order_and_cache(tmp_path):
    rng = np.random.default_rng(0)
    tar_path = tmp_path / "mini.tar.gz"
    members = []
    for split in ("train", "test"):
        for cls in ("truck", "airplane", "cat"):
            for name in ("0001.jpg", "0000.jpg"):
                members.append((f"{split}/{cls}/{name}", rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)))
    with tarfile.open(tar_path, "w:gz") as t:
        for name, arr in members:
            data = _jpeg(arr)
            info = tarfile.TarInfo(name)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
    c = D.load_jpeg_tar(tar_path, tmp_path / "cache", verbose=False)
    # class order (airplane=0, cat=3, truck=9), then file name
    assert c.test_y.tolist() == [0, 0, 3, 3, 9, 9] and c.train_y.tolist() == [0, 0, 3, 3, 9, 9]
    decoded = np.asarray(Image.open(io.BytesIO(_jpeg(dict(members)["test/cat/0000.jpg"]))).convert("RGB"))
    assert np.array_equal(c.test_x[2], decoded)
    assert c.sha256 == D.sha256_file(tar_path)
    cached = list((tmp_path / "cache").glob("cifar10-jpeg-*/*.npy"))
    assert len(cached) == 4
    c2 = D.load_jpeg_tar(tar_path, tmp_path / "cache", verbose=False)
    assert np.array_equal(c2.train_x, c.train_x)


def test_mean_std_exact():
    x = np.random.default_rng(1).integers(0, 256, (10, 32, 32, 3), dtype=np.uint8)
    m, s = D.mean_std(x)
    f = x.reshape(-1, 3).astype(np.float64) / 255
    assert np.allclose(m, f.mean(0), atol=1e-12) and np.allclose(s, f.std(0), atol=1e-12)


def test_augment_crop_flip():
    x = torch.arange(2 * 3 * 32 * 32, dtype=torch.int64).remainder(251).to(torch.uint8).view(2, 3, 32, 32)
    a = D.augment_u8(x, seed=5)
    assert a.shape == x.shape and a.dtype == torch.uint8
    assert torch.equal(a, D.augment_u8(x, seed=5))
    # every output is a (possibly flipped) 32x32 window of the zero-padded input
    xp = torch.nn.functional.pad(x, (4, 4, 4, 4))
    for i in range(2):
        ok = False
        for oy in range(9):
            for ox in range(9):
                w = xp[i, :, oy:oy + 32, ox:ox + 32]
                ok |= torch.equal(a[i], w) or torch.equal(a[i], w.flip(-1))
        assert ok
    p1, p2 = D.epoch_permutation(100, 0, 1), D.epoch_permutation(100, 0, 2)
    assert sorted(p1.tolist()) == list(range(100)) and not torch.equal(p1, p2)
    assert torch.equal(p1, D.epoch_permutation(100, 0, 1))


def test_real_jpeg_copy(jpeg_tar):
    c = D.load_jpeg_tar(jpeg_tar, verbose=False)
    assert c.train_x.shape == (50000, 32, 32, 3) and c.test_x.shape == (10000, 32, 32, 3)
    assert np.bincount(c.train_y).tolist() == [5000] * 10 and np.bincount(c.test_y).tolist() == [1000] * 10
    assert c.sha256 == "85985c318441591b67723279a6e4b1e1f8abd0f2ca03a27ee9dd80d35f44945c"
    m, s = c.mean_std()
    assert all(0.4 < v < 0.5 for v in m) and all(0.2 < v < 0.3 for v in s)
    from conftest import SHARED
    ka = SHARED / "reference" / "known-answers.safetensors"
    if ka.is_file():
        from safetensors.numpy import load_file
        k = load_file(str(ka))
        assert np.array_equal(c.test_x[k["test_index"]], k["images_u8_nhwc"])
        assert np.array_equal(c.test_y[k["test_index"]], k["labels"])
