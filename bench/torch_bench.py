"""The PyTorch side of one benchmark case, in its own process (started by `bench`).

Builds the oracle's modules (oracle/ldm_modules.py: explicit attention, as the course's
original code) from the case folder, loads the same weights, runs the workload once
under FlopCounterMode (the FLOP count every side's GFLOP/s uses) and writes its outputs
for the agreement check; then answers `run` and `quit` on stdin, one JSON line each.

    python bench/torch_bench.py --dir CASE_DIR --threads 2
"""
import argparse
import json
import math
import sys
import time
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from torch.utils.flop_counter import FlopCounterMode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "oracle"))
import ldm_modules as L  # noqa: E402


def ddim_timesteps(timesteps, steps):
    # As workbook/src/engine/sampler.rs ddim_timesteps.
    s = max(1, min(steps, timesteps))
    if s == 1:
        return [timesteps - 1]
    return [(i * (timesteps - 1) + (s - 1) // 2) // (s - 1) for i in range(s)]


def flat(model, f):
    # Every parameter's f, flattened and concatenated in sorted-name order (as the tch side).
    named = sorted(model.named_parameters(), key=lambda kv: kv[0])
    return torch.cat([f(p).reshape(-1) for _, p in named])  # [total parameters]


class Work:
    def __init__(self, folder):
        self.case = json.loads((folder / "case.json").read_text())
        self.inputs = load_file(str(folder / "inputs.safetensors"))
        w = self.case["workload"]
        self.kind = w["kind"]
        self.w = w
        self.model = None
        if self.case["unet"] is not None:
            self.model = L.Unet(**self.case["unet"])
            self.model.load_state_dict(load_file(str(folder / "weights.safetensors")), strict=True)
        if self.kind == "train":
            self.model.train()
            self.sched = L.Scheduler("linear", self.case["timesteps"])
            self.opt = torch.optim.Adam(self.model.parameters(), lr=w["lr"])
        elif self.model is not None:
            self.model.eval()

    def params(self):
        return sum(p.numel() for p in self.model.parameters()) if self.model is not None else None

    def run(self, keep=None):
        i, m = self.inputs, self.model
        if self.kind == "matmul":
            c = i["a"] @ i["b"]
            if keep is not None:
                keep["c"] = c
        elif self.kind == "train":
            self.opt.zero_grad()
            loss = L.p_losses(m, self.sched, i["x_start"], i["t"], i["noise"], i["context"], self.w["loss"])
            loss.backward()
            if keep is not None:
                keep["loss"] = loss.detach()
                keep["grads"] = flat(m, lambda p: p.grad)
            self.opt.step()
        elif self.kind == "eval":
            with torch.no_grad():
                y = m(i["x"], i["time"], i["context"])
            if keep is not None:
                keep["y"] = y
        elif self.kind == "ddim":
            with torch.no_grad():
                x = self.ddim()
            if keep is not None:
                keep["x"] = x
        else:
            raise ValueError(f"unknown workload {self.kind!r}")

    def after_check(self, keep):
        # Beyond the workload, not counted: the Adam step's effect where it is well
        # conditioned (see bench/src/child.rs), the loss after the step.
        if self.kind == "train":
            i = self.inputs
            with torch.no_grad():
                keep["loss_after_adam"] = L.p_losses(self.model, self.sched, i["x_start"], i["t"], i["noise"],
                                                     i["context"], self.w["loss"])

    def ddim(self):
        # workbook/src/engine/sampler.rs ddim with generate.rs's guided noise, eta 0.
        i, m, w = self.inputs, self.model, self.w
        ab = i["alphas_cumprod"].double().tolist()
        taus = ddim_timesteps(len(ab), w["steps"])
        x, context, empty, scale = i["x_T"], i["context"], i["empty"], w["guidance"]
        b, eta = x.shape[0], 0.0
        cc = torch.cat([context, empty], 0)  # [2B, M, D]
        for k in reversed(range(len(taus))):
            t = taus[k]
            a, a_prev = ab[t], (1.0 if k == 0 else ab[taus[k - 1]])
            tt = torch.full((b,), t, dtype=torch.int64)
            eps = m(torch.cat([x, x], 0), torch.cat([tt, tt], 0), cc).chunk(2, 0)
            eps = eps[1] + (eps[0] - eps[1]) * scale
            x0 = (x - eps * math.sqrt(1.0 - a)) / math.sqrt(a)
            sigma = eta * math.sqrt((1.0 - a_prev) / (1.0 - a)) * math.sqrt(max(1.0 - a / a_prev, 0.0))
            z = torch.randn(x.shape)  # the engine draws z at every step too
            direction = math.sqrt(max(1.0 - a_prev - sigma * sigma, 0.0))
            x = x0 * math.sqrt(a_prev) + eps * direction + z * sigma
        return x


def peak_rss_mb():
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024.0
    raise RuntimeError("/proc/self/status has no VmHWM")


def reply(value):
    print(json.dumps(value), flush=True)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dir", required=True, type=Path)
    p.add_argument("--threads", required=True, type=int)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    work = Work(args.dir)
    outputs = {}
    with FlopCounterMode(display=False) as counter:
        work.run(outputs)
    work.after_check(outputs)
    save_file({k: v.contiguous() for k, v in outputs.items()}, str(args.dir / "out-pytorch.safetensors"))
    reply({"ready": True, "flops": float(counter.get_total_flops()), "params": work.params(),
           "torch": torch.__version__, "threads": torch.get_num_threads()})
    for line in sys.stdin:
        command = line.strip()
        if command == "run":
            start, cpu = time.perf_counter(), time.process_time()
            work.run()
            reply({"seconds": time.perf_counter() - start, "cpu_seconds": time.process_time() - cpu})
        elif command == "quit":
            reply({"peak_rss_mb": peak_rss_mb()})
            return
        else:
            raise SystemExit(f"unknown command {command!r} (expected `run` or `quit`)")
    raise SystemExit("stdin closed before `quit`")


if __name__ == "__main__":
    main()
