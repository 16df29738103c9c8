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
