"""Model files read back as checkpoints (lcnet_train.model_file): restart from, average with or re-export a
shipped model without the training checkpoint it came from."""
import subprocess

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import save_file

from lcnet_train import average as A
from lcnet_train import export as E
from lcnet_train import model_file as MF
from lcnet_train import train as T
from lcnet_train.model_file import checkpoint_from_model_file, load_checkpoint


@pytest.fixture
def exported(tmp_path, monkeypatch):
    """A fresh gated R20 checkpoint and its model file (fixtures from seeded noise)."""
    monkeypatch.setenv("LCNET_DATA", str(tmp_path / "absent.tar.gz"))
    ck = E.fresh_checkpoint(20, seed=4)
    ck.update(epoch=3, elapsed_s=12.5, done=True)
    out = tmp_path / "lcnet-fresh.safetensors"
    E.export(ck, out, "lcnet-fresh", 0.3, 0.3)
    return ck, out


def test_a_model_file_reads_back_as_the_checkpoint_it_was_exported_from(exported):
    ck, out = exported
    back = load_checkpoint(out)
    assert set(back["model"]) == set(ck["model"])  # num_batches_tracked restored as a checkpoint has it
    for k, v in ck["model"].items():
        if not k.endswith("num_batches_tracked"):
            assert torch.equal(back["model"][k], v), k
    assert back["config"] == ck["config"] and back["run"] == ck["run"] and back["done"]
    assert back["epoch"] == 3 and back["elapsed_s"] == 12.5 and back["phases"] == []
    assert back["data"]["mean"] == pytest.approx(ck["data"]["mean"])
    # exported again (other thresholds), the weights are the same tensors
    again = out.parent / "again.safetensors"
    card = E.export(back, again, "again", 0.5, 0.5)
    assert card["thresholds"] == {"tau_l": 0.5, "tau_c": 0.5}
    assert all(torch.equal(load_checkpoint(again)["model"][k], v) for k, v in back["model"].items())


def test_a_shipped_model_averages_with_a_restart_trained_from_it(exported, tmp_path):
    ck, out = exported
    later = dict(ck, model={k: (v + 1.0 if A.averaged(k, v) else v.clone()) for k, v in ck["model"].items()})
    later["model"] = {k: (v + 7 if k.endswith("num_batches_tracked") else v) for k, v in later["model"].items()}
    torch.save(later, tmp_path / "later.pt")
    dst = tmp_path / "mean.pt"
    assert A.main(["--ckpt", str(out), str(tmp_path / "later.pt"), "--out", str(dst)]) == 0
    mean = torch.load(dst, weights_only=False)
    w = "layer3.2.conv1.weight"
    assert torch.allclose(mean["model"][w], ck["model"][w] + 0.5)
    assert mean["averaged_from"][0]["checkpoint"] == str(out)


def test_a_model_file_starts_a_warm_restart_with_its_gates(exported):
    ck, out = exported
    cfg = T.load_config("r20_sandwich_b", [f"init_from=\"{out}\"", "init_gates=true", "sw_teacher=\"init\""])
    m, phases = T.build_model(cfg, torch.device("cpu"), lambda msg: None)
    assert torch.equal(m.layer2[1].gate_l.bias, ck["model"]["layer2.1.gate_l.bias"])
    assert torch.equal(m.layer3[0].conv2.weight, ck["model"]["layer3.0.conv2.weight"])
    assert phases[-1]["run"] == ck["run"] and phases[-1]["epochs"] == 3
    teacher = T.make_teacher(cfg, torch.device("cpu"))
    assert torch.equal(teacher.conv1.weight, ck["model"]["conv1.weight"])


