"""Tiny training runs on a synthetic binary-format data set the test writes (no ../shared needed)."""
import json
import os
import subprocess
import sys

import pytest
import torch

from conftest import TRAIN
from lcnet_train import train as T

TINY = ["--set", "epochs=2", "--set", "batch_size=32", "--set", "lr=0.05", "--set", "warmup_frac=0.1",
        "--set", "eval_batch=100", "--set", "label_smoothing=0.0", "--set", "schedule_plan=[]", "--no-progress"]


def _run(tmp, data, run, *extra, config="r20_backbone"):
    return T.main(["--config", config, "--data", str(data), "--run-name", run, "--out", str(tmp / "ck"),
                   "--log-folder", str(tmp / "logs"), *TINY, *extra])


def _ck(tmp, run):
    return torch.load(tmp / "ck" / run / "last.pt", map_location="cpu", weights_only=False)


def test_tiny_run_learns(tmp_path, bin_data):
    assert _run(tmp_path, bin_data, "tiny") == 0
    ck = _ck(tmp_path, "tiny")
    h = ck["history"]
    assert ck["done"] and ck["epoch"] == 2 and ck["step"] == 0 and len(h) == 2
    assert h[1]["train_loss"] < h[0]["train_loss"]
    assert h[1]["acc_static"] > 0.3, h  # chance is 0.1
    assert (tmp_path / "logs" / "tiny.log").read_text().count("epoch 2/2") == 1


def test_resume_is_exact(tmp_path, bin_data):
    assert _run(tmp_path, bin_data, "straight") == 0
    assert _run(tmp_path, bin_data, "split", "--max-steps", "13") == 0  # mid-epoch 2 (10 steps/epoch)
    mid = _ck(tmp_path, "split")
    assert (mid["epoch"], mid["step"], mid["done"]) == (1, 3, False)
    assert _run(tmp_path, bin_data, "split", "--resume") == 0
    a, b = _ck(tmp_path, "straight"), _ck(tmp_path, "split")
    for k in a["model"]:
        assert torch.equal(a["model"][k], b["model"][k]), k
    for sa, sb in zip(a["optimizer"]["state"].values(), b["optimizer"]["state"].values()):
        assert torch.equal(sa["momentum_buffer"], sb["momentum_buffer"])
    assert a["history"][-1]["acc_static"] == b["history"][-1]["acc_static"]
    # a finished run resumes to a no-op; a changed config is refused
    assert _run(tmp_path, bin_data, "split", "--resume") == 0
    with pytest.raises(SystemExit):
        _run(tmp_path, bin_data, "split", "--resume", "--set", "lr=0.1")


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_gates_phase(tmp_path, bin_data, precision):
    assert _run(tmp_path, bin_data, "bb") == 0
    assert _run(tmp_path, bin_data, "lc", "--set", f"init_from={tmp_path / 'ck' / 'bb' / 'last.pt'}",
                "--set", "epochs=1", "--set", "lambda_f=2.0", "--set", "distill=0.5", "--set", f"precision={precision}",
                "--set", f"channels_last={str(precision == 'bf16').lower()}", config="r20_lcnet") == 0
    ck = _ck(tmp_path, "lc")
    assert any(".gate_l." in k for k in ck["model"]) and any(".gate_c." in k for k in ck["model"])
    rec = ck["history"][-1]
    assert {"acc_hard", "macs_frac_hard", "block_exec_rate"} <= set(rec)
    assert ck["phases"][0]["run"] == "bb" and ck["phases"][0]["epochs"] == 2


