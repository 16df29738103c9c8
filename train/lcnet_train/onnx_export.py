"""Export the STATIC network of an lcnet model file to ONNX, for the browser side-by-side with ONNX Runtime Web.

    python -m lcnet_train.onnx_export --model ../weights/lcnet-r20.safetensors --out r20.onnx [--check] [--opset 18]

The model file (safetensors + JSON card) is loaded through model.py, so the weights are exactly the ones the Rust
model runs; the gates are dropped (static mode: every block and channel, no gate evaluated). Graph: batch 1,
input `input` float32 [1,3,32,32] already normalised with the card's mean/std, output `logits` [1,10].
The exporter's optimiser folds BatchNorm into the convolutions (19 Conv, no BatchNormalization node for R20).
`--check` runs the exported graph in onnxruntime (CPU) on seeded inputs and fails unless its logits equal PyTorch's
within 1e-4 relative to the largest logit (1e-4 absolute at least): float32 rounding is relative, and jointly
trained weights run statically give logits in the hundreds. Needs the pip packages onnx and onnxscript (and onnxruntime for --check), pinned in requirements.txt.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

from .model import ResNetCifar
from .model_file import load_model_file

DEFAULT_OPSET = 18  # the exporter's own; converting the option-A Pad down to 17 fails in onnx 1.23


class StaticNet(torch.nn.Module):
    """The backbone alone: `model(x, mode="static")` as a plain forward for the exporter."""

    def __init__(self, model: ResNetCifar):
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x, mode="static")


def export_onnx(model: ResNetCifar, out: Path, opset: int = DEFAULT_OPSET) -> Path:
    net = StaticNet(model).eval()
    x = torch.zeros(1, 3, 32, 32)
    out.parent.mkdir(parents=True, exist_ok=True)
    with torch.no_grad():
        # dynamo=True (the torch.export-based exporter, onnxscript); external data off: one self-contained file.
        prog = torch.onnx.export(net, (x,), str(out), input_names=["input"], output_names=["logits"],
                                 opset_version=opset, dynamo=True, external_data=False, optimize=True)
    del prog
    import onnx

    onnx.checker.check_model(str(out), full_check=True)
    got = {o.domain: o.version for o in onnx.load(str(out), load_external_data=False).opset_import}.get("", 0)
    if got < 13:
        raise RuntimeError(f"{out}: opset {got} < 13")
    return out


def seeded_inputs(n: int = 8, seed: int = 1234) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, 1, 3, 32, 32, generator=g)


CHECK_RTOL = 1e-4


def check_tolerance(largest_logit: float) -> float:
    """The --check tolerance: CHECK_RTOL times the largest |logit|, at least CHECK_RTOL absolute."""
    return CHECK_RTOL * max(1.0, largest_logit)


@torch.no_grad()
def largest_logit(model: ResNetCifar, inputs: torch.Tensor) -> float:
    """Largest |PyTorch static logit| over the [1,3,32,32] inputs."""
    return max(float(model(x, mode="static").abs().max()) for x in inputs)


@torch.no_grad()
def max_abs_diff_onnxruntime(model: ResNetCifar, onnx_path: Path, inputs: torch.Tensor) -> float:
    """Largest |ONNX Runtime (CPU) − PyTorch| over the logits of each [1,3,32,32] input."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    sess = ort.InferenceSession(str(onnx_path), opts, providers=["CPUExecutionProvider"])
    worst = 0.0
    for x in inputs:
        want = model(x, mode="static").numpy()
        got = sess.run(["logits"], {"input": x.numpy()})[0]
        worst = max(worst, float(abs(got - want).max()))
    return worst


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True, help="lcnet model file (.safetensors with a model card)")
    ap.add_argument("--out", required=True, help="ONNX file to write")
    ap.add_argument("--opset", type=int, default=DEFAULT_OPSET, help=f"ONNX opset (>= 13; default {DEFAULT_OPSET})")
    ap.add_argument("--check", action="store_true",
                    help="compare with PyTorch in onnxruntime (CPU), tol 1e-4 relative to the largest logit")
    args = ap.parse_args(argv)
    if args.opset < 13:
        ap.error("--opset must be at least 13")
    torch.set_num_threads(1)
    try:
        model, card = load_model_file(Path(args.model))
    except (OSError, ValueError, KeyError) as e:
        print(f"onnx_export: error: {e}", file=sys.stderr)
        return 1
    out = export_onnx(model, Path(args.out), args.opset)
    import onnx

    opset = {o.domain: o.version for o in onnx.load(str(out)).opset_import}.get("", 0)
    print(f"onnx_export: wrote {out} ({out.stat().st_size} bytes; static {card['name']}, opset {opset}, "
          f"input [1,3,32,32] float32 normalised)", file=sys.stderr)
    if args.check:
        xs = seeded_inputs()
        d = max_abs_diff_onnxruntime(model, out, xs)
        big = largest_logit(model, xs)
        tol = check_tolerance(big)
        ok = d <= tol
        print(f"onnx_export: onnxruntime vs PyTorch logits, 8 seeded inputs: max |diff| {d:.2e}, largest logit "
              f"{big:.3g} ({'ok' if ok else 'FAILED'}: tolerance {tol:.2e})", file=sys.stderr)
        if not ok:
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
