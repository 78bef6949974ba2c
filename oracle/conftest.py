"""Shared setup for the oracle: two torch threads (the machine has two cores and
the Rust build runs beside us), and the oracle folder importable by module name."""
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
torch.set_num_threads(2)
