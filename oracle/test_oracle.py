"""The PyTorch oracle: every fixture the Rust side writes must agree with an
independent PyTorch implementation of ORIGINAL.md, and must be worth checking."""
import functools
import math

import pytest
import torch

from fixtures import (EXERCISES, MODULE_EXERCISES, TOLERANCE, check_fixture, compare,
                      fixture_paths, load_fixture, load_module)

PATHS = fixture_paths()
IDS = [p.stem for p in PATHS]
MIN_FIXTURES = 20


@functools.lru_cache(maxsize=None)
def _cached(path):
    return load_fixture(path)


def fresh(path):
    """A private copy of a fixture, so a test may tamper with it."""
    fx = _cached(path)
    return type(fx)(fx.name, fx.exercise, dict(fx.config),
                    {k: v.clone() for k, v in fx.params.items()},
                    dict(fx.inputs), dict(fx.outputs))


def all_fixtures():
    return [_cached(p) for p in PATHS]


def first_of(exercise, key):
    """The first fixture of an exercise whose params hold `key`."""
    for p in PATHS:
        if _cached(p).exercise == exercise and key in _cached(p).params:
            return p
    pytest.fail(f"no `{exercise}` fixture with a param `{key}` in fixtures/public")


# ---- 1. agreement ----------------------------------------------------------
@pytest.mark.parametrize("path", PATHS, ids=IDS)
def test_fixture_matches_pytorch_oracle(path):
    problems = check_fixture(fresh(path))
    assert not problems, "\n".join(problems)


# ---- 5. an empty fixture folder must not pass --------------------------------
def test_fixture_folder_holds_enough_cases():
    assert len(PATHS) >= MIN_FIXTURES, (
        f"fixtures/public holds {len(PATHS)} fixture files, expected at least {MIN_FIXTURES} "
        "(run `make fixtures`)")


# ---- 2. coverage -------------------------------------------------------------
def test_fixtures_cover_every_exercise_and_variant():
    fxs = all_fixtures()
    by = {e: [f for f in fxs if f.exercise == e] for e in EXERCISES}
    problems = [f"{e}: {len(v)} fixtures, expected at least 2" for e, v in by.items() if len(v) < 2]

    def need(ok, what):
        if not ok:
            problems.append(what)

    ca = by["cross_attention"]
    need(any(f.config.get("context_dim") is None for f in ca), "cross_attention: no self-attention case")
    need(any(f.config.get("context_dim") is not None for f in ca), "cross_attention: no cross case")
    need(any(f.config["dim"] != f.config["dim_out"] for f in by["resnet_block"]),
         "resnet_block: no case with dim != dim_out")
    need(any(list(f.config.get("dim_mults", [])) == [1, 2, 4] for f in by["unet"]),
         "unet: no case with dim_mults [1, 2, 4]")
    seen = {f.config.get("schedule") for f in by["scheduler"]}
    need(seen >= {"linear", "cosine", "quadratic", "sigmoid"}, f"scheduler: schedules seen {sorted(seen, key=str)}")
    t_idx = [f.config.get("t_index") for f in by["p_sample"]]
    need(0 in t_idx and any(isinstance(t, int) and t > 0 for t in t_idx),
         f"p_sample: t_index values {t_idx}, need 0 and one > 0")
    losses = {f.config.get("loss_type") for f in by["p_losses"]}
    need(losses >= {"l1", "l2", "huber"}, f"p_losses: loss types seen {sorted(losses, key=str)}")
    assert not problems, "\n".join(problems)


# ---- 3. no trivial case --------------------------------------------------------
def _rel(a, b):
    return ((a - b).norm() / b.norm()).item()


@pytest.mark.parametrize("path", PATHS, ids=IDS)
def test_fixture_is_not_trivial(path):
    fx = fresh(path)
    problems = []
    for name, p in fx.params.items():
        if not p.is_floating_point():
            continue
        if not torch.isfinite(p).all() or (p == 0).all():
            problems.append(f"param.{name} is all zero or not finite")
        elif p.numel() > 1 and p.double().std().item() <= 1e-3:
            problems.append(f"param.{name} has std {p.double().std().item():.2e} <= 1e-3")
    for name, t in fx.inputs.items():
        if t.is_floating_point() and not torch.isfinite(t).all():
            problems.append(f"in.{name} is not finite")
    for name, y in fx.outputs.items():
        if not torch.isfinite(y).all():
            problems.append(f"out.{name} is not finite")
        elif y.numel() <= 1:
            if (y == 0).all():
                problems.append(f"out.{name} is zero")
        elif y.double().std().item() <= 1e-3:
            problems.append(f"out.{name} has std {y.double().std().item():.2e} <= 1e-3")
    if not problems:
        problems += _branch_problems(fx)
    assert not problems, f"{fx.name}: " + "; ".join(problems)


