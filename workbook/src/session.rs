//! The notebook's training and sampling: the student's Unet and diffusion process,
//! trained in the autoencoder's latent space, with progress lines (a redrawn bar
//! would print a new line per frame in a notebook) and inline pictures.

use crate::charts::{line_chart, smooth, Series};
use crate::data::Mnist;
use crate::engine::ema::Ema;
use crate::engine::generate::{generate, SampleOptions, Sampler};
use crate::engine::stage::FirstStage;
use crate::engine::train::{Dataset, LogEntry, TrainConfig, Trainer};
use crate::engine::{init::zero_branch_outputs, Denoiser, Process};
use crate::rng::Rng;
use crate::text::{TextEncoder, TextEncoderConfig};
use anyhow::Result;
use std::time::Instant;
use tch::{nn, Device};

pub struct Trained {
    pub vs: nn::VarStore,
    pub model: Box<dyn Denoiser>,
    pub process: Box<dyn Process>,
    pub text: TextEncoder,
    pub stage: FirstStage,
    pub ema: Ema,
    pub history: Vec<LogEntry>,
}

fn clock(s: f64) -> String {
    format!("{}m{:02}s", (s / 60.0) as u64, (s % 60.0) as u64)
}

/// Trains `build(path)` (a Unet with 4 input channels and context 128) for `seconds`.
pub fn train_latent<D, P>(build: impl FnOnce(nn::Path) -> D, process: P, seconds: f64) -> Result<Trained>
where
    D: Denoiser + 'static,
    P: Process + 'static,
{
    let vs = nn::VarStore::new(Device::Cpu);
    let model = build(vs.root() / "unet");
    let text = TextEncoder::new(vs.root() / "text", TextEncoderConfig::default());
    zero_branch_outputs(&vs, "unet.");
    let stage = FirstStage::new(true)?;
    let mnist = Mnist::embedded()?;
    let data = Dataset { x: stage.encode_split(&mnist.train), labels: mnist.train.labels.clone() };
    println!("training on {} latents of shape {:?} for {}", data.labels.len(), &data.x.size()[1..], clock(seconds));
    let (history, ema) = {
        let mut trainer = Trainer::new(&vs, &model, &process, &text, TrainConfig::default())?;
        let started = Instant::now();
        let mut last_print = -1.0f64;
        while started.elapsed().as_secs_f64() < seconds {
            trainer.train_step(&data);
            let s = started.elapsed().as_secs_f64();
            if s - last_print >= 30.0 || trainer.step == 1 {
                last_print = s;
                let recent = &trainer.history[trainer.history.len().saturating_sub(50)..];
                let loss = recent.iter().map(|h| h.loss).sum::<f64>() / recent.len() as f64;
                let eta = (seconds - s).max(0.0);
                println!("step {:>5} | {} of {} | loss {loss:.4} | {:.2} steps/s | ETA {}", trainer.step, clock(s), clock(seconds), trainer.step as f64 / s, clock(eta));
            }
        }
        println!("done: {} steps in {}", trainer.step, clock(started.elapsed().as_secs_f64()));
        (trainer.history, trainer.ema)
    };
    ema.load_into(&vs);
    Ok(Trained { vs, model: Box::new(model), process: Box::new(process), text, stage, ema, history })
}

impl Trained {
    pub fn show_loss_curve(&self) -> Result<()> {
        let raw: Vec<(f64, f64)> = self.history.iter().map(|h| (h.step as f64, h.loss)).collect();
        let series = vec![
            Series { name: "loss".into(), points: raw.clone() },
            Series { name: "moving average (50 steps)".into(), points: smooth(&raw, 50) },
        ];
        crate::display::svg(&line_chart("training loss (MSE on the noise)", "step", "loss", &series, true)?);
        crate::submission::save_artifact("loss.json", serde_json::to_string(&self.history)?.as_bytes())
    }

    pub fn sample(&self, prompts: &[String], options: SampleOptions, seed: u64) -> (tch::Tensor, crate::engine::sampler::Trajectory) {
        generate(self.model.as_ref(), self.process.as_ref(), &self.text, &self.stage, prompts, options, &mut Rng::new(seed))
    }

    /// `per_prompt` digits for each prompt, one row per prompt.
    pub fn show_samples(&self, prompts: &[&str], per_prompt: usize) -> Result<()> {
        let all: Vec<String> = prompts.iter().flat_map(|p| std::iter::repeat_n(p.to_string(), per_prompt)).collect();
        let started = Instant::now();
        let (images, _) = self.sample(&all, SampleOptions::default(), 0);
        println!("{} digits in {:.1} s (DDIM, 25 steps, guidance 6); rows: {prompts:?}", all.len(), started.elapsed().as_secs_f64());
        let png = crate::plot::grid_png(&images, per_prompt, 2)?;
        crate::display::png(&png);
        crate::submission::save_artifact("samples.png", &png)
    }

    /// An animated GIF of one trajectory from noise to digits.
    pub fn show_denoising(&self, prompt: &str) -> Result<()> {
        let options = SampleOptions { sampler: Sampler::Ddim { steps: 50, eta: 0.0 }, guidance: 6.0, frames: 25 };
        let (_, traj) = self.sample(&vec![prompt.to_string(); 4], options, 1);
        crate::display::gif(&crate::plot::gif_bytes(&traj.frames, 4, 3, 100)?);
        Ok(())
    }
}

/// Times one training step of the course project's pixel-space Unet on a small batch
/// and scales it to its batch of 64 and an epoch of 60,000 digits.
pub fn pixel_space_cost<D: Denoiser>(build: impl FnOnce(nn::Path) -> D, process: &dyn Process, context_dim: i64) -> Result<()> {
    use tch::nn::OptimizerConfig;
    let vs = nn::VarStore::new(Device::Cpu);
    let model = build(vs.root());
    let n_params: i64 = vs.variables().values().map(|t| t.numel() as i64).sum();
    let mut opt = nn::Adam::default().build(&vs, 1e-3)?;
    let b = 4;
    let mut rng = Rng::new(0);
    let (x, ctx) = (rng.randn(&[b, 1, 32, 32]), rng.randn(&[b, 5, context_dim]));
    let t = rng.randint(process.timesteps(), b);
    let step = |opt: &mut nn::Optimizer| {
        let m = |x: &tch::Tensor, t: &tch::Tensor, c: Option<&tch::Tensor>| model.forward(x, t, c, true);
        let loss = process.p_losses(&m, &x, &t, Some(&ctx), &x.randn_like());
        opt.backward_step(&loss);
    };
    step(&mut opt); // warm-up
    let started = Instant::now();
    step(&mut opt);
    let per_step = started.elapsed().as_secs_f64() * 64.0 / b as f64;
    let epoch_h = per_step * (60_000.0 / 64.0) / 3600.0;
    println!("pixel-space Unet: {:.2} M parameters; one step of batch {b} took {:.1} s", n_params as f64 / 1e6, per_step * b as f64 / 64.0);
    println!("at the course's batch of 64: at least {per_step:.0} s per step and {epoch_h:.1} hours per epoch of 60,000 digits on this CPU");
    println!("(scaled linearly from batch {b}, which flatters it: a measured batch of 64 takes about 32 s per step on 2 cores)");
    Ok(())
}
