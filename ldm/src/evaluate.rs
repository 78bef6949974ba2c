//! `ldm evaluate`: does the prompt control the digit? Our classifier labels N generated
//! digits per prompt; we report accuracy per digit and overall, and the Frechet
//! distance between classifier features of generated and held-out real digits,
//! with train-versus-held-out real digits as the floor.

use crate::run::RunFiles;
use anyhow::{Context, Result};
use serde::Serialize;
use std::path::PathBuf;
use std::time::Instant;
use tch::Tensor;
use workbook::classifier::Classifier;
use workbook::data::Mnist;
use workbook::engine::generate::{generate, SampleOptions, Sampler};
use workbook::frechet::frechet_distance;
use workbook::rng::Rng;
use workbook::text::{prompt, TEMPLATES};

#[derive(clap::Args, Debug)]
pub struct Args {
    #[arg(long, default_value = "runs/latent")]
    pub run: PathBuf,
    /// Generated digits per prompt digit (0..9); prompts cycle through the phrasings.
    #[arg(short, long, default_value_t = 50)]
    pub n: usize,
    #[arg(long, default_value_t = 25)]
    pub steps: usize,
    #[arg(long, default_value_t = 6.0)]
    pub guidance: f64,
    #[arg(long, default_value_t = 0.0)]
    pub eta: f64,
    #[arg(long, default_value_t = 1234)]
    pub seed: u64,
    /// Digits generated per batch.
    #[arg(long, default_value_t = 100)]
    pub batch: usize,
    /// libtorch threads (default: all cores).
    #[arg(long)]
    pub threads: Option<i32>,
    /// Where to write the JSON report (and a PNG grid beside it); default RUN/evaluation.json.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

#[derive(Serialize)]
pub struct Report {
    pub run: String,
    pub space: String,
    pub train_step: String,
    pub train_seconds: String,
    pub sampler: String,
    pub steps: usize,
    pub guidance: f64,
    pub per_prompt: usize,
    pub prompt_accuracy: f64,
    pub per_digit_accuracy: Vec<f64>,
    pub frechet_generated_vs_heldout: f64,
    pub frechet_train_vs_heldout_floor: f64,
    pub classifier_heldout_accuracy: f64,
    pub sampling_seconds: f64,
    pub seconds_per_10_digits: f64,
}

pub fn run(args: Args) -> Result<()> {
    if let Some(n) = args.threads {
        tch::set_num_threads(n);
    }
    let files = RunFiles::new(&args.run);
    let out = args.out.clone().unwrap_or_else(|| args.run.join("evaluation.json"));
    let (config, meta, models) = files.load(true)?;
    let stage = config.space.stage()?;
    let (classifier, _weights) = Classifier::shipped()?;
    let mnist = Mnist::load(None)?;

    let labels: Vec<u8> = (0..10u8).flat_map(|d| std::iter::repeat_n(d, args.n)).collect();
    let prompts: Vec<String> = labels.iter().enumerate().map(|(i, &d)| prompt(d, i % TEMPLATES.len())).collect();
    let mut rng = Rng::new(args.seed);
    let bar = indicatif::ProgressBar::new(prompts.len() as u64);
    let started = Instant::now();
    let mut images = Vec::new();
    for chunk in prompts.chunks(args.batch.max(1)) {
        let options = SampleOptions { sampler: Sampler::Ddim { steps: args.steps, eta: args.eta }, guidance: args.guidance, frames: 0 };
        let (x, _) = generate(&models.unet, &models.diffusion, &models.text, &stage, chunk, options, &mut rng);
        images.push(x);
        bar.inc(chunk.len() as u64);
    }
    bar.finish_and_clear();
    let sampling_seconds = started.elapsed().as_secs_f64();
    let images = Tensor::cat(&images, 0); // [10n, 1, 32, 32]

    let (predicted, features) = tch::no_grad(|| (classifier.predict(&images), classifier.features(&images)));
    let predicted = Vec::<i64>::try_from(predicted)?;
    let per_digit: Vec<f64> = (0..10u8)
        .map(|d| {
            let idx: Vec<usize> = (0..labels.len()).filter(|&i| labels[i] == d).collect();
            idx.iter().filter(|&&i| predicted[i] == d as i64).count() as f64 / idx.len() as f64
        })
        .collect();
    let overall = per_digit.iter().sum::<f64>() / 10.0;

    let n_real = labels.len().min(mnist.heldout.len());
    let held: Vec<usize> = (0..n_real).collect();
    let real_held = tch::no_grad(|| classifier.features(&mnist.heldout.images_tensor(&held)));
    let real_train = tch::no_grad(|| classifier.features(&mnist.train.images_tensor(&held)));
    let report = Report {
        run: args.run.display().to_string(),
        space: format!("{:?}", config.space).to_lowercase(),
        train_step: meta.get("step").cloned().unwrap_or_default(),
        train_seconds: meta.get("train_seconds").cloned().unwrap_or_default(),
        sampler: "ddim".into(),
        steps: args.steps,
        guidance: args.guidance,
        per_prompt: args.n,
        prompt_accuracy: overall,
        per_digit_accuracy: per_digit,
        frechet_generated_vs_heldout: frechet_distance(&features, &real_held),
        frechet_train_vs_heldout_floor: frechet_distance(&real_train, &real_held),
        classifier_heldout_accuracy: classifier.accuracy(&mnist.heldout, mnist.heldout.len()),
        sampling_seconds,
        seconds_per_10_digits: sampling_seconds / labels.len() as f64 * 10.0,
    };
    let json = serde_json::to_string_pretty(&report)?;
    if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    std::fs::write(&out, &json).with_context(|| format!("cannot write {}", out.display()))?;
    // One row per prompt digit, the first ten samples of each.
    let rows: Vec<Tensor> = (0..10).map(|d| images.narrow(0, d * args.n as i64, 10.min(args.n as i64))).collect();
    workbook::plot::save_grid(&Tensor::cat(&rows, 0), 10.min(args.n), 2, &out.with_extension("png"))?;
    println!("{json}");
    Ok(())
}
