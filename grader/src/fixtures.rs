//! Draws a fixture for a case from a seed: weights, inputs, and (for public
//! fixtures) the reference's outputs, all in eval mode so dropout is off.

use crate::cases::{Case, Spec};
use anyhow::{Context, Result};
use reference::{p_losses, p_sample, q_sample, CrossAttention, FeedForward, ResnetBlock, Scheduler, SpatialTransformer, Unet};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::Path;
use tch::{nn, Device, Kind, Tensor};
use workbook::fixture::Fixture;
use workbook::rng::Rng;

/// A per-case seed, so adding a case leaves the others' draws unchanged (FNV-1a of the name).
fn case_seed(seed: u64, name: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ seed;
    for b in name.bytes() {
        h = (h ^ b as u64).wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// Weights that make every layer matter: matrices ~ N(0, 1/fan_in), norm gains
/// 1 + N(0, 0.25^2), biases N(0, 0.1^2). PyTorch's zero biases and unit gains would
/// hide a missing shift or a swapped norm.
fn draw_weights(vs: &nn::VarStore, rng: &mut Rng) -> BTreeMap<String, Tensor> {
    let vars: BTreeMap<String, Tensor> = vs.variables().into_iter().collect();
    tch::no_grad(|| {
        for (name, var) in &vars {
            let size = var.size();
            let drawn = if size.len() >= 2 {
                let fan_in = size[1..].iter().product::<i64>() as f64;
                rng.randn(&size) / fan_in.sqrt()
            } else if name.ends_with("weight") {
                rng.randn(&size) * 0.25 + 1.0
            } else {
                rng.randn(&size) * 0.1
            };
            let mut var = var.shallow_clone();
            var.copy_(&drawn);
        }
    });
    vars.into_iter().map(|(k, v)| (k, v.detach().copy())).collect()
}


fn to_json<T: serde::Serialize>(v: &T) -> Value {
    serde_json::to_value(v).expect("configs serialise")
}

fn context(rng: &mut Rng, tokens: Option<i64>, batch: i64, dim: Option<i64>) -> Option<Tensor> {
    tokens.map(|m| rng.randn(&[batch, m, dim.unwrap_or(0)]))
}

/// Draws `case` from `seed`; `with_outputs` false leaves out `out.*` (hidden fixtures).
pub fn generate(case: &Case, seed: u64, with_outputs: bool) -> Result<Fixture> {
    let rng = &mut Rng::new(case_seed(seed, case.name));
    let vs = nn::VarStore::new(Device::Cpu);
    let root = vs.root();
    let mut inputs: BTreeMap<&str, Tensor> = BTreeMap::new();
    // Each arm builds the module, draws the weights, then the inputs, then computes.
    let (config, params, outputs): (Value, BTreeMap<String, Tensor>, Vec<(&str, Tensor)>) = match &case.spec {
        Spec::FeedForward { config, batch, tokens } => {
            let m = FeedForward::new(root, config.clone());
            let params = draw_weights(&vs, rng);
            let x = rng.randn(&[*batch, *tokens, config.dim]);
            let y = m.try_forward(&x, false)?;
            inputs.insert("x", x);
            (to_json(config), params, vec![("y", y)])
        }
        Spec::CrossAttention { config, batch, tokens, context_tokens } => {
            let m = CrossAttention::new(root, config.clone());
            let params = draw_weights(&vs, rng);
            let x = rng.randn(&[*batch, *tokens, config.query_dim]);
            let ctx = context(rng, *context_tokens, *batch, config.context_dim);
            let y = m.try_forward(&x, ctx.as_ref(), false)?;
            inputs.insert("x", x);
            ctx.map(|c| inputs.insert("context", c));
            (to_json(config), params, vec![("y", y)])
        }
        Spec::SpatialTransformer { config, batch, size, context_tokens } => {
            let m = SpatialTransformer::new(root, config.clone());
            let params = draw_weights(&vs, rng);
            let scale = if case.name.ends_with("small_inputs") { 1e-3 } else { 1.0 };
            let x = rng.randn(&[*batch, config.in_channels, *size, *size]) * scale;
            let ctx = context(rng, *context_tokens, *batch, config.context_dim);
            let y = m.try_forward(&x, ctx.as_ref(), false)?;
            inputs.insert("x", x);
            ctx.map(|c| inputs.insert("context", c));
            (to_json(config), params, vec![("y", y)])
        }
        Spec::ResnetBlock { config, batch, size } => {
            let m = ResnetBlock::new(root, config.clone());
            let params = draw_weights(&vs, rng);
            let x = rng.randn(&[*batch, config.dim, *size, *size]);
            let time_emb = rng.randn(&[*batch, config.time_emb_dim]);
            let y = m.try_forward(&x, &time_emb, false)?;
            inputs.insert("x", x);
            inputs.insert("time_emb", time_emb);
            (to_json(config), params, vec![("y", y)])
        }
        Spec::Unet { config, batch, size, context_tokens } => {
            let m = Unet::new(root, config.clone());
            let params = draw_weights(&vs, rng);
            let x = rng.randn(&[*batch, config.channels, *size, *size]);
            let time = rng.randint(1000, *batch);
            let ctx = context(rng, *context_tokens, *batch, config.context_dim);
            let y = m.try_forward(&x, &time, ctx.as_ref(), false)?;
            inputs.insert("x", x);
            inputs.insert("time", time);
            ctx.map(|c| inputs.insert("context", c));
            (to_json(config), params, vec![("y", y)])
        }
        Spec::Scheduler { sched } => {
            let s = Scheduler::new(sched.clone());
            let outputs = s.terms().into_iter().map(|(name, t)| (name, t.shallow_clone())).collect();
            (to_json(sched), BTreeMap::new(), outputs)
        }
        Spec::QSample { sched, shape, t } => {
            let s = Scheduler::new(sched.clone());
            let x_start = rng.randn(shape);
            let t = match t {
                Some(t) => Tensor::from_slice(t),
                None => rng.randint(sched.timesteps, shape[0]),
            };
            let noise = rng.randn(shape);
            s.check_steps(&t)?;
            let x_noisy = q_sample(&s, &x_start, &t, &noise);
            inputs.extend([("x_start", x_start), ("t", t), ("noise", noise)]);
            (to_json(sched), BTreeMap::new(), vec![("x_noisy", x_noisy)])
        }
        Spec::PLosses { sched, loss_type, unet, batch, size, context_tokens } => {
            let s = Scheduler::new(sched.clone());
            let m = Unet::new(root, unet.clone());
            let params = draw_weights(&vs, rng);
            let x_start = rng.randn(&[*batch, unet.channels, *size, *size]);
            let t = rng.randint(sched.timesteps, *batch);
            let noise = rng.randn(&[*batch, unet.channels, *size, *size]);
            let ctx = context(rng, *context_tokens, *batch, unet.context_dim);
            let model = |x: &Tensor, t: &Tensor, c: Option<&Tensor>| m.forward(x, t, c, false);
            let loss = tch::no_grad(|| p_losses(&s, model, &x_start, &t, ctx.as_ref(), &noise, *loss_type));
            inputs.extend([("x_start", x_start), ("t", t), ("noise", noise)]);
            ctx.map(|c| inputs.insert("context", c));
            let mut config = to_json(sched);
            config["loss_type"] = to_json(loss_type);
            config["unet"] = to_json(unet);
            (config, params, vec![("loss", loss)])
        }
        Spec::PSample { sched, t_index, unet, batch, size, context_tokens } => {
            let s = Scheduler::new(sched.clone());
            let m = Unet::new(root, unet.clone());
            let params = draw_weights(&vs, rng);
            let x = rng.randn(&[*batch, unet.channels, *size, *size]);
            let t = Tensor::full([*batch], *t_index, (Kind::Int64, Device::Cpu));
            let noise = rng.randn(&[*batch, unet.channels, *size, *size]);
            let ctx = context(rng, *context_tokens, *batch, unet.context_dim);
            let model = |x: &Tensor, t: &Tensor, c: Option<&Tensor>| m.forward(x, t, c, false);
            let x_prev = tch::no_grad(|| p_sample(&s, model, &x, &t, *t_index, ctx.as_ref(), &noise));
            inputs.extend([("x", x), ("t", t), ("noise", noise)]);
            ctx.map(|c| inputs.insert("context", c));
            let mut config = to_json(sched);
            config["t_index"] = json!(t_index);
            config["unet"] = to_json(unet);
            (config, params, vec![("x_prev", x_prev)])
        }
    };
    let mut fixture = Fixture::new(case.name, case.spec.exercise(), config);
    fixture.extra.insert("case".into(), case.name.into());
    fixture.extra.insert("seed".into(), seed.to_string());
    fixture.params = params;
    fixture.inputs = inputs.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
    if with_outputs {
        fixture.outputs = outputs.into_iter().map(|(k, v)| (k.to_string(), v.detach().contiguous())).collect();
    }
    Ok(fixture)
}

/// Writes one file per case into `out`, returning the paths written.
pub fn write_all(cases: &[Case], seed: u64, with_outputs: bool, out: &Path) -> Result<Vec<std::path::PathBuf>> {
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    cases
        .iter()
        .map(|case| {
            let path = out.join(format!("{}.safetensors", case.name));
            generate(case, seed, with_outputs)?.save(&path)?;
            Ok(path)
        })
        .collect()
}
