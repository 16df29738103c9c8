"""CIFAR ResNet-(6n+2) with option-A shortcuts and optional LC-Net gates, mirroring the Rust model
tensor for tensor (see ../shared/notes/LCNET.md).

State-dict names: conv1.weight, bn1.*, layer{1,2,3}.{i}.conv{1,2}.weight, layer*.{i}.bn{1,2}.*,
layer*.{i}.gate_l.{weight,bias} (Linear C_in->1), layer*.{i}.gate_c.{weight,bias} (Linear C_in->C_mid),
linear.{weight,bias}.

Per block, with p = mean_{H,W}(x):
    s_L = clamp(gate_l(p), 0, 1)            [B]
    s_C = clamp(gate_c(p), 0, 1)            [B, C_mid]
    h   = relu(bn1(conv1(x))) * s_C         (channel j skipped when s_C[j] <= tau_c: factor 0)
    y   = relu(shortcut(x) + s_L * bn2(conv2(h)))   (block skipped when s_L <= tau_l: factor 0)

Modes: "static" (gates not evaluated, factors 1), "soft" (training: factors = gate values),
"hard" (inference: factors = gate value * (gate value > tau)), "hard_ste" (training: the "hard" forward pass,
the threshold's gradient passed straight through), "hard_st" (training: the "hard" forward pass with the whole
factor passed straight through to the gate's unclamped pre-activation, so a skipped unit, even one clamped at
0, hears how the loss would change if its factor rose).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn as nn
import torch.nn.functional as F

BN_EPS = 1e-5
WIDTHS = (16, 32, 64)


def blocks_per_stage(depth: int) -> int:
    if (depth - 2) % 6:
        raise ValueError(f"depth must be 6n+2, got {depth}")
    return (depth - 2) // 6


MODES = ("static", "soft", "hard", "hard_ste", "hard_st")


def _st(value: torch.Tensor, grad_of: torch.Tensor) -> torch.Tensor:
    """`value` in the forward pass, the gradient of `grad_of` in the backward pass."""
    return grad_of + (value - grad_of).detach()


def _gate_st(z: torch.Tensor, tau: float, usage_t: float = 0.0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Mode "hard_st" for a gate pre-activation z: (s, factor, used). s = clamp(z, 0, 1) (the gate value, no
    gradient needed), factor = s * (s > tau) as at inference and used = (s > tau), both with z's gradient.
    Passing the gradient to z rather than to s keeps a gate that sits at 0 (or above 1) alive: the usual
    straight-through estimator of SkipNet and ConvNet-AIG's hard decisions. With usage_t > 0, `used` takes the
    gradient of sigmoid((z - tau) / usage_t) instead: the compute terms then move gates near their threshold,
    not every kept gate's scale."""
    s = z.detach().clamp(0.0, 1.0)
    on = (s > tau).to(z.dtype)
    surrogate = torch.sigmoid((z - tau) / usage_t) if usage_t > 0 else z
    return s, _st(s * on, z), _st(on, surrogate)


def _factor(s: torch.Tensor, mode: str, tau: float) -> torch.Tensor:
    """What a gate value multiplies: s itself ("soft"), s where s > tau and 0 elsewhere ("hard", as at
    inference), or the "hard" value with the threshold's gradient passed straight through ("hard_ste"), so a
    unit that is skipped still learns whether running it would have helped."""
    if mode == "soft":
        return s
    if mode not in ("hard", "hard_ste"):
        raise ValueError(mode)
    on = (s > tau).to(s.dtype)
    if mode == "hard_ste":
        on = on + s - s.detach()
    return s * on


