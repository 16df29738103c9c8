"""Weight averaging of checkpoints (lcnet_train.average)."""
import pytest
import torch

from lcnet_train import average as A
from lcnet_train.export import fresh_checkpoint


def _pair():
    a, b = fresh_checkpoint(20, seed=1), fresh_checkpoint(20, seed=2)
    b["model"] = {k: (v.clone() if k.endswith(A.STAT_SUFFIXES) or not v.is_floating_point()
                      else v + 1.0) for k, v in a["model"].items()}
    return a, b


def test_mean_of_two_checkpoints_is_their_elementwise_mean_with_statistics_unchanged():
    a, b = _pair()
    out = A.average([a, b], ["a.pt", "b.pt"])
    w = "layer2.1.conv2.weight"
    assert torch.allclose(out["model"][w], a["model"][w] + 0.5)
    assert torch.equal(out["model"]["layer2.1.bn2.running_var"], a["model"]["layer2.1.bn2.running_var"])
    assert [s["checkpoint"] for s in out["averaged_from"]] == ["a.pt", "b.pt"] and "optimizer" not in out


def test_weighted_mean_adds_one_more_restart_to_a_mean(tmp_path):
    a, b = _pair()
    c = {**b, "model": {k: (v + 1.0 if A.averaged(k, v) else v) for k, v in b["model"].items()}}
    w = "layer2.1.conv2.weight"
    mean_ab = A.average([a, b], ["a", "b"])
    # the mean of a and b, weighted 2, with c is the mean of a, b and c
    three = A.average([mean_ab, c], ["ab", "c"], [2, 1])
    assert torch.allclose(three["model"][w], A.average([a, b, c], ["a", "b", "c"])["model"][w], atol=1e-6)
    assert torch.allclose(three["model"][w], a["model"][w] + 1.0, atol=1e-6)
    assert [s["weight"] for s in three["averaged_from"]] == [2, 1]
    assert torch.equal(three["model"]["bn1.running_var"], a["model"]["bn1.running_var"])
    for bad in ([1], [1, 0], [1, -2]):
        with pytest.raises(ValueError, match="one positive number per checkpoint"):
            A.average([a, b], ["a", "b"], bad)
    for name, ck in (("a", a), ("b", b)):
        torch.save({**ck, "done": True}, tmp_path / f"{name}.pt")
    with pytest.raises(SystemExit, match="one positive number"):
        A.main(["--ckpt", str(tmp_path / "a.pt"), str(tmp_path / "b.pt"), "--weights", "1", "--out",
                str(tmp_path / "x.pt")])
    assert not (tmp_path / "x.pt").exists()
    A.main(["--ckpt", str(tmp_path / "a.pt"), str(tmp_path / "b.pt"), "--weights", "3", "1", "--out",
            str(tmp_path / "x.pt")])
    assert torch.allclose(torch.load(tmp_path / "x.pt", weights_only=False)["model"][w], a["model"][w] + 0.25)


def test_checkpoints_with_different_statistics_or_shapes_are_refused():
    a, b = _pair()
    b["model"]["bn1.running_mean"] = b["model"]["bn1.running_mean"] + 1
    with pytest.raises(ValueError, match="batch-norm statistics bn1.running_mean differ"):
        A.average([a, b], ["a", "b"])
    with pytest.raises(ValueError, match="depth"):
        A.average([a, fresh_checkpoint(32)], ["a", "c"])
    with pytest.raises(ValueError, match="at least two"):
        A.average([a], ["a"])


def test_running_average_matches_the_mean_and_round_trips():
    avg = A.WeightAverage()
    states = [{"w": torch.full((2,), float(i)), "bn.running_mean": torch.zeros(2)} for i in range(5)]
    for s in states:
        avg.add(s)
    again = A.WeightAverage.from_checkpoint(avg.to_checkpoint())
    sd = again.state_dict(states[-1])
    assert again.n == 5 and torch.allclose(sd["w"], torch.full((2,), 2.0)) and sd["w"].dtype == torch.float32
    with pytest.raises(ValueError, match="no snapshot"):
        A.WeightAverage().state_dict(states[0])
