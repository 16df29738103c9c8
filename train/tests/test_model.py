import pytest
import torch
import torch.nn.functional as F

from conftest import SHARED
from lcnet_train.model import ResNetCifar, load_state, soft_macs, trace_of


def test_state_dict_names():
    m = ResNetCifar(20).add_gates()
    names = {k for k in m.state_dict() if not k.endswith("num_batches_tracked")}
    expect = {"conv1.weight", "linear.weight", "linear.bias"}
    expect |= {f"bn1.{p}" for p in ("weight", "bias", "running_mean", "running_var")}
    for s in (1, 2, 3):
        for i in range(3):
            b = f"layer{s}.{i}"
            expect |= {f"{b}.conv1.weight", f"{b}.conv2.weight"}
            expect |= {f"{b}.bn{j}.{p}" for j in (1, 2) for p in ("weight", "bias", "running_mean", "running_var")}
            expect |= {f"{b}.gate_l.weight", f"{b}.gate_l.bias", f"{b}.gate_c.weight", f"{b}.gate_c.bias"}
    assert names == expect
    assert tuple(m.state_dict()["layer2.0.gate_c.weight"].shape) == (32, 16)
    assert tuple(m.state_dict()["layer3.0.gate_l.weight"].shape) == (1, 32)


def test_option_a_shortcut():
    blk = ResNetCifar(20).layer2[0]
    x = torch.rand(2, 16, 32, 32)
    s = blk.shortcut(x)
    assert s.shape == (2, 32, 16, 16)
    assert torch.equal(s[:, 8:24], x[:, :, ::2, ::2])
    assert s[:, :8].abs().sum() == 0 and s[:, 24:].abs().sum() == 0


def test_gates_at_one_equal_static_and_skip_semantics():
    torch.manual_seed(0)
    m = ResNetCifar(20).eval()
    x = torch.randn(4, 3, 32, 32)
    with torch.no_grad():
        ref = m(x, mode="static")
        m.add_gates(init_std=0.0, init_bias=1.5)  # clamp -> exactly 1
        assert torch.allclose(m(x, mode="soft"), ref, atol=1e-6)
        assert torch.allclose(m(x, mode="hard"), ref, atol=1e-6)
        assert torch.equal(m(x, mode="static"), ref)
        # a skipped block outputs relu(shortcut(x)) == shortcut(x) for post-ReLU x
        blk = m.layer2[0]
        blk.gate_l.bias.fill_(0.4)
        h = torch.relu(torch.randn(2, 16, 32, 32))
        y, _ = blk(h, mode="hard", tau_l=0.5, tau_c=0.5)
        assert torch.equal(y, blk.shortcut(h))
        # soft mode scales the residual by s_L
        y_soft, _ = blk(h, mode="soft")
        r = blk.bn2(blk.conv2(torch.relu(blk.bn1(blk.conv1(h)))))
        assert torch.allclose(y_soft, torch.relu(blk.shortcut(h) + 0.4 * r), atol=1e-5)


def test_gates_stay_float32_under_bf16_autocast():
    # training may run the convolutions in bf16; gate values (thresholds, compute term) must not be rounded
    torch.manual_seed(0)
    m = ResNetCifar(20).add_gates(init_std=0.05, init_bias=0.5)
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        _, ref = m(x, mode="soft", trace=True)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            _, infos = m(x, mode="soft", trace=True)
    for a, b in zip(ref, infos):
        assert b["s_c"].dtype == b["s_l"].dtype == torch.float32
        # the gates read the block input, which bf16 convolutions have already rounded: near, not equal
        assert torch.allclose(a["s_c"], b["s_c"], atol=0.02) and torch.allclose(a["s_l"], b["s_l"], atol=0.02)