def test_replan_keeps_the_trained_epochs(tmp_path, bin_data):
    # 4-epoch plan, stopped after epoch 2, re-planned to 3 epochs: accepted only with a schedule_plan that
    # says epochs 0-1 followed the 4-epoch schedule; the lr of epoch 3 then follows the 3-epoch one.
    assert _run(tmp_path, bin_data, "rp", "--set", "epochs=4", "--max-steps", "20") == 0
    with pytest.raises(SystemExit):
        _run(tmp_path, bin_data, "rp", "--resume", "--set", "epochs=3")
    with pytest.raises(SystemExit):
        _run(tmp_path, bin_data, "rp", "--resume", "--set", "epochs=3",
             "--set", 'schedule_plan=[{"until_epoch": 1, "epochs": 4}]')
    assert _run(tmp_path, bin_data, "rp", "--resume", "--set", "epochs=3",
                "--set", 'schedule_plan=[{"until_epoch": 2, "epochs": 4}]') == 0
    ck = _ck(tmp_path, "rp")
    assert ck["done"] and ck["epoch"] == 3
    cfg = ck["config"]
    assert [T.planned_epochs(cfg, e) for e in range(3)] == [4, 4, 3]
    assert ck["history"][-1]["lr"] == pytest.approx(cfg["lr"] * T.lr_factor(cfg, 29, 30), rel=1e-6)


def test_bf16_channels_last_learns_and_resumes_exactly(tmp_path, bin_data):
    fast = ["--set", "precision=bf16", "--set", "channels_last=true"]
    assert _run(tmp_path, bin_data, "fast", *fast) == 0
    assert _run(tmp_path, bin_data, "fast_split", *fast, "--max-steps", "13") == 0
    assert _run(tmp_path, bin_data, "fast_split", *fast, "--resume") == 0
    a, b = _ck(tmp_path, "fast"), _ck(tmp_path, "fast_split")
    h = a["history"]
    assert h[1]["train_loss"] < h[0]["train_loss"] and h[1]["acc_static"] > 0.3, h
    for k, v in a["model"].items():
        assert v.dtype == (torch.int64 if k.endswith("num_batches_tracked") else torch.float32), k
        assert v.is_contiguous(), k  # checkpoints (and so exports) do not depend on the layout trained in
        assert torch.equal(v, b["model"][k]), k


def test_precision_switch_needs_a_plan_that_keeps_the_trained_steps(tmp_path, bin_data):
    assert _run(tmp_path, bin_data, "sw", "--max-steps", "13") == 0  # 13 steps at fp32
    bf16 = ["--set", "precision=bf16"]
    with pytest.raises(SystemExit):
        _run(tmp_path, bin_data, "sw", "--resume", *bf16)
    with pytest.raises(SystemExit):
        _run(tmp_path, bin_data, "sw", "--resume", *bf16, "--set", 'precision_plan=[{"until_step": 10, "precision": "fp32"}]')
    assert _run(tmp_path, bin_data, "sw", "--resume", *bf16,
                "--set", 'precision_plan=[{"until_step": 13, "precision": "fp32"}]') == 0
    cfg = _ck(tmp_path, "sw")["config"]
    assert [T.precision_at(cfg, g) for g in (0, 12, 13, 19)] == ["fp32", "fp32", "bf16", "bf16"]
    assert "precision from global step 13: bf16" in (tmp_path / "logs" / "sw.log").read_text()


def test_freeze_backbone_trains_only_the_gates(tmp_path, bin_data):
    assert _run(tmp_path, bin_data, "bb") == 0
    assert _run(tmp_path, bin_data, "fz", "--set", f"init_from={tmp_path / 'ck' / 'bb' / 'last.pt'}",
                "--set", "epochs=1", "--set", "freeze_backbone=true", "--set", "distill_teacher=init",
                config="r20_lcnet") == 0
    bb, fz = _ck(tmp_path, "bb")["model"], _ck(tmp_path, "fz")["model"]
    for k, v in bb.items():
        assert torch.equal(v, fz[k]), k  # weights and BN running statistics untouched
    g = [k for k in fz if ".gate_" in k]
    init = T.ResNetCifar(20).add_gates(True, True, 0.01, 0.95, seed=T.D._mix(0, 0x6A7E)).state_dict()
    assert any(not torch.equal(fz[k], init[k]) for k in g)


def test_rho_ramp():
    cfg = dict(T.DEFAULTS, rho=0.4, rho_ramp_epochs=4.0)
    assert [T.rho_at(cfg, e) for e in (0, 2, 4, 6)] == pytest.approx([1.0, 0.7, 0.4, 0.4])
    assert T.rho_at(dict(cfg, rho_ramp_epochs=0.0), 0) == 0.4


