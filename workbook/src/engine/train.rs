//! The training loop: random prompts per batch (the empty one with probability
//! `cond_drop`), the loss from the student's p_losses, Adam with gradient clipping,
//! and an exponential moving average of the weights.

use super::{ema::Ema, Denoiser, Process};
use crate::rng::Rng;
use crate::text::{training_prompts, TextEncoder};
use anyhow::Result;
use serde::{Deserialize, Serialize};
use std::time::Instant;
use tch::{nn, nn::OptimizerConfig, Kind, Tensor};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
    pub batch_size: i64,
    pub lr: f64,
    pub grad_clip: f64,
    pub ema_decay: f64,
    /// Probability of training on the empty prompt (for classifier-free guidance).
    pub cond_drop: f64,
    pub seed: u64,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig { batch_size: 64, lr: 1e-3, grad_clip: 1.0, ema_decay: 0.999, cond_drop: 0.1, seed: 0 }
    }
}

/// Training examples: x [N, C, H, W] (latents or pixels) and their digit labels.
#[derive(Debug)]
pub struct Dataset {
    pub x: Tensor,
    pub labels: Vec<u8>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LogEntry {
    pub step: usize,
    pub loss: f64,
    pub seconds: f64,
}

pub struct Trainer<'a> {
    pub vs: &'a nn::VarStore,
    pub model: &'a dyn Denoiser,
    pub process: &'a dyn Process,
    pub text: &'a TextEncoder,
    pub config: TrainConfig,
    pub ema: Ema,
    pub step: usize,
    pub history: Vec<LogEntry>,
    /// Seconds trained before this run (a resumed checkpoint's time).
    pub seconds_before: f64,
    opt: nn::Optimizer,
    rng: Rng,
    order: Vec<usize>,
    cursor: usize,
    started: Instant,
}

impl<'a> Trainer<'a> {
    pub fn new(
        vs: &'a nn::VarStore,
        model: &'a dyn Denoiser,
        process: &'a dyn Process,
        text: &'a TextEncoder,
        config: TrainConfig,
    ) -> Result<Self> {
        tch::manual_seed(config.seed as i64);
        let opt = nn::Adam::default().build(vs, config.lr)?;
        Ok(Trainer {
            ema: Ema::new(vs, config.ema_decay),
            rng: Rng::new(config.seed),
            vs,
            model,
            process,
            text,
            opt,
            config,
            step: 0,
            history: Vec::new(),
            seconds_before: 0.0,
            order: Vec::new(),
            cursor: 0,
            started: Instant::now(),
        })
    }

    /// Indices of the next batch: epochs over a fresh shuffle, so every example is seen.
    fn next_batch(&mut self, n: usize) -> Vec<usize> {
        let b = self.config.batch_size as usize;
        if self.order.len() != n || self.cursor + b > n {
            self.order = (0..n).collect();
            self.rng.shuffle(&mut self.order);
            self.cursor = 0;
        }
        let batch = self.order[self.cursor..self.cursor + b.min(n)].to_vec();
        self.cursor += b;
        batch
    }

    /// One optimisation step; returns the loss.
    pub fn train_step(&mut self, data: &Dataset) -> f64 {
        let idx = self.next_batch(data.labels.len());
        let labels: Vec<u8> = idx.iter().map(|&i| data.labels[i]).collect();
        let index = Tensor::from_slice(&idx.iter().map(|&i| i as i64).collect::<Vec<_>>());
        let x0 = data.x.index_select(0, &index); // [b, C, H, W]
        let prompts = training_prompts(&labels, self.config.cond_drop, &mut self.rng);
        let context = self.text.encode(&prompts); // [b, tokens, width]
        let b = x0.size()[0];
        let t = Tensor::randint(self.process.timesteps(), [b], (Kind::Int64, x0.device()));
        let noise = x0.randn_like();
        let model = |x: &Tensor, t: &Tensor, c: Option<&Tensor>| self.model.forward(x, t, c, true);
        let loss = self.process.p_losses(&model, &x0, &t, Some(&context), &noise);
        self.opt.backward_step_clip_norm(&loss, self.config.grad_clip);
        self.step += 1;
        self.ema.update(self.vs, self.step);
        let loss = loss.double_value(&[]);
        self.history.push(LogEntry { step: self.step, loss, seconds: self.seconds() });
        loss
    }

    /// Seconds of training so far, including those before a resume.
    pub fn seconds(&self) -> f64 {
        self.seconds_before + self.started.elapsed().as_secs_f64()
    }

    pub fn restart_clock(&mut self) {
        self.started = Instant::now();
    }
}
