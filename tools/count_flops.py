"""FLOPs of one Unet forward per image, counted by PyTorch's FlopCounterMode on the
oracle's independent modules: the workbook's latent configuration against the same Unet
in pixel space, and the course project's training configuration.

    .venv/bin/python tools/count_flops.py
"""
import sys
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "oracle"))
from ldm_modules import Unet  # noqa: E402

CASES = [
    ("latent 8x8x4 (workbook default)", dict(dim=32, dim_mults=(1, 2, 4), channels=4, context_dim=128), 8, 8),
    ("pixel 32x32x1, same Unet", dict(dim=32, dim_mults=(1, 2, 4), channels=1, context_dim=128), 32, 8),
    ("pixel 32x32x1, course project (context 512)", dict(dim=32, dim_mults=(1, 2, 4), channels=1, context_dim=512), 32, 5),
]

for name, cfg, size, tokens in CASES:
    net = Unet(**cfg).eval()
    x = torch.randn(1, cfg["channels"], size, size)
    ctx = torch.randn(1, tokens, cfg["context_dim"])
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        net(x, torch.tensor([10]), ctx)
    params = sum(p.numel() for p in net.parameters())
    print(f"{name}: {counter.get_total_flops() / 1e9:.3f} GFLOP per image forward, {params / 1e6:.2f} M parameters")
