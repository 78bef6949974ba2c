//! The diffusion engine: training and sampling that are generic over the pieces a
//! student writes (the denoiser, p_losses, p_sample), so the notebook runs the
//! student's own code and the `ldm` command runs the reference's.

pub mod ema;
pub mod generate;
pub mod guidance;
pub mod init;
pub mod memory;
pub mod sampler;
pub mod stage;
pub mod train;

use tch::Tensor;

/// A noise-predicting network: the Unet, epsilon_theta(x_t, t, context).
pub trait Denoiser {
    /// x: [B, C, H, W], time: [B] int64, context: [B, M, D] -> predicted noise [B, C, H, W]
    fn forward(&self, x: &Tensor, time: &Tensor, context: Option<&Tensor>, train: bool) -> Tensor;
}

/// A model as the equations see it: (x_t, t, context) -> predicted noise.
pub type NoiseModel<'a> = &'a dyn Fn(&Tensor, &Tensor, Option<&Tensor>) -> Tensor;

/// The forward and reverse process: the student's Scheduler, p_losses and p_sample.
pub trait Process {
    fn timesteps(&self) -> i64;
    /// alpha_bar_t for every t: [T]; DDIM steps with it.
    fn alphas_cumprod(&self) -> Tensor;
    /// The training loss for x_start at steps t with the given noise.
    fn p_losses(&self, model: NoiseModel, x_start: &Tensor, t: &Tensor, context: Option<&Tensor>, noise: &Tensor) -> Tensor;
    /// One reverse step x_t -> x_{t-1}.
    fn p_sample(&self, model: NoiseModel, x: &Tensor, t: &Tensor, t_index: i64, context: Option<&Tensor>, noise: &Tensor) -> Tensor;
}