def test_clamp_grad_passes_only_where_asked():
    """Forward values never change; the gradient reaches a gate above 1 only with "upper"/"both",
    one below 0 only with "both"."""
    torch.manual_seed(0)
    m = ResNetCifar(20).add_gates(init_std=0.0, init_bias=1.3).eval()
    blk = m.layer1[0]
    blk.gate_c.bias.data[:8] = -0.2  # half the channels below 0, half above 1
    x = torch.relu(torch.randn(2, 16, 32, 32))
    outs = {}
    for how in ("exact", "upper", "both"):
        m.set_clamp_grad(how)
        m.zero_grad()
        y, info = blk(x, mode="soft")
        (y.sum() + info["s_l"].sum()).backward()
        outs[how] = (y.detach(), blk.gate_l.bias.grad.clone(), blk.gate_c.bias.grad.clone())
    for how in ("upper", "both"):
        assert torch.equal(outs[how][0], outs["exact"][0])
    assert outs["exact"][1].abs().sum() == 0 and outs["exact"][2].abs().sum() == 0
    assert outs["upper"][1].abs().sum() > 0
    assert outs["upper"][2][8:].abs().sum() > 0 and outs["upper"][2][:8].abs().sum() == 0
    assert outs["both"][2][:8].abs().sum() > 0
    with pytest.raises(ValueError):
        m.set_clamp_grad("sometimes")


def test_hard_ste_runs_the_hard_forward_and_reaches_skipped_gates():
    torch.manual_seed(0)
    m = ResNetCifar(20).add_gates(init_std=0.05, init_bias=0.9).eval()
    blk = m.layer2[1]
    with torch.no_grad():  # channel 0 of this block off for every image (0 < s = 0.3 <= tau), channel 1 on
        blk.gate_c.weight[:2].zero_()
        blk.gate_c.bias[0], blk.gate_c.bias[1] = 0.3, 0.9
    x = torch.randn(3, 3, 32, 32)
    grads = {}
    for mode in ("hard", "hard_ste"):
        m.zero_grad()
        out = m(x, mode=mode, tau_l=0.5, tau_c=0.5)
        if mode == "hard":
            ref = out.detach()
        else:
            assert torch.allclose(out, ref, atol=1e-6)
        out.logsumexp(1).sum().backward()
        grads[mode] = blk.gate_c.bias.grad.clone()
    assert grads["hard"][0] == 0 and grads["hard"][1] != 0
    assert grads["hard_ste"][0] != 0  # the skipped channel learns whether running it would help


def test_channel_skip_equals_sliced_conv():
    """Masked channels == computing conv1/conv2 with those channels removed (the Rust sliced path)."""
    torch.manual_seed(1)
    m = ResNetCifar(20).add_gates(init_std=0.5, init_bias=0.5).eval()
    blk = m.layer3[1]
    x = torch.relu(torch.randn(1, 64, 8, 8))
    with torch.no_grad():
        y, info = blk(x, mode="hard", tau_l=-1.0, tau_c=0.5)
        s = info["s_c"][0]
        keep = (s > 0.5).nonzero().flatten()
        assert 0 < len(keep) < 64
        w1, w2 = blk.conv1.weight[keep], blk.conv2.weight[:, keep]
        bn1 = blk.bn1
        h = F.conv2d(x, w1, padding=1)
        h = (h - bn1.running_mean[keep, None, None]) / torch.sqrt(bn1.running_var[keep, None, None] + 1e-5) \
            * bn1.weight[keep, None, None] + bn1.bias[keep, None, None]
        h = torch.relu(h) * s[keep][None, :, None, None]
        r = blk.bn2(F.conv2d(h, w2, padding=1))
        ref = torch.relu(x + info["s_l"][0] * r)
    assert torch.allclose(y, ref, atol=1e-5)


@pytest.mark.parametrize("depth", [20, 56])
def test_reference_weights_known_answers(depth):
    ref = SHARED / "reference" / f"resnet{depth}-reference.safetensors"
    ka = SHARED / "reference" / "known-answers.safetensors"
    if not (ref.is_file() and ka.is_file()):
        pytest.skip(f"reference weights absent under {SHARED / 'reference'}: known-answer test skipped")
    from safetensors.torch import load_file
    m = ResNetCifar(depth)
    load_state(m, load_file(str(ref)))
    k = load_file(str(ka))
    x = k["images_u8_nhwc"].permute(0, 3, 1, 2).float() / 255.0
    x = (x - torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)) / torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    with torch.no_grad():
        out = m.eval()(x, mode="static")
    assert (out - k[f"resnet{depth}_logits"]).abs().max() < 1e-4


