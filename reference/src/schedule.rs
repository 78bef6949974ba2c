//! The forward process's noise: four beta schedules and the terms the
//! closed-form q(x_t | x_0) and the reverse step need.

use anyhow::{bail, Result};
use serde::{Deserialize, Serialize};
use std::f64::consts::PI;
use tch::{Device, Kind, Tensor};

// @region schedules
const BETA_START: f64 = 1e-4;
const BETA_END: f64 = 0.02;
const F32: (Kind, Device) = (Kind::Float, Device::Cpu);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Schedule {
    Linear,
    Cosine,
    Quadratic,
    Sigmoid,
}

impl Schedule {
    pub const ALL: [Schedule; 4] = [Schedule::Linear, Schedule::Cosine, Schedule::Quadratic, Schedule::Sigmoid];

    pub fn name(&self) -> &'static str {
        match self {
            Schedule::Linear => "linear",
            Schedule::Cosine => "cosine",
            Schedule::Quadratic => "quadratic",
            Schedule::Sigmoid => "sigmoid",
        }
    }

    pub fn betas(&self, timesteps: i64) -> Tensor {
        match self {
            Schedule::Linear => linear_beta_schedule(timesteps),
            Schedule::Cosine => cosine_beta_schedule(timesteps, 0.008),
            Schedule::Quadratic => quadratic_beta_schedule(timesteps),
            Schedule::Sigmoid => sigmoid_beta_schedule(timesteps),
        }
    }
}

pub fn linear_beta_schedule(timesteps: i64) -> Tensor {
    Tensor::linspace(BETA_START, BETA_END, timesteps, F32)
}

pub fn quadratic_beta_schedule(timesteps: i64) -> Tensor {
    Tensor::linspace(BETA_START.sqrt(), BETA_END.sqrt(), timesteps, F32).square()
}

pub fn sigmoid_beta_schedule(timesteps: i64) -> Tensor {
    Tensor::linspace(-6.0, 6.0, timesteps, F32).sigmoid() * (BETA_END - BETA_START) + BETA_START
}

/// Nichol & Dhariwal: alpha_bar(t) = cos((t/T + s) / (1 + s) * pi/2)^2, betas from its ratios.
pub fn cosine_beta_schedule(timesteps: i64, s: f64) -> Tensor {
    let x = Tensor::linspace(0.0, timesteps as f64, timesteps + 1, F32);
    let alphas_cumprod = (((x / timesteps as f64) + s) / (1.0 + s) * (PI * 0.5)).cos().square();
    let alphas_cumprod = &alphas_cumprod / alphas_cumprod.get(0);
    let ratio = alphas_cumprod.slice(0, 1, None, 1) / alphas_cumprod.slice(0, 0, timesteps, 1);
    (1f64 - ratio).clamp(0.0001, 0.9999)
}
// @endregion

// @region scheduler_struct
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SchedulerConfig {
    pub schedule: Schedule,
    pub timesteps: i64,
}

impl Default for SchedulerConfig {
    fn default() -> Self {
        SchedulerConfig { schedule: Schedule::Linear, timesteps: 1000 }
    }
}

/// Every term indexed by t, each a [T] float32 tensor.
#[derive(Debug)]
pub struct Scheduler {
    pub config: SchedulerConfig,
    pub betas: Tensor,
    pub alphas_cumprod: Tensor,
    pub alphas_cumprod_prev: Tensor,
    pub sqrt_reciprocal_alphas: Tensor,
    pub sqrt_alphas_cumprod: Tensor,
    pub sqrt_one_minus_alphas_cumprod: Tensor,
    /// beta_t (1 - alpha_bar_{t-1}) / (1 - alpha_bar_t): the variance of q(x_{t-1} | x_t, x_0).
    pub posterior_variance: Tensor,
}
// @endregion

// @region scheduler
impl Scheduler {
    pub fn new(config: SchedulerConfig) -> Self {
        // @todo alphas = 1 - betas; alpha_bar = cumprod; alpha_bar_prev = alpha_bar shifted right with 1 in front. // Then every field: sqrt(1 / alpha), sqrt(alpha_bar), sqrt(1 - alpha_bar), beta (1 - alpha_bar_prev) / (1 - alpha_bar).
        let betas = config.schedule.betas(config.timesteps);
        let alphas = 1f64 - &betas;
        let alphas_cumprod = alphas.cumprod(0, Kind::Float);
        // alpha_bar_{t-1}, with alpha_bar_{-1} = 1: [T-1] -> [T]
        let alphas_cumprod_prev = alphas_cumprod.slice(0, 0, -1, 1).pad([1, 0], "constant", Some(1.0));
        Scheduler {
            sqrt_reciprocal_alphas: alphas.reciprocal().sqrt(),
            sqrt_alphas_cumprod: alphas_cumprod.sqrt(),
            sqrt_one_minus_alphas_cumprod: (1f64 - &alphas_cumprod).sqrt(),
            posterior_variance: &betas * (1f64 - &alphas_cumprod_prev) / (1f64 - &alphas_cumprod),
            betas,
            alphas_cumprod,
            alphas_cumprod_prev,
            config,
        }
        // @endtodo
    }
}
// @endregion

// @region scheduler_given
impl Scheduler {
    pub fn timesteps(&self) -> i64 {
        self.config.timesteps
    }

    /// The five terms under the fixture contract's output names.
    pub fn terms(&self) -> [(&'static str, &Tensor); 5] {
        [
            ("betas", &self.betas),
            ("sqrt_reciprocal_alphas", &self.sqrt_reciprocal_alphas),
            ("sqrt_alphas_cumprod", &self.sqrt_alphas_cumprod),
            ("sqrt_one_minus_alphas_cumprod", &self.sqrt_one_minus_alphas_cumprod),
            ("posterior_variance", &self.posterior_variance),
        ]
    }

    /// Fails unless every entry of `t` is a step index in [0, T).
    pub fn check_steps(&self, t: &Tensor) -> Result<()> {
        let (lo, hi) = (t.min().int64_value(&[]), t.max().int64_value(&[]));
        if lo < 0 || hi >= self.timesteps() {
            bail!("Scheduler: step `t` ranges over [{lo}, {hi}], expected indices in [0, {})", self.timesteps());
        }
        Ok(())
    }
}
// @endregion

// @region extract
/// a[t] for each batch element, shaped [B, 1, ..., 1] to broadcast over x of rank `rank`.
pub fn extract(a: &Tensor, t: &Tensor, rank: usize) -> Tensor {
    let b = t.size()[0];
    let mut shape = vec![b];
    shape.resize(rank, 1);
    a.gather(-1, t, false).reshape(shape) // [B] -> [B, 1, ..., 1]
}
// @endregion
