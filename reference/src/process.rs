//! The reference pieces plugged into the workbook's engine: the Unet as its
//! Denoiser, and the Scheduler with q_sample / p_losses / p_sample as its Process.

use crate::diffusion::{p_losses, p_sample, LossType};
use crate::schedule::{Scheduler, SchedulerConfig};
use crate::unet::Unet;
use tch::Tensor;
use workbook::engine::{Denoiser, NoiseModel, Process};

// @region engine_adapters
impl Denoiser for Unet {
    fn forward(&self, x: &Tensor, time: &Tensor, context: Option<&Tensor>, train: bool) -> Tensor {
        Unet::forward(self, x, time, context, train)
    }
}

#[derive(Debug)]
pub struct Diffusion {
    pub scheduler: Scheduler,
    pub loss_type: LossType,
}

impl Diffusion {
    pub fn new(config: SchedulerConfig, loss_type: LossType) -> Self {
        Diffusion { scheduler: Scheduler::new(config), loss_type }
    }
}

impl Process for Diffusion {
    fn timesteps(&self) -> i64 {
        self.scheduler.timesteps()
    }

    fn alphas_cumprod(&self) -> Tensor {
        self.scheduler.alphas_cumprod.shallow_clone()
    }

    fn p_losses(&self, model: NoiseModel, x_start: &Tensor, t: &Tensor, context: Option<&Tensor>, noise: &Tensor) -> Tensor {
        p_losses(&self.scheduler, model, x_start, t, context, noise, self.loss_type)
    }

    fn p_sample(&self, model: NoiseModel, x: &Tensor, t: &Tensor, t_index: i64, context: Option<&Tensor>, noise: &Tensor) -> Tensor {
        p_sample(&self.scheduler, model, x, t, t_index, context, noise)
    }
}
// @endregion
