import torch

from lcnet_train.model import ResNetCifar, soft_macs, static_macs, trace_of


def test_static_constants():
    assert static_macs(20) == 40_551_040
    assert static_macs(56) == 125_485_696
    for n in (3, 5, 9, 18):
        assert static_macs(6 * n + 2) == 14_155_776 * n - 1_916_288
    assert round(static_macs(32) / 1e6, 2) == 68.86
    assert round(static_macs(110) / 1e6, 2) == 252.89


def _trace(model, x, mode, tl, tc):
    with torch.no_grad():
        _, infos = model(x, mode=mode, tau_l=tl, tau_c=tc, trace=True)
    return trace_of(model, infos, mode, tl, tc)


def test_gate_macs_counted_and_skips_subtracted():
    torch.manual_seed(0)
    m = ResNetCifar(20).add_gates(init_std=0.0, init_bias=0.9).eval()
    x = torch.randn(3, 3, 32, 32)
    st = _trace(m, x, "static", 0.5, 0.5)
    assert st.macs.tolist() == [40_551_040] * 3
    full = _trace(m, x, "hard", 0.5, 0.5)  # all gates 0.9 > 0.5: everything runs, gate MACs added
    gate = sum(b.in_planes + b.in_planes * b.planes for b in m.blocks())
    assert full.macs.tolist() == [40_551_040 + gate] * 3
    assert full.executed.all() and full.kept.tolist()[0] == [b.planes for b in m.blocks()]
    # skip block layer2.1 (index 4) for every input; halve layer3.2's kept channels
    with torch.no_grad():
        m.layer2[1].gate_l.bias.fill_(0.3)
        m.layer3[2].gate_c.bias[:32] = 0.2
    t = _trace(m, x, "hard", 0.5, 0.5)
    b4 = m.layer2[1]
    conv4 = 2 * 9 * 16 * 16 * 32 * 32
    conv8_half = 9 * 8 * 8 * 64 * 32 * 2
    expect = 40_551_040 + gate - conv4 - b4.in_planes * b4.planes - conv8_half
    assert t.macs.tolist() == [expect] * 3
    assert t.executed[:, 4].tolist() == [False] * 3 and t.kept[:, 4].tolist() == [0] * 3
    assert t.kept[:, 8].tolist() == [32] * 3


def test_threshold_boundary_is_skip():
    m = ResNetCifar(20).add_gates(init_std=0.0, init_bias=0.5).eval()
    t = _trace(m, torch.randn(2, 3, 32, 32), "hard", 0.5, 0.5)  # s == tau  ->  skipped
    assert not t.executed.any()
    assert t.macs.tolist() == [9 * 3 * 16 * 32 * 32 + 640 + sum(b.in_planes for b in m.blocks())] * 2


def test_ste_proxy_is_exact_macs_at_zero_thresholds_with_a_gradient():
    torch.manual_seed(1)
    m = ResNetCifar(20).add_gates(init_std=0.5, init_bias=0.2).eval()
    x = torch.randn(4, 3, 32, 32)
    _, infos = m(x, mode="soft", trace=True)
    exact = trace_of(m, infos, "hard", 0.0, 0.0).macs
    assert 0 < exact.min() < 40_551_040  # some blocks and channels are off, some on
    ste = soft_macs(m, infos, "ste")
    assert ste.detach().round().to(torch.int64).tolist() == exact.tolist()
    ste.sum().backward()
    g = [b.gate_c.weight.grad for b in m.blocks()]
    assert any(x is not None and x.abs().sum() > 0 for x in g)
    soft = soft_macs(m, [dict(i, s_l=i["s_l"].detach(), s_c=i["s_c"].detach()) for i in infos], "soft")
    assert (soft < exact).all()  # the soft proxy counts kept gates by their value, below the real cost
