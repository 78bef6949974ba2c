"""Read a fixture file (safetensors, per the fixture contract), rebuild the module
from its metadata, run it on the stored inputs and compare with the stored outputs."""
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import torch
from safetensors import safe_open

import ldm_modules as L

# ORACLE_FIXTURES may point elsewhere (used to self-test the oracle on fake fixtures).
FIXTURE_DIR = Path(os.environ.get(
    "ORACLE_FIXTURES", Path(__file__).resolve().parent.parent / "fixtures" / "public"))
TOLERANCE = 1e-4  # normwise relative error max|a - b| / max|b|

MODULE_EXERCISES = ("feed_forward", "cross_attention", "spatial_transformer",
                    "resnet_block", "unet")
EXERCISES = MODULE_EXERCISES + ("scheduler", "q_sample", "p_losses", "p_sample")

# Per exercise: (required inputs, optional inputs, outputs) as the contract names them.
CONTRACT = {
    "feed_forward": (("x",), (), ("y",)),
    "cross_attention": (("x",), ("context",), ("y",)),
    "spatial_transformer": (("x",), ("context",), ("y",)),
    "resnet_block": (("x", "time_emb"), (), ("y",)),
    "unet": (("x", "time"), ("context",), ("y",)),
    "scheduler": ((), (), L.Scheduler.TERMS),
    "q_sample": (("x_start", "t", "noise"), (), ("x_noisy",)),
    "p_losses": (("x_start", "t", "noise"), ("context",), ("loss",)),
    "p_sample": (("x", "t", "noise"), ("context",), ("x_prev",)),
}
INT_INPUTS = ("time", "t")  # int64 [B]; every other tensor is float32


@dataclass
class Fixture:
    name: str
    exercise: str
    config: dict
    params: dict = field(default_factory=dict)
    inputs: dict = field(default_factory=dict)
    outputs: dict = field(default_factory=dict)


def fixture_paths(folder=FIXTURE_DIR):
    return sorted(Path(folder).glob("*.safetensors"))


def load_fixture(path):
    path = Path(path)
    groups = {"param": {}, "in": {}, "out": {}}
    with safe_open(str(path), framework="pt") as f:
        meta = f.metadata() or {}
        for key in f.keys():
            prefix, _, name = key.partition(".")
            if prefix not in groups or not name:
                raise ValueError(f"{path.stem}: tensor `{key}` has no param./in./out. prefix")
            groups[prefix][name] = f.get_tensor(key)
    if meta.get("exercise") not in EXERCISES:
        raise ValueError(f"{path.stem}: metadata `exercise` = {meta.get('exercise')!r}")
    return Fixture(path.stem, meta["exercise"], json.loads(meta["config"]),
                   groups["param"], groups["in"], groups["out"])


def build_module(exercise, config):
    """The nn.Module a fixture's params belong to (None for the schedule-only cases)."""
    c = config
    if exercise == "feed_forward":
        return L.FeedForward(c["dim"], c.get("dim_out"), c.get("mult", 4), c.get("dropout", 0.0))
    if exercise == "cross_attention":
        return L.CrossAttention(c["query_dim"], c.get("context_dim"), c.get("heads", 8),
                                c.get("dim_head", 64), c.get("dropout", 0.0))
    if exercise == "spatial_transformer":
        return L.SpatialTransformer(c["in_channels"], c.get("n_heads", 4), c.get("d_head", 32),
                                    c.get("depth", 1), c.get("dropout", 0.0), c.get("context_dim"))
    if exercise == "resnet_block":
        return L.ResnetBlock(c["dim"], c["dim_out"], c["time_emb_dim"], c.get("dropout", 0.0))
    if exercise == "unet":
        return L.Unet(c["dim"], c.get("init_dim"), c.get("out_dim"),
                      tuple(c.get("dim_mults", (1, 2, 4))), c.get("channels", 3),
                      c.get("context_dim"), c.get("dropout", 0.0))
    if exercise in ("p_losses", "p_sample"):
        return build_module("unet", c["unet"])
    return None


def load_module(fx):
    """Build the fixture's module and load its params strictly (renamed, missing or
    extra keys and wrong shapes raise RuntimeError); eval mode turns dropout off."""
    module = build_module(fx.exercise, fx.config)
    if module is None:
        if fx.params:
            raise RuntimeError(f"{fx.name}: {fx.exercise} takes no params, got {sorted(fx.params)}")
        return None
    try:
        module.load_state_dict(fx.params, strict=True)
    except RuntimeError as e:  # keep the type; say which fixture
        raise RuntimeError(f"{fx.name}: {e}") from e
    return module.eval()


