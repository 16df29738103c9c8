import torch

from lcnet_train.export import fresh_checkpoint
from lcnet_train.model import ResNetCifar, load_state
from lcnet_train.oracle_gates import fit, fit_logistic


def _model():
    m = ResNetCifar(20).add_gates()
    load_state(m, fresh_checkpoint(20)["model"])
    return m.eval()


def test_budget_extremes_give_all_on_or_all_off():
    torch.manual_seed(0)
    x = torch.randn(48, 3, 32, 32)
    m = _model()
    stats = fit(m, x, delta=-1.0, sharpness=4.0, tau_c=0.5, batch=16, log=lambda *_: None)
    assert all(s["skippable"] == 0 and s["skipped"] == 0 for s in stats)
    with torch.no_grad():
        _, infos = m(x, mode="hard", tau_l=0.5, tau_c=0.5, trace=True)
    assert all(bool((i["s_l"] == 1).all()) for i in infos)  # kept blocks run unscaled
    stats = fit(m, x, delta=1e9, sharpness=4.0, tau_c=0.5, batch=16, log=lambda *_: None)
    assert all(s["skippable"] == 1 and s["skipped"] == 1 for s in stats)


def test_logistic_fit_separates_a_separable_label():
    g = torch.Generator().manual_seed(1)
    f = torch.randn(400, 8, generator=g) * 3 + 5
    y = f[:, 2] > 5
    u, c = fit_logistic(f, y)
    assert ((f @ u + c > 0) == y).float().mean() > 0.97
