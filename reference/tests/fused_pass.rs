//! The engine's fast path (fused attention) passes the same public fixtures, through
//! the same criterion, as the explicit modules the exercises teach; and its gradients,
//! which the fixtures do not see, are the explicit ones'.

use anyhow::Result;
use reference::*;
use std::path::Path;
use tch::{nn::VarStore, Device, Kind, Tensor};
use workbook::check::{check_with, load_params, Outputs, Verdict};
use workbook::compare::compare;
use workbook::fixture::Fixture;

type Runner = fn(&Fixture) -> Result<Outputs>;

fn fixtures() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/public")
}

fn run_cross_attention(f: &Fixture) -> Result<Outputs> {
    let vs = VarStore::new(Device::Cpu);
    let m = CrossAttention::new(vs.root(), f.config_as()?);
    load_params(&vs, f)?;
    Ok(vec![("y", m.forward_fused(f.input("x")?, f.inputs.get("context"), false))])
}

fn run_spatial_transformer(f: &Fixture) -> Result<Outputs> {
    let vs = VarStore::new(Device::Cpu);
    let m = SpatialTransformer::new(vs.root(), f.config_as()?);
    load_params(&vs, f)?;
    Ok(vec![("y", m.forward_fused(f.input("x")?, f.inputs.get("context"), false))])
}

fn fast_unet(f: &Fixture, config: &serde_json::Value) -> Result<(VarStore, FastUnet)> {
    let vs = VarStore::new(Device::Cpu);
    let unet = FastUnet::new(vs.root(), serde_json::from_value(config.clone())?);
    load_params(&vs, f)?;
    Ok((vs, unet))
}

fn run_unet(f: &Fixture) -> Result<Outputs> {
    let (_vs, m) = fast_unet(f, &f.config)?;
    let (x, time) = (f.input("x")?, f.input("time")?);
    let y = tch::no_grad(|| m.forward(x, time, f.inputs.get("context"), false));
    Ok(vec![("y", y)])
}

fn scheduler(f: &Fixture) -> Result<Scheduler> {
    Ok(Scheduler::new(SchedulerConfig {
        schedule: serde_json::from_value(f.config["schedule"].clone())?,
        timesteps: serde_json::from_value(f.config["timesteps"].clone())?,
    }))
}

fn run_p_losses(f: &Fixture) -> Result<Outputs> {
    let (s, (_vs, unet)) = (scheduler(f)?, fast_unet(f, &f.config["unet"])?);
    let loss_type: LossType = serde_json::from_value(f.config["loss_type"].clone())?;
    let model = |x: &Tensor, t: &Tensor, c: Option<&Tensor>| unet.forward(x, t, c, false);
    let (x_start, t, noise) = (f.input("x_start")?, f.input("t")?, f.input("noise")?);
    Ok(vec![("loss", tch::no_grad(|| p_losses(&s, model, x_start, t, f.inputs.get("context"), noise, loss_type)))])
}

fn run_p_sample(f: &Fixture) -> Result<Outputs> {
    let (s, (_vs, unet)) = (scheduler(f)?, fast_unet(f, &f.config["unet"])?);
    let t_index: i64 = serde_json::from_value(f.config["t_index"].clone())?;
    let model = |x: &Tensor, t: &Tensor, c: Option<&Tensor>| unet.forward(x, t, c, false);
    let (x, t, noise) = (f.input("x")?, f.input("t")?, f.input("noise")?);
    Ok(vec![("x_prev", tch::no_grad(|| p_sample(&s, model, x, t, t_index, f.inputs.get("context"), noise)))])
}

#[test]
fn fused_attention_passes_every_public_check_of_the_modules_that_use_it() {
    let runners: [(&str, Runner); 5] = [
        ("cross_attention", run_cross_attention),
        ("spatial_transformer", run_spatial_transformer),
        ("unet", run_unet),
        ("p_losses", run_p_losses),
        ("p_sample", run_p_sample),
    ];
    for (ex, run) in runners {
        let v = check_with(ex, &fixtures(), run);
        assert!(matches!(v, Verdict::Passed { cases, .. } if cases >= 2), "{ex}: {v}");
    }
}

#[test]
fn fused_and_explicit_unets_have_the_same_gradients() {
    tch::manual_seed(3);
    let vs = VarStore::new(Device::Cpu);
    let config = UnetConfig { dim: 16, dim_mults: vec![1, 2], channels: 2, context_dim: Some(8), ..Default::default() };
    let fast = FastUnet::new(vs.root(), config);
    let x = Tensor::randn([2, 2, 8, 8], (Kind::Float, Device::Cpu));
    let time = Tensor::from_slice(&[3i64, 500]);
    let context = Tensor::randn([2, 3, 8], (Kind::Float, Device::Cpu));
    let grads = |y: Tensor| {
        for (_, mut v) in vs.variables() {
            v.zero_grad();
        }
        y.square().mean(Kind::Float).backward();
        let mut named: Vec<(String, Tensor)> = vs.variables().into_iter().map(|(k, v)| (k, v.grad().copy())).collect();
        named.sort_by(|a, b| a.0.cmp(&b.0));
        Tensor::cat(&named.iter().map(|(_, g)| g.flatten(0, -1)).collect::<Vec<_>>(), 0) // every gradient, one vector
    };
    let explicit = grads(fast.unet.forward(&x, &time, Some(&context), true));
    let fused = grads(fast.forward(&x, &time, Some(&context), true));
    assert!(explicit.abs().max().double_value(&[]) > 0.0, "the test needs non-zero gradients");
    let c = compare(&fused, &explicit);
    assert!(c.passed(), "gradients: {c}");
}
