import json

import torch
from safetensors import safe_open
from safetensors.torch import load_file

from lcnet_train import export as E
from lcnet_train.model import ResNetCifar, load_state, trace_of

CARD_KEYS = {"format", "version", "name", "arch", "classes", "input", "gates", "thresholds", "provenance",
             "evaluation"}


def _read(path):
    with safe_open(str(path), "pt") as f:
        return f.metadata(), {k: f.get_tensor(k) for k in f.keys()}


def test_export_fresh_gated(tmp_path, monkeypatch):
    monkeypatch.setenv("LCNET_DATA", str(tmp_path / "absent.tar.gz"))  # fixtures from seeded noise
    out = tmp_path / "lcnet-fresh.safetensors"
    assert E.main(["--fresh", "20", "--out", str(out), "--name", "lcnet-fresh"]) == 0
    meta, tensors = _read(out)
    assert list(meta) == ["lcnet"]
    card = json.loads(meta["lcnet"])
    assert set(card) == CARD_KEYS
    assert card["format"] == "lcnet" and card["version"] == 1 and card["name"] == "lcnet-fresh"
    assert card["arch"] == {"depth": 20, "blocks_per_stage": 3, "widths": [16, 32, 64], "num_classes": 10,
                            "shortcut": "A", "bn_eps": 1e-5}
    assert card["classes"][0] == "airplane" and card["classes"][9] == "truck"
    assert card["gates"] == {"l_net": True, "c_net": True, "trained": False}
    assert card["thresholds"] == {"tau_l": 0.5, "tau_c": 0.5} and card["evaluation"] is None
    assert set(card["input"]) == {"size", "mean", "std"}
    assert all(t.dtype == torch.float32 for t in tensors.values())
    assert not any(k.endswith("num_batches_tracked") for k in tensors)
    assert "layer1.0.gate_l.weight" in tensors and "layer3.2.gate_c.bias" in tensors

    fmeta, fx = _read(E.fixtures_path(out))
    assert fmeta["tau_l"] == "0.5" and fmeta["tau_c"] == "0.5" and fmeta["source"] == "random"
    n = 8
    assert fx["input"].shape == (n, 3, 32, 32) and fx["logits"].shape == (n, 10)
    assert fx["logits_static"].shape == (n, 10) and fx["s_l"].shape == (n, 9)
    assert fx["executed"].dtype == torch.uint8 and fx["macs"].dtype == torch.int64
    # decisions are mixed (a useful parity fixture), and the file reproduces from the model file alone
    assert 0 < fx["executed"].float().mean() < 1
    m = ResNetCifar(20, l_gate=True, c_gate=True)
    load_state(m, load_file(str(out)))
    m.eval()
    with torch.no_grad():
        logits, infos = m(fx["input"], mode="hard", tau_l=0.5, tau_c=0.5, trace=True)
        assert torch.equal(logits, fx["logits"])
        assert torch.equal(m(fx["input"], mode="static"), fx["logits_static"])
    tr = trace_of(m, infos, "hard", 0.5, 0.5)
    assert torch.equal(tr.macs, fx["macs"]) and torch.equal(tr.executed.to(torch.uint8), fx["executed"])


def test_export_static_backbone(tmp_path, monkeypatch):
    monkeypatch.setenv("LCNET_DATA", str(tmp_path / "absent.tar.gz"))
    out = tmp_path / "r20.safetensors"
    assert E.main(["--fresh", "20", "--no-gates", "--out", str(out), "--name", "r20"]) == 0
    meta, tensors = _read(out)
    card = json.loads(meta["lcnet"])
    assert card["gates"] is None and len(tensors) == 1 + 4 + 9 * 10 + 2
    _, fx = _read(E.fixtures_path(out))
    assert torch.equal(fx["logits"], fx["logits_static"])
    assert fx["executed"].all() and fx["macs"].tolist() == [40_551_040] * 8


