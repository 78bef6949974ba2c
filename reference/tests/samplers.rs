//! DDIM with as many steps as DDPM and eta = 1 is DDPM (Song et al., 2021): the two
//! samplers, written from different formulas, must walk the same path.

use reference::{Diffusion, LossType, Schedule, SchedulerConfig};
use tch::{Kind, Tensor};
use workbook::engine::sampler::{ddim, ddpm};
use workbook::engine::Process;
use workbook::rng::Rng;

/// A fixed, input-dependent stand-in for a trained network.
fn toy_model(x: &Tensor, t: &Tensor, _: Option<&Tensor>) -> Tensor {
    (x * 0.3).tanh() + t.to_kind(Kind::Float).view([-1, 1, 1, 1]) * 1e-3
}

#[test]
fn ddim_with_every_step_and_eta_one_reproduces_ddpm() {
    let process = Diffusion::new(SchedulerConfig { schedule: Schedule::Linear, timesteps: 200 }, LossType::L2);
    let shape = [3, 2, 4, 4];
    let (a, ta) = ddpm(&process, &toy_model, &shape, None, &mut Rng::new(5), 10);
    let (b, tb) = ddim(&process.alphas_cumprod(), &toy_model, &shape, None, 200, 1.0, &mut Rng::new(5), 10);
    let err = (&a - &b).abs().max().double_value(&[]) / a.abs().max().double_value(&[]);
    assert!(err < 1e-4, "final samples differ by {err:e}");
    assert_eq!(ta.steps, tb.steps);
    for (fa, fb) in ta.frames.iter().zip(&tb.frames) {
        assert!((fa - fb).abs().max().double_value(&[]) < 1e-3);
    }
}

#[test]
fn ddim_lands_on_the_data_point_when_the_model_knows_the_noise() {
    // For data that is one point x0, the exact noise prediction is
    // eps(x, t) = (x - sqrt(ab_t) x0) / sqrt(1 - ab_t); deterministic DDIM must return x0.
    let process = Diffusion::new(SchedulerConfig { schedule: Schedule::Cosine, timesteps: 1000 }, LossType::L2);
    let ab = process.alphas_cumprod();
    let x0 = Tensor::from_slice(&[0.5f32, -1.0, 0.25, 0.75]).view([1, 1, 2, 2]);
    let exact = |x: &Tensor, t: &Tensor, _: Option<&Tensor>| {
        let a = ab.index_select(0, t).view([-1, 1, 1, 1]);
        (x - a.sqrt() * &x0) / (1.0f64 - &a).sqrt()
    };
    let (x, traj) = ddim(&ab, &exact, &[1, 1, 2, 2], None, 25, 0.0, &mut Rng::new(9), 5);
    assert!((&x - &x0).abs().max().double_value(&[]) < 1e-4);
    assert_eq!(*traj.steps.last().unwrap(), 0, "last frame is at t = 0");
    assert_eq!(traj.steps[0], 1000, "first frame is x_T");
}
