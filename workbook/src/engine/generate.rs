//! From prompts to images: guided sampling in the first stage's space, then decoding.

use super::guidance::guided_noise;
use super::sampler::{ddim, ddpm, Trajectory};
use super::stage::FirstStage;
use super::{Denoiser, Process};
use crate::rng::Rng;
use crate::text::TextEncoder;
use tch::Tensor;

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Sampler {
    /// Song et al.'s DDIM with this many steps and this eta.
    Ddim { steps: usize, eta: f64 },
    /// Every step of the schedule through p_sample.
    Ddpm,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SampleOptions {
    pub sampler: Sampler,
    /// Classifier-free guidance scale (1 = none).
    pub guidance: f64,
    /// Frames kept for an animation (0 = none).
    pub frames: usize,
}

impl Default for SampleOptions {
    fn default() -> Self {
        SampleOptions { sampler: Sampler::Ddim { steps: 25, eta: 0.0 }, guidance: 6.0, frames: 0 }
    }
}

/// Images [N, 1, 32, 32] in [-1, 1] for `prompts` (one image each) and, if asked, the decoded trajectory.
pub fn generate(
    model: &dyn Denoiser,
    process: &dyn Process,
    text: &TextEncoder,
    stage: &FirstStage,
    prompts: &[String],
    options: SampleOptions,
    rng: &mut Rng,
) -> (Tensor, Trajectory) {
    let (context, empty) = tch::no_grad(|| (text.encode(prompts), text.encode(&vec![String::new(); prompts.len()])));
    let guided = |x: &Tensor, t: &Tensor, c: Option<&Tensor>| guided_noise(model, x, t, c.unwrap_or(&context), &empty, options.guidance);
    let [c, h, w] = stage.sample_shape();
    let shape = [prompts.len() as i64, c, h, w];
    let (z, mut traj) = match options.sampler {
        Sampler::Ddim { steps, eta } => ddim(&process.alphas_cumprod(), &guided, &shape, Some(&context), steps, eta, rng, options.frames),
        Sampler::Ddpm => ddpm(process, &guided, &shape, Some(&context), rng, options.frames),
    };
    traj.frames = traj.frames.iter().map(|f| stage.decode(f)).collect();
    (stage.decode(&z), traj)
}