class BasicBlock(nn.Module):
    def __init__(self, in_planes: int, planes: int, stride: int, l_gate: bool, c_gate: bool):
        super().__init__()
        self.in_planes, self.planes, self.stride = in_planes, planes, stride
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes, eps=BN_EPS)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes, eps=BN_EPS)
        self.downsample = stride != 1 or in_planes != planes
        self.gate_l = nn.Linear(in_planes, 1) if l_gate else None
        self.gate_c = nn.Linear(in_planes, planes) if c_gate else None
        # Gradient of the [0, 1] clamp in "soft" mode (training only; values are always clamped):
        # "exact" (none outside [0, 1]), "upper" (passes above 1), "both" (passes everywhere).
        self.clamp_grad = "exact"
        # "hard_st" only: whether the gates' losses reach the backbone through the pooled features they read
        # (False: the gates learn to read the features, the backbone does not learn to steer the gates)
        self.gate_input_grad = True
        # "hard_st" only: temperature of the usage's sigmoid surrogate gradient (0: identity, see _gate_st)
        self.usage_t = 0.0

    def shortcut(self, x: torch.Tensor) -> torch.Tensor:
        if not self.downsample:
            return x
        # option A: every second pixel, zero-pad channels equally on both sides
        pad = self.planes // 4
        return F.pad(x[:, :, ::2, ::2], (0, 0, 0, 0, pad, pad))

    def _clamp(self, z: torch.Tensor, mode: str) -> torch.Tensor:
        """clamp(z, 0, 1). In training a gate above 1 gets no gradient from the exact clamp, so nothing (not even
        the compute term) can bring it back below 1: "upper" and "both" pass the gradient straight through there."""
        s = z.clamp(0.0, 1.0)
        if mode not in ("soft", "hard_ste") or self.clamp_grad == "exact":
            return s
        if self.clamp_grad == "upper":
            lo = z.clamp(min=0.0)
            return lo - (lo - s).detach()
        if self.clamp_grad == "both":
            return z - (z - s).detach()
        raise ValueError(f"clamp_grad {self.clamp_grad!r}")

    def _gate_pre(self, lin: nn.Linear, p: torch.Tensor, which: str, budget) -> torch.Tensor:
        """The gate's pre-activation W·p + c, plus v·budget when the gate reads a compute budget."""
        z = lin(p)
        v = getattr(self, f"budget_{which}", None)
        if v is not None and budget is not None:
            z = z + v * float(budget)
        return z

    def forward(self, x: torch.Tensor, mode: str = "soft", tau_l: float = 0.5, tau_c: float = 0.5, budget=None):
        """Returns (y, info): info holds s_l [B], s_c [B, C_mid] (None when absent), and the factors used.
        `budget` (a share of the static MACs) feeds gates that read one (add_budget_input)."""
        b = x.shape[0]
        s_l = s_c = None
        fl = fc = None  # factors applied (None = 1)
        ul = uc = None  # "hard_st": whether each unit runs, with a straight-through gradient
        z_l = None  # other gated modes: the L gate's pre-activation (a band term reaches gates clamped at 0)
        if mode == "hard_st" and (self.gate_l is not None or self.gate_c is not None):
            with torch.autocast(x.device.type, enabled=False):
                p = x.mean(dim=(2, 3), dtype=torch.float32)
                if not self.gate_input_grad:
                    p = p.detach()
                if self.gate_l is not None:
                    s_l, fl, ul = _gate_st(self._gate_pre(self.gate_l, p, "l", budget).squeeze(1), tau_l, self.usage_t)
                if self.gate_c is not None:
                    s_c, fc, uc = _gate_st(self._gate_pre(self.gate_c, p, "c", budget), tau_c, self.usage_t)
        elif mode != "static" and (self.gate_l is not None or self.gate_c is not None):
            # Gates run in float32 even under bf16 autocast (training): they are tiny, and their values
            # decide thresholds and the compute term, where bf16's 3 digits would show.
            with torch.autocast(x.device.type, enabled=False):
                p = x.mean(dim=(2, 3), dtype=torch.float32)
                if self.gate_l is not None:
                    z_l = self._gate_pre(self.gate_l, p, "l", budget).squeeze(1)
                    s_l = self._clamp(z_l, mode)
                    fl = _factor(s_l, mode, tau_l)
                if self.gate_c is not None:
                    s_c = self._clamp(self._gate_pre(self.gate_c, p, "c", budget), mode)
                    fc = _factor(s_c, mode, tau_c)
        elif mode not in MODES:
            raise ValueError(mode)
        h = F.relu(self.bn1(self.conv1(x)))
        # factors in the activations' dtype (bf16 under autocast): no float32 copy of every activation
        if fc is not None:
            h = h * fc.to(h.dtype)[:, :, None, None]
        r = self.bn2(self.conv2(h))
        if fl is not None:
            r = r * fl.to(r.dtype)[:, None, None, None]
        y = F.relu(self.shortcut(x) + r)
        return y, dict(s_l=s_l, s_c=s_c, fl=fl, fc=fc, ul=ul, uc=uc, z_l=z_l, batch=b)


@dataclass
class Arch:
    depth: int = 20
    num_classes: int = 10
    l_gate: bool = False
    c_gate: bool = False
    widths: tuple = WIDTHS

    @property
    def n(self) -> int:
        return blocks_per_stage(self.depth)


