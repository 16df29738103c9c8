import pytest
import torch

from lcnet_train import export as E
from lcnet_train.gate_scale import gate_maxima, rescale_gates
from lcnet_train.model import ResNetCifar, load_state, trace_of


def _small_gated_model(seed: int = 0) -> ResNetCifar:
    """A fresh gated R20 whose gates sit near 0.05 (as joint training leaves them), one L gate saturated at 1
    and one C channel switched off for every image."""
    ck = E.fresh_checkpoint(20, gates=True, seed=seed)
    m = ResNetCifar(20).add_gates(True, True)
    load_state(m, ck["model"])
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for blk in m.blocks():
            for lin in (blk.gate_l, blk.gate_c):
                lin.weight.copy_(0.01 * torch.randn(lin.weight.shape, generator=g))
                lin.bias.copy_(0.05 + 0.02 * torch.rand(lin.bias.shape, generator=g))
        m.blocks()[8].gate_l.bias.fill_(3.0)
        m.blocks()[2].gate_c.bias[5] = -3.0
    return m.eval()


def _run(m, x, tau):
    with torch.no_grad():
        logits, infos = m(x, mode="hard", tau_l=tau, tau_c=tau, trace=True)
    return logits, trace_of(m, infos, "hard", tau, tau)


def test_rescaling_keeps_the_network_and_spreads_the_gates():
    torch.manual_seed(0)
    m = _small_gated_model()
    x = torch.randn(64, 3, 32, 32)
    before, tr0 = _run(m, x, 0.0)
    _, tr_mid = _run(m, x, 0.3)
    assert tr_mid.executed[:, :8].sum() == 0, "before: τ = 0.3 switches every unsaturated block off"
    report = rescale_gates(m, x, headroom=0.9)
    after, tr1 = _run(m, x, 0.0)
    assert torch.allclose(after, before, atol=1e-4, rtol=1e-4), (after - before).abs().max()
    assert torch.equal(tr0.executed, tr1.executed) and torch.equal(tr0.kept, tr1.kept)
    assert torch.equal(tr0.macs, tr1.macs)
    # Every gate that was on and unsaturated now peaks at exactly the headroom over these images.
    for i, (ml, mc) in enumerate(gate_maxima(m, x)):
        assert ml.item() == pytest.approx(1.0 if i == 8 else 0.9, abs=1e-5)
        on = mc > 0
        assert torch.allclose(mc[on], torch.full_like(mc[on], 0.9), atol=1e-5)
        if i == 2:
            assert mc[5] == 0, "a channel that never fires is left alone"
    assert report.l_total == 9 and report.l_scaled == 8
    assert report.c_scaled == report.c_total - 1
    assert report.k_min == 1.0 and report.k_max > 10
    # Now τ = 0.3 keeps blocks: the threshold means a share of each gate's largest value.
    _, tr_mid = _run(m, x, 0.3)
    assert tr_mid.executed[:, :8].float().mean() > 0.9


def test_headroom_must_be_a_share():
    m = _small_gated_model()
    with pytest.raises(ValueError, match="headroom"):
        rescale_gates(m, torch.randn(2, 3, 32, 32), headroom=1.5)
