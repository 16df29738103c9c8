"""Rescale trained gates so that their thresholds mean the same thing in every model.

Trained jointly with the backbone, the gates' values drift to an arbitrary scale: the compute term pushes
every gate towards 0 while the layer after it grows to compensate, so a network can end with all its gates
near 0.04 — skipped or not by their sign at τ = 0, but with any τ above 0.05 switching everything off. That
scale carries no information, and it can be moved exactly:

* an L-Net gate multiplies its block's residual, `bn2(conv2(h)) · s_L`, so scaling the gate by k and bn2's
  weight and bias by 1/k leaves the block unchanged;
* a C-Net gate multiplies one channel of conv1's output, which only conv2 reads, so scaling gate row c by k_c
  and conv2's input channel c by 1/k_c leaves the block unchanged.

`rescale_gates` picks k per gate so that its largest value over a set of (training) images becomes
`headroom` (0.9): τ then reads as a fraction of what that gate reaches at most. Only gates that never reach
the clamp at 1 on those images are scaled, and only upwards, so the clamp cannot change their value on those
images; an unseen image whose gate goes past max/headroom meets the clamp where the unscaled gate did not (the
export reports how often that happens on the test set). At τ = 0 the skip decisions are the same as before.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from .model import ResNetCifar


@dataclass
class GateScale:
    """What `rescale_gates` did: gates scaled, their factors' range, the images it looked at."""
    images: int
    headroom: float
    l_scaled: int
    l_total: int
    c_scaled: int
    c_total: int
    k_min: float
    k_max: float

    def as_dict(self) -> dict:
        return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in self.__dict__.items()}


@torch.no_grad()
def gate_maxima(model: ResNetCifar, x: torch.Tensor, batch: int = 500) -> list[tuple]:
    """Per block: (largest s_L over the images or None, largest s_C per channel or None), soft gates."""
    model.eval()
    out: list[list] = [[None, None] for _ in model.blocks()]
    for i in range(0, len(x), batch):
        _, infos = model(x[i:i + batch], mode="soft", trace=True)
        for o, info in zip(out, infos):
            for j, key in ((0, "s_l"), (1, "s_c")):
                s = info[key]
                if s is None:
                    continue
                m = s.amax(dim=0)
                o[j] = m if o[j] is None else torch.maximum(o[j], m)
    return [tuple(o) for o in out]


def _factor(m: torch.Tensor, headroom: float) -> torch.Tensor:
    """k = headroom / max for gates with 0 < max < headroom; 1 for the rest (never on, or near the clamp)."""
    k = torch.ones_like(m)
    grow = (m > 0) & (m < headroom)
    k[grow] = headroom / m[grow]
    return k


@torch.no_grad()
def rescale_gates(model: ResNetCifar, x: torch.Tensor, headroom: float = 0.9) -> GateScale:
    """Rescales `model`'s gates in place (see the module doc) from their maxima over images `x`."""
    if not 0.0 < headroom <= 1.0:
        raise ValueError(f"headroom {headroom} is not in (0, 1]")
    maxima = gate_maxima(model, x)
    l_scaled = c_scaled = l_total = c_total = 0
    ks = []
    for blk, (ml, mc) in zip(model.blocks(), maxima):
        if ml is not None:
            k = _factor(ml.reshape(1), headroom)[0]
            blk.gate_l.weight.mul_(k)
            blk.gate_l.bias.mul_(k)
            blk.bn2.weight.div_(k)
            blk.bn2.bias.div_(k)
            l_total += 1
            l_scaled += int(k != 1)
            ks.append(k.reshape(1))
        if mc is not None:
            k = _factor(mc, headroom)
            blk.gate_c.weight.mul_(k[:, None])
            blk.gate_c.bias.mul_(k)
            blk.conv2.weight.div_(k[None, :, None, None])
            c_total += k.numel()
            c_scaled += int((k != 1).sum())
            ks.append(k)
    allk = torch.cat(ks) if ks else torch.ones(1)
    return GateScale(images=len(x), headroom=headroom, l_scaled=l_scaled, l_total=l_total,
                     c_scaled=c_scaled, c_total=c_total, k_min=float(allk.min()), k_max=float(allk.max()))


@torch.no_grad()
def clamped_share(model: ResNetCifar, x: torch.Tensor, batch: int = 500) -> float:
    """Share of (image, gate) values at the clamp's top (s = 1) over images `x`: after rescaling, those above
    what the calibration images reached — the only place the rescaled model can differ from the original."""
    hit = total = 0
    for i in range(0, len(x), batch):
        _, infos = model(x[i:i + batch], mode="soft", trace=True)
        for info in infos:
            for key in ("s_l", "s_c"):
                s = info[key]
                if s is not None:
                    hit += int((s >= 1.0).sum())
                    total += s.numel()
    return hit / max(total, 1)