def test_export_f16_stores_half_and_fixtures_follow_the_rounded_weights(tmp_path, monkeypatch):
    monkeypatch.setenv("LCNET_DATA", str(tmp_path / "absent.tar.gz"))
    out = tmp_path / "lcnet-half.safetensors"
    assert E.main(["--fresh", "20", "--out", str(out), "--name", "lcnet-half", "--f16"]) == 0
    meta, tensors = _read(out)
    assert all(t.dtype == torch.float16 for t in tensors.values())
    assert json.loads(meta["lcnet"])["provenance"]["storage"] == "float16"
    _, fx = _read(E.fixtures_path(out))
    m = ResNetCifar(20, l_gate=True, c_gate=True)
    load_state(m, {k: v.float() for k, v in tensors.items()})
    m.eval()
    with torch.no_grad():
        assert torch.equal(m(fx["input"], mode="hard", tau_l=0.5, tau_c=0.5), fx["logits"])
    big = ResNetCifar(20)
    with torch.no_grad():
        big.linear.bias[0] = 1e6  # past float16's range
    try:
        E.round_to_f16(big)
    except ValueError as e:
        assert "float16" in str(e)
    else:
        raise AssertionError("an out-of-range value was rounded to infinity")


def test_a_static_reference_is_named_in_the_card_and_checked(tmp_path, monkeypatch):
    import pytest
    from lcnet_train import card_edit as C
    monkeypatch.setenv("LCNET_DATA", str(tmp_path / "absent.tar.gz"))
    gated, ref, deeper = tmp_path / "g.safetensors", tmp_path / "ref.safetensors", tmp_path / "r32.safetensors"
    assert E.main(["--fresh", "20", "--out", str(gated), "--name", "g"]) == 0
    assert E.main(["--fresh", "20", "--no-gates", "--out", str(ref), "--name", "ref", "--seed", "1"]) == 0
    assert E.main(["--fresh", "32", "--no-gates", "--out", str(deeper), "--name", "r32"]) == 0
    report = {"accuracy": 0.5, "options": {"mode": "static"}}
    with pytest.raises(ValueError, match="no evaluation curve yet"):
        C.set_static_reference(gated, "ref.safetensors", report)
    tensors, card = C.read_model(gated)  # what lcnet eval --sweep --write-card would have added
    card["evaluation"] = {"dataset": "d", "n": 1, "static_accuracy": 0.1, "measured_by": "m", "curve": []}
    C.save_file(tensors, str(gated), metadata={"lcnet": json.dumps(card)})
    _, before = _read(gated)
    card = C.set_static_reference(gated, "ref.safetensors", report)
    meta, after = _read(gated)
    assert json.loads(meta["lcnet"]) == card and card["static_reference"] == "ref.safetensors"
    assert card["evaluation"]["static_reference"] == {"file": "ref.safetensors", "name": "ref", "accuracy": 0.5}
    assert all(torch.equal(before[k], after[k]) for k in before)  # the weights stay as they were
    with pytest.raises(ValueError, match="differs .* in its arch"):
        C.set_static_reference(gated, "r32.safetensors")
    with pytest.raises(ValueError, match="file name beside the model"):
        C.set_static_reference(gated, "../ref.safetensors")
    with pytest.raises(ValueError, match="static evaluation"):
        C.set_static_reference(gated, "ref.safetensors", {"accuracy": 0.5, "options": {"mode": "lc"}})
    # the exporter names one directly
    assert E.main(["--fresh", "20", "--out", str(gated), "--name", "g", "--static-reference", "ref.safetensors"]) == 0
    assert json.loads(_read(gated)[0]["lcnet"])["static_reference"] == "ref.safetensors"


def test_a_model_renamed_keeps_its_tensors_and_the_rest_of_its_card(tmp_path, monkeypatch):
    import pytest
    from lcnet_train import card_edit as C
    monkeypatch.setenv("LCNET_DATA", str(tmp_path / "absent.tar.gz"))
    m = tmp_path / "m.safetensors"
    assert E.main(["--fresh", "20", "--out", str(m), "--name", "old"]) == 0
    meta, before = _read(m)
    assert C.main([str(m), "--name", "new-name"]) == 0
    meta2, after = _read(m)
    old, new = json.loads(meta["lcnet"]), json.loads(meta2["lcnet"])
    assert new["name"] == "new-name" and {**new, "name": "old"} == old
    assert all(torch.equal(before[k], after[k]) for k in before)
    with pytest.raises(ValueError, match="without spaces"):
        C.set_name(m, "a b")
    with pytest.raises(SystemExit):
        C.main([str(m)])
