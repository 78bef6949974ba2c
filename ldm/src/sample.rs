//! `ldm sample`: digits for a prompt, as a PNG grid and an animated GIF of the denoising.

use crate::run::RunFiles;
use anyhow::{bail, Result};
use std::path::PathBuf;
use std::time::Instant;
use workbook::engine::generate::{self as engine, generate, SampleOptions};
use workbook::rng::Rng;

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Sampler {
    Ddim,
    Ddpm,
}

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Run folder written by `ldm train`.
    #[arg(long, default_value = "runs/latent")]
    pub run: PathBuf,
    #[arg(long, default_value = "The number 7")]
    pub prompt: String,
    /// How many digits.
    #[arg(short, long, default_value_t = 16)]
    pub n: i64,
    #[arg(long, value_enum, default_value_t = Sampler::Ddim)]
    pub sampler: Sampler,
    /// DDIM steps (DDPM always takes every step of the schedule).
    #[arg(long, default_value_t = 25)]
    pub steps: usize,
    /// DDIM's eta: 0 deterministic, 1 as noisy as DDPM.
    #[arg(long, default_value_t = 0.0)]
    pub eta: f64,
    /// Classifier-free guidance scale (1 = none).
    #[arg(long, default_value_t = 6.0)]
    pub guidance: f64,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Output folder for samples.png and denoising.gif.
    #[arg(long, default_value = "samples")]
    pub out: PathBuf,
}

impl Args {
    pub fn options(&self, frames: usize) -> SampleOptions {
        let sampler = match self.sampler {
            Sampler::Ddim => engine::Sampler::Ddim { steps: self.steps, eta: self.eta },
            Sampler::Ddpm => engine::Sampler::Ddpm,
        };
        SampleOptions { sampler, guidance: self.guidance, frames }
    }
}

pub fn run(args: Args) -> Result<()> {
    if args.n < 1 {
        bail!("-n must be at least 1, got {}", args.n);
    }
    let (config, _, models) = RunFiles::new(&args.run).load(true)?;
    let stage = config.space.stage()?;
    let prompts = vec![args.prompt.clone(); args.n as usize];
    let unknown: Vec<String> = args.prompt.split_whitespace().filter(|w| models.text.tokenizer.ids(w)[0] == workbook::text::UNK).map(String::from).collect();
    if !unknown.is_empty() {
        eprintln!("note: the text encoder does not know {unknown:?}; they read as <unk>");
    }
    let started = Instant::now();
    let (images, traj) = generate(&models.unet, &models.diffusion, &models.text, &stage, &prompts, args.options(24), &mut Rng::new(args.seed));
    let seconds = started.elapsed().as_secs_f64();
    let cols = (args.n as f64).sqrt().ceil() as usize;
    let png = args.out.join("samples.png");
    let gif = args.out.join("denoising.gif");
    workbook::plot::save_grid(&images, cols, 3, &png)?;
    workbook::plot::save_gif(&traj.frames, cols, 3, 80, &gif)?;
    println!("{} digits for {:?} in {seconds:.2} s ({:?}, {} steps, guidance {}); wrote {} and {}", args.n, args.prompt, args.sampler, if args.sampler == Sampler::Ddim { args.steps } else { config.scheduler.timesteps as usize }, args.guidance, png.display(), gif.display());
    Ok(())
}