def test_hard_st_runs_the_hard_forward_and_keeps_clamped_gates_alive():
    torch.manual_seed(0)
    m = ResNetCifar(20).add_gates(seed=1)
    with torch.no_grad():
        m.layer1[1].gate_l.bias.fill_(-0.5)   # clamped at 0: skipped for every image
        m.layer2[1].gate_l.bias.fill_(3.0)    # clamped at 1
    x = torch.randn(3, 3, 32, 32)
    hard, _ = m(x, mode="hard", tau_l=0.4, tau_c=0.4, trace=True)
    st, infos = m(x, mode="hard_st", tau_l=0.4, tau_c=0.4, trace=True)
    assert torch.allclose(hard, st)
    # the usage it records gives the exact MACs of the inference trace
    frac = soft_macs(m, infos, "st")
    tr = trace_of(m, infos, "hard", 0.4, 0.4)
    assert torch.allclose(frac.double(), tr.macs.double())
    st.pow(2).sum().backward()
    for blk in (m.layer1[1], m.layer2[1]):
        assert blk.gate_l.bias.grad.abs().item() > 0
    # gates whose input gradient is cut leave the backbone's features alone
    m.zero_grad()
    for blk in m.blocks():
        blk.gate_input_grad = False
    _, infos = m(x, mode="hard_st", tau_l=0.4, tau_c=0.4, trace=True)
    soft_macs(m, infos, "st").sum().backward()
    assert m.conv1.weight.grad is None or m.conv1.weight.grad.abs().sum() == 0
    assert m.layer1[0].gate_l.weight.grad.abs().sum() > 0


def test_macs_l_grad_scales_only_the_block_gates_gradient():
    torch.manual_seed(0)
    m = ResNetCifar(20).add_gates(seed=3, init_std=0.3, init_bias=0.5)
    for blk in m.blocks():  # the compute term then reaches each gate through its own usage only
        blk.gate_input_grad = False
    x = torch.randn(3, 3, 32, 32)
    grads, values = [], []
    for w in (1.0, 0.25):
        m.zero_grad()
        _, infos = m(x, mode="hard_st", tau_l=0.4, tau_c=0.4, trace=True)
        frac = soft_macs(m, infos, "st", l_grad=w)
        values.append(frac.detach())
        frac.sum().backward()
        grads.append((m.layer2[1].gate_l.bias.grad.clone(), m.layer2[1].gate_c.bias.grad.clone()))
    assert torch.equal(values[0], values[1])  # the MACs stay exact
    assert grads[0][0].abs().item() > 0
    assert torch.allclose(grads[1][0], 0.25 * grads[0][0])
    assert torch.allclose(grads[1][1], grads[0][1])


def test_budget_input_starts_neutral_and_then_moves_the_gates():
    torch.manual_seed(0)
    m = ResNetCifar(20).add_gates(seed=2, init_std=0.5, init_bias=0.5)
    x = torch.randn(4, 3, 32, 32)
    before, _ = m(x, mode="hard", tau_l=0.0, tau_c=0.0, trace=True)
    m.add_budget_input()
    assert m.layer1[0].budget_l.shape == (1,) and m.layer3[2].budget_c.shape == (64,)
    same, _ = m(x, mode="hard", tau_l=0.0, tau_c=0.0, trace=True, budget=0.3)
    assert torch.equal(before, same)  # v starts at 0
    with torch.no_grad():
        for blk in m.blocks():
            blk.budget_l.fill_(-2.0)
    _, lo = m(x, mode="hard_st", tau_l=0.0, tau_c=0.0, trace=True, budget=0.9)
    _, hi = m(x, mode="hard_st", tau_l=0.0, tau_c=0.0, trace=True, budget=0.1)
    run = lambda infos: sum(int((i["s_l"] > 0).sum()) for i in infos)
    assert run(lo) < run(hi)  # the budget shifts the L-Net's pre-activation by v * budget