def evaluate(fx):
    """Run the oracle on a fixture's inputs; returns {output name: tensor}."""
    module = load_module(fx)
    i, c = fx.inputs, fx.config
    ctx = i.get("context")
    with torch.no_grad():
        if fx.exercise == "feed_forward":
            return {"y": module(i["x"])}
        if fx.exercise in ("cross_attention", "spatial_transformer"):
            return {"y": module(i["x"], ctx)}
        if fx.exercise == "resnet_block":
            return {"y": module(i["x"], i["time_emb"])}
        if fx.exercise == "unet":
            return {"y": module(i["x"], i["time"], ctx)}
        sched = L.Scheduler(c["schedule"], c["timesteps"])
        if fx.exercise == "scheduler":
            return {name: getattr(sched, name) for name in L.Scheduler.TERMS}
        if fx.exercise == "q_sample":
            return {"x_noisy": L.q_sample(sched, i["x_start"], i["t"], i["noise"])}
        if fx.exercise == "p_losses":
            return {"loss": L.p_losses(module, sched, i["x_start"], i["t"], i["noise"], ctx,
                                       c["loss_type"])}
        if fx.exercise == "p_sample":
            return {"x_prev": L.p_sample(module, sched, i["x"], i["t"], c["t_index"],
                                         i["noise"], ctx)}
    raise ValueError(f"{fx.name}: unknown exercise {fx.exercise}")


def contract_problems(fx):
    """Names and dtypes the contract fixes, checked before any numbers."""
    required, optional, outputs = CONTRACT[fx.exercise]
    problems = []
    missing = set(required) - set(fx.inputs)
    extra = set(fx.inputs) - set(required) - set(optional)
    if missing or extra:
        problems.append(f"inputs: missing {sorted(missing)}, unexpected {sorted(extra)}")
    if set(fx.outputs) != set(outputs):
        problems.append(f"outputs are {sorted(fx.outputs)}, expected {sorted(outputs)}")
    for group, tensors in (("param", fx.params), ("in", fx.inputs), ("out", fx.outputs)):
        for name, t in tensors.items():
            want = torch.int64 if group == "in" and name in INT_INPUTS else torch.float32
            if t.dtype != want:
                problems.append(f"{group}.{name} has dtype {t.dtype}, expected {want}")
    if fx.exercise == "p_sample" and "t" in fx.inputs and \
            not (fx.inputs["t"] == fx.config.get("t_index")).all():
        problems.append(f"in.t = {fx.inputs['t'].tolist()} but t_index = {fx.config.get('t_index')}")
    return problems


def compare(fixture_name, output_name, got, expected, tol=TOLERANCE):
    """None when `got` matches `expected`, else a message naming the worst element."""
    where = f"{fixture_name}: out.{output_name}"
    if tuple(got.shape) != tuple(expected.shape):
        return f"{where}: shape {list(got.shape)}, expected {list(expected.shape)}"
    got, expected = got.double(), expected.double()
    if not torch.isfinite(got).all():
        return f"{where}: the oracle's output is not finite"
    diff = (got - expected).abs()
    if not torch.isfinite(diff).all():
        return f"{where}: expected value is not finite"
    scale = expected.abs().max().item() if expected.numel() else 0.0
    worst = diff.max().item() if diff.numel() else 0.0
    err = worst / scale if scale > 0 else (0.0 if worst == 0 else float("inf"))
    if err <= tol:
        return None
    flat = int(diff.reshape(-1).argmax())
    idx = tuple(int(v) for v in torch.unravel_index(torch.tensor(flat), diff.shape)) \
        if diff.dim() else ()
    return (f"{where}: relative error {err:.3e} > {tol:.0e} (max|a-b| {worst:.3e}, "
            f"max|b| {scale:.3e}); worst element {list(idx)}: got {got[idx].item():.6g}, "
            f"expected {expected[idx].item():.6g}")


def check_fixture(fx, tol=TOLERANCE):
    """All problems with one fixture (empty list = it agrees with the oracle)."""
    problems = [f"{fx.name}: {p}" for p in contract_problems(fx)]
    if set(CONTRACT[fx.exercise][0]) - set(fx.inputs):
        return problems  # cannot run without the required inputs
    got = evaluate(fx)
    for name, expected in fx.outputs.items():
        if name not in got:
            continue  # already reported by contract_problems
        msg = compare(fx.name, name, got[name], expected, tol)
        if msg:
            problems.append(msg)
    return problems


def relative_errors(fx):
    """{output: normwise relative error}, for reports."""
    got = evaluate(fx)
    out = {}
    for name, b in fx.outputs.items():
        if name in got and got[name].shape == b.shape:
            d = (got[name].double() - b.double()).abs().max().item()
            out[name] = d / max(b.double().abs().max().item(), 1e-300)
    return out
