//! How each exercise is run on a fixture: the same code runs in the notebook's
//! check cells (against the student's code) and in the grader's child process.
//! Each runner builds the module from the fixture's `config`, loads `param.*`,
//! feeds `in.*` and returns the outputs under the contract's names.

use crate::*;
use anyhow::Result;
use tch::{nn::VarStore, Device, Tensor};
use workbook::check::{load_params, Outputs};
use workbook::fixture::Fixture;

// @region runners_common
/// The Unet of a p_losses or p_sample fixture (its weights are the fixture's params).
fn fixture_unet(f: &Fixture) -> Result<(VarStore, Unet)> {
    let vs = VarStore::new(Device::Cpu);
    let config: UnetConfig = serde_json::from_value(f.config["unet"].clone())?;
    let unet = Unet::new(vs.root(), config);
    load_params(&vs, f)?;
    Ok((vs, unet))
}

fn fixture_scheduler(f: &Fixture) -> Result<Scheduler> {
    Ok(Scheduler::new(SchedulerConfig {
        schedule: serde_json::from_value(f.config["schedule"].clone())?,
        timesteps: serde_json::from_value(f.config["timesteps"].clone())?,
    }))
}
// @endregion

// @region run_feed_forward
fn run_feed_forward(f: &Fixture) -> Result<Outputs> {
    let vs = VarStore::new(Device::Cpu);
    let m = FeedForward::new(vs.root(), f.config_as()?);
    load_params(&vs, f)?;
    Ok(vec![("y", m.try_forward(f.input("x")?, false)?)])
}
// @endregion

// @region run_cross_attention
fn run_cross_attention(f: &Fixture) -> Result<Outputs> {
    let vs = VarStore::new(Device::Cpu);
    let m = CrossAttention::new(vs.root(), f.config_as()?);
    load_params(&vs, f)?;
    Ok(vec![("y", m.try_forward(f.input("x")?, f.inputs.get("context"), false)?)])
}
// @endregion

// @region run_spatial_transformer
fn run_spatial_transformer(f: &Fixture) -> Result<Outputs> {
    let vs = VarStore::new(Device::Cpu);
    let m = SpatialTransformer::new(vs.root(), f.config_as()?);
    load_params(&vs, f)?;
    Ok(vec![("y", m.try_forward(f.input("x")?, f.inputs.get("context"), false)?)])
}
// @endregion

// @region run_resnet_block
fn run_resnet_block(f: &Fixture) -> Result<Outputs> {
    let vs = VarStore::new(Device::Cpu);
    let m = ResnetBlock::new(vs.root(), f.config_as()?);
    load_params(&vs, f)?;
    Ok(vec![("y", m.try_forward(f.input("x")?, f.input("time_emb")?, false)?)])
}
// @endregion

// @region run_unet
fn run_unet(f: &Fixture) -> Result<Outputs> {
    let vs = VarStore::new(Device::Cpu);
    let m = Unet::new(vs.root(), f.config_as()?);
    load_params(&vs, f)?;
    let (x, time) = (f.input("x")?, f.input("time")?);
    let y = tch::no_grad(|| m.try_forward(x, time, f.inputs.get("context"), false))?;
    Ok(vec![("y", y)])
}
// @endregion

// @region run_scheduler
fn run_scheduler(f: &Fixture) -> Result<Outputs> {
    let s = Scheduler::new(f.config_as()?);
    Ok(vec![
        ("betas", s.betas.shallow_clone()),
        ("sqrt_reciprocal_alphas", s.sqrt_reciprocal_alphas.shallow_clone()),
        ("sqrt_alphas_cumprod", s.sqrt_alphas_cumprod.shallow_clone()),
        ("sqrt_one_minus_alphas_cumprod", s.sqrt_one_minus_alphas_cumprod.shallow_clone()),
        ("posterior_variance", s.posterior_variance.shallow_clone()),
    ])
}
// @endregion

// @region run_q_sample
fn run_q_sample(f: &Fixture) -> Result<Outputs> {
    let s = fixture_scheduler(f)?;
    Ok(vec![("x_noisy", q_sample(&s, f.input("x_start")?, f.input("t")?, f.input("noise")?))])
}
// @endregion

// @region run_p_losses
fn run_p_losses(f: &Fixture) -> Result<Outputs> {
    let s = fixture_scheduler(f)?;
    let (_vs, unet) = fixture_unet(f)?;
    let loss_type: LossType = serde_json::from_value(f.config["loss_type"].clone())?;
    let model = |x: &Tensor, t: &Tensor, c: Option<&Tensor>| unet.forward(x, t, c, false);
    let (x_start, t, noise) = (f.input("x_start")?, f.input("t")?, f.input("noise")?);
    let loss = tch::no_grad(|| p_losses(&s, model, x_start, t, f.inputs.get("context"), noise, loss_type));
    Ok(vec![("loss", loss)])
}
// @endregion

// @region run_p_sample
fn run_p_sample(f: &Fixture) -> Result<Outputs> {
    let s = fixture_scheduler(f)?;
    let (_vs, unet) = fixture_unet(f)?;
    let t_index: i64 = serde_json::from_value(f.config["t_index"].clone())?;
    let model = |x: &Tensor, t: &Tensor, c: Option<&Tensor>| unet.forward(x, t, c, false);
    let (x, t, noise) = (f.input("x")?, f.input("t")?, f.input("noise")?);
    let x_prev = tch::no_grad(|| p_sample(&s, model, x, t, t_index, f.inputs.get("context"), noise));
    Ok(vec![("x_prev", x_prev)])
}
// @endregion

/// Every runner by exercise name, for the grader and the tests.
pub fn runner(exercise: &str) -> Option<fn(&Fixture) -> Result<Outputs>> {
    Some(match exercise {
        "feed_forward" => run_feed_forward,
        "cross_attention" => run_cross_attention,
        "spatial_transformer" => run_spatial_transformer,
        "resnet_block" => run_resnet_block,
        "unet" => run_unet,
        "scheduler" => run_scheduler,
        "q_sample" => run_q_sample,
        "p_losses" => run_p_losses,
        "p_sample" => run_p_sample,
        _ => return None,
    })
}