def test_lr_schedules():
    cfg = dict(T.DEFAULTS)
    f = [T.lr_factor(cfg, s, 100) for s in range(100)]
    assert abs(f[0] - 1 / 25) < 1e-9 and abs(max(f) - 1.0) < 1e-9 and f[-1] < 0.01
    cfg["schedule"] = "cosine"
    cfg["warmup_frac"] = 0.0
    assert T.lr_factor(cfg, 0, 100) == 1.0 and T.lr_factor(cfg, 99, 100) < 0.01


def test_configs_parse():
    for p in sorted((TRAIN / "configs").glob("*.json")):
        cfg = T.load_config(str(p))
        assert cfg["name"] == p.stem, p


def test_configs_resolve_to_the_recorded_snapshot():
    """tests/data/resolved_configs.json records every config as the trainer resolved it (DEFAULTS, base chain,
    file) when the configs became base + overrides: a run's checkpoint stores that dict and --resume refuses
    any difference, so no config may change what it resolves to. Compared as main() compares on --resume (a
    key missing on one side counts as its DEFAULTS value, so adding a new default is no change), plus comments,
    and strictly (1 and 1.0 differ in the JSON text)."""
    snap = json.loads((TRAIN / "tests" / "data" / "resolved_configs.json").read_text())
    names = sorted(p.stem for p in (TRAIN / "configs").glob("*.json"))
    assert sorted(snap) == names, "a config was added or removed: record it in tests/data/resolved_configs.json"
    for name in names:
        cfg, old = T.load_config(name), snap[name]
        for k in set(cfg) | set(old):
            a, b = old.get(k, T.DEFAULTS.get(k)), cfg.get(k, T.DEFAULTS.get(k))
            assert json.dumps(a) == json.dumps(b), (name, k, a, b)


def _write_configs(folder, **configs):
    for name, body in configs.items():
        (folder / f"{name}.json").write_text(json.dumps(body))
    return folder


def test_config_base_is_read_first_and_overridden(tmp_path):
    _write_configs(tmp_path,
                   root=dict(comment="root", name="root", epochs=7, lr=0.01, rate_band=[0.2, 0.8], sw_taus=[0.4]),
                   mid=dict(comment="mid", name="mid", base="root", lr=0.02, lambda_f=3.0),
                   leaf=dict(name="leaf", base="mid", sw_taus=[], epochs=9))
    root = T.load_config(str(tmp_path / "root.json"))
    mid = T.load_config(str(tmp_path / "mid.json"))
    leaf = T.load_config(str(tmp_path / "leaf.json"), ["lambda_f=5"])
    assert mid == dict(root, name="mid", comment="mid", lr=0.02, lambda_f=3.0)
    assert (mid["epochs"], mid["rate_band"], mid["sw_taus"]) == (7, [0.2, 0.8], [0.4])
    # the base's name and comment do not leak; a list is replaced, not merged; --set still wins
    assert leaf["name"] == "leaf" and "comment" not in leaf and "base" not in leaf and "base" not in mid
    assert (leaf["epochs"], leaf["lr"], leaf["sw_taus"], leaf["lambda_f"]) == (9, 0.02, [], 5)
    # a base chain resolves to what the same keys written out in one file give, key order included
    _write_configs(tmp_path, flat=dict(comment="mid", name="mid", epochs=7, lr=0.02, rate_band=[0.2, 0.8],
                                       sw_taus=[0.4], lambda_f=3.0))
    flat = T.load_config(str(tmp_path / "flat.json"))
    assert flat == mid and list(flat) == list(mid)
    # a base is looked for beside the config, then in train/configs/
    _write_configs(tmp_path, mine=dict(name="mine", base="r20_lcnet_h", rho=0.3))
    mine, h = T.load_config(str(tmp_path / "mine.json")), T.load_config("r20_lcnet_h")
    assert mine == {k: v for k, v in dict(h, name="mine", rho=0.3).items() if k != "comment"}