class ResNetCifar(nn.Module):
    def __init__(self, depth: int = 20, num_classes: int = 10, l_gate: bool = False, c_gate: bool = False):
        super().__init__()
        n = blocks_per_stage(depth)
        self.depth, self.num_classes, self.n = depth, num_classes, n
        self.l_gate, self.c_gate = l_gate, c_gate
        self.conv1 = nn.Conv2d(3, WIDTHS[0], 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(WIDTHS[0], eps=BN_EPS)
        in_planes = WIDTHS[0]
        for s, planes in enumerate(WIDTHS):
            blocks = []
            for i in range(n):
                stride = 2 if (s > 0 and i == 0) else 1
                blocks.append(BasicBlock(in_planes, planes, stride, l_gate, c_gate))
                in_planes = planes
            self.add_module(f"layer{s + 1}", nn.ModuleList(blocks))
        self.linear = nn.Linear(WIDTHS[-1], num_classes)
        self._init_backbone()

    @property
    def has_gates(self) -> bool:
        return self.l_gate or self.c_gate

    def blocks(self) -> list[BasicBlock]:
        return [b for s in (self.layer1, self.layer2, self.layer3) for b in s]

    def _init_backbone(self):
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight); nn.init.zeros_(m.bias)
        nn.init.kaiming_uniform_(self.linear.weight, a=5 ** 0.5)

    def add_gates(self, l_gate: bool = True, c_gate: bool = True, init_std: float = 0.01,
                  init_bias: float = 0.95, seed: int | None = None):
        """Insert gates (weights N(0, init_std), biases init_bias) so a fresh LC-Net ≈ its backbone."""
        g = torch.Generator().manual_seed(seed) if seed is not None else None
        dev = self.linear.weight.device
        for blk in self.blocks():
            if l_gate and blk.gate_l is None:
                blk.gate_l = nn.Linear(blk.in_planes, 1).to(dev)
                _init_gate(blk.gate_l, init_std, init_bias, g)
            if c_gate and blk.gate_c is None:
                blk.gate_c = nn.Linear(blk.in_planes, blk.planes).to(dev)
                _init_gate(blk.gate_c, init_std, init_bias, g)
        self.l_gate = self.l_gate or l_gate
        self.c_gate = self.c_gate or c_gate
        return self

    def set_clamp_grad(self, how: str):
        """How the gates' [0, 1] clamp passes gradients in training ("exact", "upper", "both"); see BasicBlock."""
        if how not in ("exact", "upper", "both"):
            raise ValueError(f"clamp_grad {how!r}")
        for blk in self.blocks():
            blk.clamp_grad = how
        return self

    def add_budget_input(self):
        """Gates that also read a compute budget: z = W·p + c + v·budget, v per gate output (budget_l [1],
        budget_c [C_mid]), starting at 0 so the gates start as they were."""
        for blk in self.blocks():
            dev = self.linear.weight.device
            if blk.gate_l is not None and getattr(blk, "budget_l", None) is None:
                blk.budget_l = nn.Parameter(torch.zeros(1, device=dev))
            if blk.gate_c is not None and getattr(blk, "budget_c", None) is None:
                blk.budget_c = nn.Parameter(torch.zeros(blk.planes, device=dev))
        return self

    def forward(self, x: torch.Tensor, mode: str = "soft", tau_l: float = 0.5, tau_c: float = 0.5,
                trace: bool = False, budget=None):
        x = F.relu(self.bn1(self.conv1(x)))
        infos = []
        for blk in self.blocks():
            x, info = blk(x, mode, tau_l, tau_c, budget)
            infos.append(info)
        x = x.mean(dim=(2, 3))
        logits = self.linear(x)
        return (logits, infos) if trace else logits


def _init_gate(lin: nn.Linear, std: float, bias: float, g):
    with torch.no_grad():
        lin.weight.copy_(torch.randn(lin.weight.shape, generator=g) * std)
        lin.bias.fill_(bias)


# ---------------------------------------------------------------- MACs accounting

def block_geometry(model: ResNetCifar, input_hw: int = 32):
    """Per block: (C_in, C_mid, C_out, H'*W') with H'W' the block's output spatial size."""
    out, hw = [], input_hw
    for blk in model.blocks():
        hw = hw // blk.stride
        out.append((blk.in_planes, blk.planes, blk.planes, hw * hw))
    return out


def stem_fc_macs(model: ResNetCifar, input_hw: int = 32) -> int:
    return 9 * 3 * WIDTHS[0] * input_hw * input_hw + WIDTHS[-1] * model.num_classes


def static_macs(model_or_depth, num_classes: int = 10) -> int:
    model = model_or_depth if isinstance(model_or_depth, ResNetCifar) else ResNetCifar(model_or_depth, num_classes)
    total = stem_fc_macs(model)
    for cin, cmid, cout, hw in block_geometry(model):
        total += 9 * hw * cin * cmid + 9 * hw * cmid * cout
    return total


