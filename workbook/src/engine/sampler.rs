//! Samplers: DDPM through the student's p_sample, and DDIM (Song et al.) straight
//! from alpha_bar, which reaches good samples in 25 to 50 steps instead of 1,000.

use super::{NoiseModel, Process};
use crate::rng::Rng;
use tch::{Kind, Tensor};

/// What a run keeps besides the final sample: up to `frames` snapshots of x for a GIF.
#[derive(Debug, Default)]
pub struct Trajectory {
    pub frames: Vec<Tensor>,
    /// The step index t of each frame.
    pub steps: Vec<i64>,
}

impl Trajectory {
    fn keep(&mut self, x: &Tensor, t: i64, i: usize, total: usize, frames: usize) {
        if frames == 0 {
            return;
        }
        // Evenly spaced frames, always including the first and the last step.
        let every = (total / frames).max(1);
        if i % every == 0 || i + 1 == total {
            self.frames.push(x.detach().copy());
            self.steps.push(t);
        }
    }
}

fn full_t(b: i64, t: i64) -> Tensor {
    Tensor::full([b], t, (Kind::Int64, tch::Device::Cpu))
}

/// Ancestral sampling: x_T ~ N(0, I), then p_sample for t = T-1 .. 0.
pub fn ddpm(
    process: &dyn Process,
    model: NoiseModel,
    shape: &[i64],
    context: Option<&Tensor>,
    rng: &mut Rng,
    frames: usize,
) -> (Tensor, Trajectory) {
    let steps = process.timesteps();
    let mut x = rng.randn(shape);
    let mut traj = Trajectory::default();
    traj.keep(&x, steps, 0, steps as usize + 1, frames);
    tch::no_grad(|| {
        for (i, t) in (0..steps).rev().enumerate() {
            let z = rng.randn(shape);
            x = process.p_sample(model, &x, &full_t(shape[0], t), t, context, &z);
            traj.keep(&x, t, i + 1, steps as usize + 1, frames);
        }
    });
    (x, traj)
}

/// The S step indices DDIM visits, ascending, from 0 to T-1.
pub fn ddim_timesteps(timesteps: i64, steps: usize) -> Vec<i64> {
    let s = steps.clamp(1, timesteps as usize) as i64;
    if s == 1 {
        return vec![timesteps - 1];
    }
    (0..s).map(|i| (i * (timesteps - 1) + (s - 1) / 2) / (s - 1)).collect()
}

/// DDIM: x_prev = sqrt(ab_prev) x0 + sqrt(1 - ab_prev - sigma^2) eps + sigma z, with
/// x0 = (x - sqrt(1 - ab) eps) / sqrt(ab) and sigma = eta sqrt((1 - ab_prev)/(1 - ab)) sqrt(1 - ab/ab_prev).
/// eta 0 is deterministic; eta 1 with every step is DDPM.
#[allow(clippy::too_many_arguments)]
pub fn ddim(
    alphas_cumprod: &Tensor,
    model: NoiseModel,
    shape: &[i64],
    context: Option<&Tensor>,
    steps: usize,
    eta: f64,
    rng: &mut Rng,
    frames: usize,
) -> (Tensor, Trajectory) {
    let timesteps = alphas_cumprod.size()[0];
    let ab: Vec<f64> = Vec::<f64>::try_from(alphas_cumprod.to_kind(Kind::Double)).expect("alpha_bar is a vector");
    let taus = ddim_timesteps(timesteps, steps);
    let mut x = rng.randn(shape);
    let mut traj = Trajectory::default();
    let total = taus.len() + 1;
    traj.keep(&x, timesteps, 0, total, frames);
    tch::no_grad(|| {
        for (i, k) in (0..taus.len()).rev().enumerate() {
            let t = taus[k];
            let (a, a_prev) = (ab[t as usize], if k == 0 { 1.0 } else { ab[taus[k - 1] as usize] });
            let eps = model(&x, &full_t(shape[0], t), context);
            let x0 = (&x - &eps * (1.0 - a).sqrt()) / a.sqrt();
            let sigma = eta * ((1.0 - a_prev) / (1.0 - a)).sqrt() * (1.0 - a / a_prev).max(0.0).sqrt();
            let z = rng.randn(shape);
            let dir = (1.0 - a_prev - sigma * sigma).max(0.0).sqrt();
            x = x0 * a_prev.sqrt() + eps * dir + z * sigma;
            traj.keep(&x, t, i + 1, total, frames);
        }
    });
    (x, traj)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ddim_steps_span_the_schedule() {
        assert_eq!(ddim_timesteps(1000, 1000), (0..1000).collect::<Vec<_>>());
        let s = ddim_timesteps(1000, 50);
        assert_eq!((s.len(), s[0], s[49]), (50, 0, 999));
        assert!(s.windows(2).all(|w| w[0] < w[1]));
    }
}