def test_config_base_cycle_and_missing_base_are_errors(tmp_path):
    _write_configs(tmp_path, a=dict(name="a", base="b"), b=dict(name="b", base="c"), c=dict(name="c", base="a"),
                   self_=dict(name="self_", base="self_"), orphan=dict(name="orphan", base="no_such_config"),
                   typo=dict(name="typo", base="a", bsae="x"))
    with pytest.raises(ValueError, match=r"config base cycle: a\.json -> b\.json -> c\.json -> a\.json"):
        T.load_config(str(tmp_path / "a.json"))
    with pytest.raises(ValueError, match=r"cycle: self_\.json -> self_\.json"):
        T.load_config(str(tmp_path / "self_.json"))
    with pytest.raises(FileNotFoundError, match=r"orphan\.json: base config 'no_such_config' not found"):
        T.load_config(str(tmp_path / "orphan.json"))
    with pytest.raises(KeyError, match="bsae"):
        T.load_config(str(tmp_path / "typo.json"))


@pytest.mark.skipif(os.environ.get("LCNET_SKIP_DDP") == "1", reason="LCNET_SKIP_DDP=1")
def test_ddp_two_ranks_identical(tmp_path, bin_data):
    dump = tmp_path / "ranks"
    env = dict(os.environ, OMP_NUM_THREADS="1", LCNET_CPU="1", PYTHONPATH=str(TRAIN))
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           "-m", "lcnet_train.train", "--config", "r20_backbone", "--data", str(bin_data), "--run-name", "ddp",
           "--out", str(tmp_path / "ck"), "--log-folder", str(tmp_path / "logs"), *TINY, "--set", "epochs=1",
           "--dump-rank-state", str(dump)]
    r = subprocess.run(cmd, cwd=TRAIN, env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    a = torch.load(dump / "rank0.pt", weights_only=False)
    b = torch.load(dump / "rank1.pt", weights_only=False)
    for k in a:
        assert torch.equal(a[k], b[k]), k
    ck = _ck(tmp_path, "ddp")
    assert ck["world_size"] == 2 and ck["done"]
    for k in a:
        assert torch.equal(a[k], ck["model"][k]), k


def test_sandwich_terms():
    cfg = T.load_config("r20_sandwich_b")
    # the compute target is linear in tau and ramps down from 1
    assert T.sw_rho_at(cfg, 0.0) == pytest.approx(cfg["sw_rho"][0])
    assert T.sw_rho_at(cfg, cfg["sw_tau_max"]) == pytest.approx(cfg["sw_rho"][1])
    assert T.sw_rho_at(cfg, 0.0, 0.0) == 1.0
    # thresholds: the fixed ones first, then reproducible draws in [0, tau_max]
    a, b = T._tau_draws(cfg, 7), T._tau_draws(cfg, 7)
    assert a == b and a[:len(cfg["sw_taus"])] == cfg["sw_taus"]
    assert all(0 <= t <= cfg["sw_tau_max"] for t in a[len(cfg["sw_taus"]):])


def test_sandwich_step_keeps_frozen_statistics_and_trains_the_gates():
    from lcnet_train.model import ResNetCifar, static_macs
    cfg = T.load_config("r20_sandwich_b", ["precision=fp32", "channels_last=false"])
    torch.manual_seed(0)
    m = ResNetCifar(20).add_gates(seed=0)
    m.train()
    before = [b.running_mean.clone() for b in m.modules() if isinstance(b, torch.nn.BatchNorm2d)]
    x, y = torch.randn(8, 3, 32, 32), torch.randint(0, 10, (8,))
    full, loss, terms = T.sandwich_step(m, x, y, cfg, static_macs(m), 3, "fp32", torch.device("cpu"), 1.0)
    after = [b.running_mean for b in m.modules() if isinstance(b, torch.nn.BatchNorm2d)]
    assert all(torch.equal(p, q) for p, q in zip(before, after))  # "frozen": inference's statistics throughout
    assert all(b.training for b in m.modules() if isinstance(b, torch.nn.BatchNorm2d))  # restored
    assert torch.isfinite(loss) and full.shape == (8, 10)
    assert m.layer1[0].gate_l.weight.grad.abs().sum() > 0 and m.conv1.weight.grad.abs().sum() > 0
    assert len([k for k in terms if k.startswith("t")]) == len(cfg["sw_taus"]) + cfg["sw_random"]


def test_sandwich_run_resumes_exactly(tmp_path, bin_data):
    assert _run(tmp_path, bin_data, "bb") == 0
    common = ["--set", f"init_from={tmp_path / 'ck' / 'bb' / 'last.pt'}", "--set", "epochs=1",
              "--set", "precision=fp32", "--set", "channels_last=false", "--set", "eval_taus=[0.3]"]
    assert _run(tmp_path, bin_data, "sw", *common, config="r20_sandwich_b") == 0
    assert _run(tmp_path, bin_data, "sw2", *common, "--max-steps", "4", config="r20_sandwich_b") == 0
    assert _run(tmp_path, bin_data, "sw2", *common, "--resume", config="r20_sandwich_b") == 0
    a, b = _ck(tmp_path, "sw"), _ck(tmp_path, "sw2")
    for k in a["model"]:
        assert torch.equal(a["model"][k], b["model"][k]), k
    sweep = a["history"][-1]["sweep"]
    assert sweep[0]["tau"] == 0.3 and 0 < sweep[0]["macs_frac"] <= 1.01 and len(sweep[0]["rates"]) == 9


def test_budget_passes_draw_budgets_and_target_them():
    cfg = T.load_config("r20_budget_d")
    draws = T._tau_draws(cfg, 5)
    assert draws[0] == cfg["sw_budgets"][0] and all(cfg["sw_budget_min"] <= b <= 1 for b in draws[1:])
    tau, budget, rho = T._pass_setting(cfg, 0.45, 10.0)
    assert (tau, budget) == (cfg["tau_l"], 0.45) and rho == pytest.approx(0.45)
    assert T._pass_setting(cfg, 0.45, 0.0)[2] == 1.0  # ramped from the full network


def test_polar_loss_pulls_only_scaled_units_up():
    z = torch.tensor([[-0.5, 0.3, 0.8, 1.7]], requires_grad=True)
    from lcnet_train.model import _gate_st
    _, f, _ = _gate_st(z, 0.0)
    loss = T.polar_loss([dict(fl=None, fc=f)])
    loss.backward()
    assert loss.item() == pytest.approx((0.7 + 0.2) / 4)
    assert z.grad.tolist()[0] == pytest.approx([0.0, -0.25, -0.25, 0.0])  # skipped and saturated units untouched


def test_sandwich_without_the_full_pass_trains_the_gated_passes_only():
    from lcnet_train.model import ResNetCifar, static_macs
    cfg = T.load_config("r20_sandwich_b", ["precision=fp32", "channels_last=false", "sw_full=0",
                                           "sw_teacher=\"init\""])
    torch.manual_seed(0)
    m = ResNetCifar(20).add_gates(seed=0)
    teacher = ResNetCifar(20).eval()
    m.train()
    x, y = torch.randn(8, 3, 32, 32), torch.randint(0, 10, (8,))
    logits, loss, terms = T.sandwich_step(m, x, y, cfg, static_macs(m), 3, "fp32", torch.device("cpu"), 1.0,
                                          teacher)
    assert "full" not in terms and torch.isfinite(loss) and logits.shape == (8, 10)
    assert m.layer1[0].gate_l.weight.grad.abs().sum() > 0 and m.conv1.weight.grad.abs().sum() > 0
    cfg["sw_teacher"] = "full"
    with pytest.raises(ValueError, match="needs the full pass"):
        T.sandwich_step(m, x, y, cfg, static_macs(m), 3, "fp32", torch.device("cpu"), 1.0)


def test_init_gates_fine_tunes_a_trained_lcnet_and_the_teacher_can_come_from_elsewhere(tmp_path):
    from lcnet_train.model import ResNetCifar
    torch.manual_seed(0)
    lc = ResNetCifar(20).add_gates(seed=3)
    with torch.no_grad():
        lc.layer2[1].gate_l.bias.fill_(0.123)
    bb = ResNetCifar(20)
    for name, m in (("lc", lc), ("bb", bb)):
        torch.save(dict(model=m.state_dict(), epoch=1, elapsed_s=1.0, history=[], run=name,
                        config=dict(phase="gates" if name == "lc" else "backbone")), tmp_path / f"{name}.pt")
    cfg = T.load_config("r20_sandwich_b", [f"init_from=\"{tmp_path / 'lc.pt'}\"", "init_gates=true",
                                           f"teacher_from=\"{tmp_path / 'bb.pt'}\"", "sw_teacher=\"init\""])
    m, phases = T.build_model(cfg, torch.device("cpu"), lambda msg: None)
    assert torch.equal(m.layer2[1].gate_l.bias, lc.layer2[1].gate_l.bias) and phases[-1]["run"] == "lc"
    teacher = T.make_teacher(cfg, torch.device("cpu"))
    assert torch.equal(teacher.conv1.weight, bb.conv1.weight)
    deep = ResNetCifar(32)  # a deeper teacher keeps its depth, read from its checkpoint's config
    torch.save(dict(model=deep.state_dict(), config=dict(phase="backbone", depth=32)), tmp_path / "deep.pt")
    teacher = T.make_teacher(dict(cfg, teacher_from=str(tmp_path / "deep.pt")), torch.device("cpu"))
    assert len(teacher.layer1) == 5 and torch.equal(teacher.layer3[4].conv2.weight, deep.layer3[4].conv2.weight)
    assert teacher(torch.randn(2, 3, 32, 32), mode="static").shape == (2, 10)
    with pytest.raises(ValueError, match="holds no gates"):
        T.build_model(dict(cfg, init_from=str(tmp_path / "bb.pt")), torch.device("cpu"), lambda msg: None)
    # a list is an ensemble: its output's softmax is the mean of its members' probabilities
    ens = T.make_teacher(dict(cfg, teacher_from=[str(tmp_path / "bb.pt"), str(tmp_path / "deep.pt")]),
                         torch.device("cpu"))
    x = torch.randn(3, 3, 32, 32)
    with torch.no_grad():
        want = (bb.eval()(x, mode="static").softmax(1) + deep.eval()(x, mode="static").softmax(1)) / 2
        got = ens(x, mode="static").softmax(1)
    assert torch.allclose(got, want, atol=1e-6) and not any(p.requires_grad for p in ens.parameters())


def test_init_rescale_gates_gives_loaded_gates_the_exports_scale():
    from lcnet_train.model import ResNetCifar
    torch.manual_seed(0)
    m = ResNetCifar(20).add_gates(seed=3)
    with torch.no_grad():
        m.layer2[1].gate_l.weight.mul_(0.01)
        m.layer2[1].gate_l.bias.fill_(0.05)  # a gate whose largest value is far under the export's 0.9
    x = torch.randn(16, 3, 32, 32)
    logs = []
    cfg = dict(T.DEFAULTS, init_gates=True, init_rescale_gates=16)
    T.rescale_init_gates(m, cfg, lambda n: x[:n], logs.append)
    _, infos = m.eval()(x, mode="soft", trace=True)
    assert abs(infos[4]["s_l"].max().item() - 0.9) < 1e-5 and "rescaled on 16" in logs[0]
    with pytest.raises(ValueError, match="needs init_gates"):
        T.rescale_init_gates(m, dict(cfg, init_gates=False), lambda n: x[:n], logs.append)
    before = [p.clone() for p in m.parameters()]
    T.rescale_init_gates(m, dict(cfg, init_rescale_gates=0), lambda n: 1 / 0, logs.append)  # 0: untouched
    assert all(torch.equal(a, b) for a, b in zip(before, m.parameters()))


def test_block_gates_may_learn_at_their_own_rate():
    from lcnet_train.model import ResNetCifar
    m = ResNetCifar(20).add_gates(seed=3)
    cfg = dict(T.DEFAULTS, phase="gates", lr=0.01, gate_lr_mult=0.5, gate_l_lr_mult=4.0)
    rates = {id(p): g["lr"] for g in T.make_optimizer(m, cfg).param_groups for p in g["params"]}
    assert rates[id(m.layer2[1].gate_l.weight)] == 0.02 and rates[id(m.layer2[1].gate_c.weight)] == 0.005
    assert rates[id(m.conv1.weight)] == 0.01
    assert len(T.make_optimizer(m, dict(cfg, gate_l_lr_mult=1.0)).param_groups) == 2


def test_gated_batch_statistics_follow_the_default_thresholds_pass_only():
    from lcnet_train.model import ResNetCifar, static_macs
    cfg = T.load_config("r20_sandwich_k", ["precision=fp32", "channels_last=false"])
    torch.manual_seed(0)
    m = ResNetCifar(20).add_gates(seed=0)
    m.train()
    bns = [b for b in m.modules() if isinstance(b, torch.nn.BatchNorm2d)]
    before = [(b.running_mean.clone(), int(b.num_batches_tracked)) for b in bns]
    x, y = torch.randn(8, 3, 32, 32), torch.randint(0, 10, (8,))
    T.sandwich_step(m, x, y, cfg, static_macs(m), 3, "fp32", torch.device("cpu"), 1.0, ResNetCifar(20).eval())
    # one update (the default threshold's pass), not one per pass
    assert all(int(b.num_batches_tracked) == n + 1 for b, (_, n) in zip(bns, before))
    assert any(not torch.equal(b.running_mean, mu) for b, (mu, _) in zip(bns, before))


def test_joint_band_term_reaches_a_block_that_runs_for_too_few_images():
    from lcnet_train.model import ResNetCifar, static_macs
    cfg = T.load_config("r20_perimage_l", ["precision=fp32", "channels_last=false"])
    torch.manual_seed(0)
    m = ResNetCifar(20).add_gates(seed=0)
    with torch.no_grad():  # block 1.1 off for every image, 1.2 on for every one
        m.layer1[1].gate_l.bias.fill_(-5.0)
        m.layer1[1].gate_l.weight.zero_()
        m.layer1[2].gate_l.weight.zero_()
        m.layer1[2].gate_l.bias.fill_(0.5)
    m.train()
    x = torch.randn(8, 3, 32, 32)
    logits, infos = m(x, mode="soft", tau_l=0.0, tau_c=0.0, trace=True)
    terms = T.gate_loss(m, infos, cfg, logits, x, static_macs(m))
    # block 1.1 off for every image (rate 0 < 0.1); 1.2 and the five other blocks not exempt (every block but
    # the downsampling 2.0 and 3.0) on for every image (rate 1 > 0.9): each 0.1 outside the band
    assert terms["band"].item() == pytest.approx(cfg["lambda_band"] * 7 * 0.1 ** 2, rel=1e-5)
    terms["band"].backward()
    assert m.layer1[2].gate_l.bias.grad.item() > 0  # pushes 1.2's gate down for some images
    assert m.layer1[1].gate_l.bias.grad.item() < 0  # and 1.1's up, though the clamp holds it at 0 for every image


def _one_block_off_the_rest_on():
    """An R20 whose block 1.1 is off for every image and every other block on for every one, and the infos of
    a "hard_st" pass over 8 random images."""
    from lcnet_train.model import ResNetCifar
    torch.manual_seed(0)
    m = ResNetCifar(20).add_gates(seed=0)
    with torch.no_grad():
        m.layer1[1].gate_l.bias.fill_(-5.0)
        m.layer1[1].gate_l.weight.zero_()
    m.train()
    x = torch.randn(8, 3, 32, 32)
    _, infos = m(x, mode="hard_st", tau_l=0.0, tau_c=0.0, trace=True)
    return m, infos


@pytest.mark.parametrize("free, outside", [([], 7), ([1], 4), ([3], 5), ([1, 2, 3], 0)])
def test_band_leaves_the_free_stages_alone(free, outside):
    cfg = T.load_config("r20_perimage_l", ["precision=fp32", "channels_last=false", f"band_free_stages={free}"])
    m, infos = _one_block_off_the_rest_on()
    band = T.band_loss(m, infos, cfg)
    # of the 7 blocks outside the band (1.0, 1.1, 1.2, 2.1, 2.2, 3.1, 3.2), those of the free stages drop out
    assert band.item() == pytest.approx(outside * 0.1 ** 2, rel=1e-5, abs=1e-12)


def test_a_stage_band_replaces_the_band_for_its_stage_only():
    cfg = T.load_config("r20_perimage_l", ["precision=fp32", "channels_last=false",
                                           "stage_bands=[[0.5, 0.9], null]"])
    m, infos = _one_block_off_the_rest_on()
    # stage 1: 1.1 is 0.5 under its band, 1.0 and 1.2 0.1 over; stages 2 and 3 keep [0.1, 0.9]: 4 blocks 0.1 over
    assert T.band_loss(m, infos, cfg).item() == pytest.approx(0.5 ** 2 + 6 * 0.1 ** 2, rel=1e-5)


def test_channel_gates_that_read_nothing_keep_the_same_channels_for_every_image():
    cfg = T.load_config("r20_sandwich_q", ["precision=fp32", "channels_last=false", "init_from=null"])
    m, _ = T.build_model(cfg, torch.device("cpu"), lambda *_: None)
    gc = [b.gate_c for b in m.blocks()]
    assert all(g.weight.abs().sum() == 0 and not g.weight.requires_grad and g.bias.requires_grad for g in gc)
    opt = T.make_optimizer(m, cfg)
    trained = {id(p) for g in opt.param_groups for p in g["params"]}
    assert not any(id(g.weight) in trained for g in gc) and all(id(g.bias) in trained for g in gc)
    m.train()
    x, y = torch.randn(8, 3, 32, 32), torch.randint(0, 10, (8,))
    teacher = T.ResNetCifar(20).eval()
    T.sandwich_step(m, x, y, cfg, T.static_macs(m), 3, "fp32", torch.device("cpu"), 1.0, teacher)  # backward included
    opt.step()
    assert all(g.weight.abs().sum() == 0 for g in gc) and any(g.bias.grad.abs().sum() > 0 for g in gc)
    m.eval()
    with torch.no_grad():
        _, infos = m(torch.randn(4, 3, 32, 32) * 3, mode="hard", tau_l=0.3, tau_c=0.3, trace=True)
    for info in infos:  # every image the same channel gate values, block gates still per image
        assert torch.equal(info["s_c"], info["s_c"][:1].expand_as(info["s_c"]))


def test_swa_run_ends_on_the_mean_of_its_snapshots_and_resumes_exactly(tmp_path, bin_data):
    assert _run(tmp_path, bin_data, "bb") == 0
    common = ["--set", f"init_from={tmp_path / 'ck' / 'bb' / 'last.pt'}", "--set", "epochs=1",
              "--set", "precision=fp32", "--set", "channels_last=false", "--set", "swa_every_steps=3",
              "--set", "schedule=\"constant\""]
    assert _run(tmp_path, bin_data, "swa", *common, config="r20_sandwich_g") == 0
    assert _run(tmp_path, bin_data, "swa2", *common, "--max-steps", "4", config="r20_sandwich_g") == 0
    assert _ck(tmp_path, "swa2")["swa"]["n"] == 1
    assert _run(tmp_path, bin_data, "swa2", *common, "--resume", config="r20_sandwich_g") == 0
    a, b = _ck(tmp_path, "swa"), _ck(tmp_path, "swa2")
    steps = a["schedule"]["total_steps"]
    assert a["done"] and a["swa"]["n"] == steps // 3 and a["history"][-1]["swa_snapshots"] == steps // 3
    for k in a["model"]:
        assert torch.equal(a["model"][k], b["model"][k]), k
        assert torch.equal(a["model_last"][k], b["model_last"][k]), k
    w = "layer1.0.conv1.weight"
    assert not torch.equal(a["model"][w], a["model_last"][w])  # the mean, not the last iterate
    assert torch.equal(a["model"]["bn1.running_mean"], a["model_last"]["bn1.running_mean"])
    assert torch.allclose(a["model"][w], a["swa"]["mean"][w].float())


def test_swa_needs_fixed_batch_norm_statistics(tmp_path, bin_data):
    assert _run(tmp_path, bin_data, "bb") == 0
    with pytest.raises(SystemExit, match="swa_every_steps needs batch-norm statistics"):
        _run(tmp_path, bin_data, "swa", "--set", f"init_from={tmp_path / 'ck' / 'bb' / 'last.pt'}",
             "--set", "swa_every_steps=2", "--set", "sw_bn=\"gated_batch\"", config="r20_sandwich_k")