@dataclass
class Trace:
    """What a forward pass did, per image and block (hard or static mode)."""
    s_l: torch.Tensor        # f32 [B, nb] (1 where no L gate / static)
    executed: torch.Tensor   # bool [B, nb]
    kept: torch.Tensor       # i64 [B, nb]: kept conv1 channels k (0 where the block is skipped)
    macs: torch.Tensor       # i64 [B]
    s_c: list = field(default_factory=list)  # per block f32 [B, C_mid] or None


def trace_of(model: ResNetCifar, infos: list[dict], mode: str, tau_l: float, tau_c: float) -> Trace:
    """Per-image MACs = stem + FC + Σ_b [C_in (L gate) + executed·(C_in·C_mid (C gate) + 9H'W'·C_in·k + 9H'W'·k·C_out)]."""
    geo = block_geometry(model)
    b = infos[0]["batch"]
    gates_on = mode != "static"
    macs = torch.full((b,), stem_fc_macs(model), dtype=torch.int64)
    s_ls, exes, kepts, s_cs = [], [], [], []
    for (cin, cmid, cout, hw), info in zip(geo, infos):
        s_l, s_c = info["s_l"], info["s_c"]
        if gates_on and s_l is not None:
            s_l = s_l.detach().float().cpu()
            exe = s_l > tau_l if mode in ("hard", "hard_st") else s_l > 0
            macs += cin
        else:
            s_l = torch.ones(b)
            exe = torch.ones(b, dtype=torch.bool)
        if gates_on and s_c is not None:
            s_c = s_c.detach().float().cpu()
            k = (s_c > tau_c if mode in ("hard", "hard_st") else s_c > 0).sum(1).to(torch.int64)
            gate_c = cin * cmid
        else:
            k = torch.full((b,), cmid, dtype=torch.int64)
            gate_c = 0
        k = torch.where(exe, k, torch.zeros_like(k))
        macs += exe.to(torch.int64) * gate_c + 9 * hw * cin * k + 9 * hw * k * cout
        s_ls.append(s_l); exes.append(exe); kepts.append(k); s_cs.append(s_c)
    return Trace(torch.stack(s_ls, 1), torch.stack(exes, 1), torch.stack(kepts, 1), macs, s_cs)


def _used(s: torch.Tensor, tau: float = 0.0) -> torch.Tensor:
    """1 where a gate is above tau (the unit runs), with the gradient of s (straight-through)."""
    return (s > tau).to(s.dtype) + s - s.detach()


def soft_macs(model: ResNetCifar, infos: list[dict], proxy: str = "soft", tau_l: float = 0.0,
              tau_c: float = 0.0, l_grad: float = 1.0) -> torch.Tensor:
    """Differentiable per-image MACs. proxy "soft": usage = the gate values, s_L and mean(s_C) (LCNET.md);
    "ste": usage = whether a gate is above its threshold, i.e. the exact MACs at thresholds tau_l/tau_c (0: what
    the soft-gated training forward pass equals), with the gradient of the gate values (straight-through);
    "st": the usage a "hard_st" pass recorded (the same exact MACs, the gradient passed to the pre-activations).
    l_grad scales only the gradient that reaches the L gates' usage (the value is unchanged): below 1, skipping a
    whole block looks less rewarding to the compute term than skipping the same MACs of channels."""
    if proxy not in ("soft", "ste", "st"):
        raise ValueError(f"macs proxy {proxy!r}")
    geo = block_geometry(model)
    total = None
    for (cin, cmid, cout, hw), info in zip(geo, infos):
        s_l, s_c = info["s_l"], info["s_c"]
        if proxy == "ste":
            s_l = _used(s_l, tau_l) if s_l is not None else None
            s_c = _used(s_c, tau_c) if s_c is not None else None
        elif proxy == "st":  # the usage a "hard_st" pass recorded (exact MACs, gradient to the pre-activations)
            s_l, s_c = info["ul"], info["uc"]
        if s_l is not None and l_grad != 1.0:
            s_l = l_grad * s_l + (1.0 - l_grad) * s_l.detach()
        u_l = s_l if s_l is not None else 1.0
        dens = s_c.mean(1) if s_c is not None else 1.0
        term = (cin if s_l is not None else 0) + u_l * (
            (cin * cmid if s_c is not None else 0) + 9 * hw * cmid * (cin + cout) * dens)
        total = term if total is None else total + term
    return total + stem_fc_macs(model)


def load_state(model: ResNetCifar, sd: dict, strict: bool = True):
    """Load a state dict; num_batches_tracked is optional (model files do not carry it)."""
    missing, unexpected = model.load_state_dict(sd, strict=False)
    missing = [k for k in missing if not k.endswith("num_batches_tracked")]
    if strict and (missing or unexpected):
        raise KeyError(f"state dict mismatch: missing {missing}, unexpected {unexpected}")
    return missing, unexpected