def _branch_problems(fx):
    """The part a student writes must move the output away from its shortcut."""
    x, y = fx.inputs.get("x"), fx.outputs.get("y")
    if fx.exercise == "spatial_transformer":
        r = _rel(y, x)
        return [] if r > 0.05 else [f"||y - x|| / ||x|| = {r:.3g} <= 0.05 (transformer branch too small)"]
    if fx.exercise == "resnet_block":
        with torch.no_grad():
            skip = load_module(fx).skip_connection(x)   # identity or the 1x1 conv
        r = _rel(y, skip)
        return [] if r > 0.05 else [f"||y - skip(x)|| / ||skip(x)|| = {r:.3g} <= 0.05"]
    if fx.exercise == "cross_attention":
        with torch.no_grad():
            probs = load_module(fx).attention_probs(x, fx.inputs.get("context"))
        m = probs.max(dim=-1).values.mean().item()
        return [] if m < 0.99 else [f"attention saturated: mean row max probability {m:.4f} >= 0.99"]
    return []


# ---- 4. the oracle can fail -----------------------------------------------------
# Plausible wrong keys a Rust port could write, and a weight that reaches the output.
RENAME = {
    "feed_forward": ("net.0.weight", "net.1.weight"),
    "cross_attention": ("to_k.weight", "to_key.weight"),
    "spatial_transformer": ("proj_in.weight", "project_in.weight"),
    "resnet_block": ("in_layers.2.weight", "in_layers.1.weight"),
    "unet": ("downs.0.4.1.weight", "downs.0.4.weight"),
    "p_losses": ("mid_attn.norm.weight", "mid_attn.norm_in.weight"),
    "p_sample": ("ups.0.0.time_emb_layers.1.weight", "ups.0.0.time_emb_layers.0.weight"),
}
PERTURB = {
    "feed_forward": "net.3.weight", "cross_attention": "to_out.0.weight",
    "spatial_transformer": "proj_out.weight", "resnet_block": "out_layers.3.weight",
    "unet": "out.2.weight", "p_losses": "out.2.weight", "p_sample": "out.2.weight",
}
PARAM_EXERCISES = sorted(RENAME)
assert set(PARAM_EXERCISES) == set(MODULE_EXERCISES) | {"p_losses", "p_sample"}


@pytest.mark.parametrize("exercise", PARAM_EXERCISES)
def test_renamed_weight_is_rejected(exercise):
    old, new = RENAME[exercise]
    fx = fresh(first_of(exercise, old))
    fx.params[new] = fx.params.pop(old)
    with pytest.raises(RuntimeError, match="state_dict"):
        check_fixture(fx)  # the very function test 1 uses


@pytest.mark.parametrize("exercise", PARAM_EXERCISES)
def test_perturbed_weight_is_detected(exercise):
    fx = fresh(first_of(exercise, PERTURB[exercise]))
    fx.params[PERTURB[exercise]].view(-1)[0] += 100.0
    problems = check_fixture(fx)
    assert any("relative error" in p for p in problems), \
        f"{fx.name}: a weight moved by 100 still passed: {problems}"


def test_compare_reports_shape_value_and_worst_element():
    b = torch.linspace(-1.0, 1.0, 12).reshape(3, 4)
    assert compare("f", "y", b.clone(), b) is None
    assert compare("f", "y", b + 0.5 * TOLERANCE, b) is None          # within tolerance
    bad = b.clone()
    bad[2, 1] += 0.01
    msg = compare("f", "y", bad, b)
    assert msg and "f: out.y" in msg and "[2, 1]" in msg and "relative error" in msg
    assert "shape" in compare("f", "y", b.reshape(4, 3), b)
    assert "not finite" in compare("f", "y", b * math.nan, b)
    assert compare("f", "loss", torch.tensor(1.0), torch.tensor(1.0 + 1e-3)) is not None