def test_files_that_are_not_lcnet_models_are_refused_with_the_reason(tmp_path):
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"\x00\x01 not safetensors")
    with pytest.raises(ValueError, match="not a readable safetensors file"):
        checkpoint_from_model_file(junk)
    bare = tmp_path / "bare.safetensors"
    save_file({"conv1.weight": torch.zeros(16, 3, 3, 3)}, str(bare))
    with pytest.raises(ValueError, match="not an lcnet model file"):
        checkpoint_from_model_file(bare)
    with pytest.raises(SystemExit, match="not an lcnet model file"):
        A.main(["--ckpt", str(bare), str(bare), "--out", str(tmp_path / "x.pt")])
    assert not (tmp_path / "x.pt").exists()


def test_tensors_that_do_not_match_the_card_are_refused(exported, tmp_path):
    _, out = exported
    with safe_open(str(out), "pt") as f:
        meta, tensors = f.metadata(), {k: f.get_tensor(k) for k in f.keys()}
    del tensors["layer1.0.conv1.weight"]
    broken = tmp_path / "broken.safetensors"
    save_file(tensors, str(broken), metadata=meta)
    with pytest.raises(ValueError, match="do not match its card's architecture"):
        checkpoint_from_model_file(broken)


def _git(repo, *args):
    return subprocess.run(["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t", *args],
                          check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture
def shipped_twice(tmp_path, monkeypatch):
    """A repository whose weights/m.safetensors was replaced by a second model: (first commit, its checkpoint)."""
    monkeypatch.setenv("LCNET_DATA", str(tmp_path / "absent.tar.gz"))
    repo = tmp_path / "repo"
    (repo / "weights").mkdir(parents=True)
    (repo / "train").mkdir()
    _git(repo, "init", "-q")
    commits = []
    for seed in (5, 6):
        ck = E.fresh_checkpoint(20, seed=seed)
        ck.update(epoch=2, elapsed_s=1.0, done=True)
        E.export(ck, repo / "weights" / "m.safetensors", "m", 0.3, 0.3)
        _git(repo, "add", "weights/m.safetensors")
        _git(repo, "commit", "-q", "-m", f"ship {seed}")
        commits.append((_git(repo, "rev-parse", "HEAD"), ck))
    monkeypatch.setattr(MF, "TRAIN_DIR", repo / "train")
    monkeypatch.setattr(MF, "GIT_CACHE", tmp_path / "cache")
    return commits


def test_a_git_source_reads_the_file_as_it_was_in_that_commit(shipped_twice):
    (first, ck), (_, later) = shipped_twice
    spec = f"git:{first[:7]}:weights/m.safetensors"
    cfg = T.load_config("r20_sandwich_b", [f"init_from=\"{spec}\"", "init_gates=true"])
    m, _ = T.build_model(cfg, torch.device("cpu"), lambda msg: None)
    key = "layer3.0.conv2.weight"
    assert torch.equal(m.state_dict()[key], ck["model"][key])
    assert not torch.equal(ck["model"][key], later["model"][key])  # the file was replaced since
    # read again from the cache it wrote, and through average's command line
    assert torch.equal(load_checkpoint(spec)["model"][key], ck["model"][key])
    assert MF.source_path(spec) == MF.GIT_CACHE / first / "weights" / "m.safetensors"


def test_unknown_git_sources_are_refused_with_the_reason(shipped_twice, tmp_path):
    (first, _), _ = shipped_twice
    with pytest.raises(ValueError, match="no commit 'beefbeef'"):
        load_checkpoint("git:beefbeef:weights/m.safetensors")
    with pytest.raises(ValueError, match="weights/absent.safetensors"):
        load_checkpoint(f"git:{first}:weights/absent.safetensors")
    with pytest.raises(ValueError, match="git:<commit>:<path"):
        load_checkpoint("git:weights/m.safetensors")
    with pytest.raises(SystemExit, match="no commit"):
        A.main(["--ckpt", "git:beefbeef:weights/m.safetensors", "--out", str(tmp_path / "x.pt")])
    assert not (tmp_path / "x.pt").exists() and not MF.GIT_CACHE.exists()
