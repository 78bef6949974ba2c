//! `ldm train`: the latent diffusion model (or the pixel-space one) on MNIST,
//! with a progress bar, checkpoints and resume.

use crate::run::{Models, RunConfig, RunFiles, Space};
use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use std::path::PathBuf;
use std::time::Instant;
use reference::Schedule;
use workbook::data::Mnist;
use workbook::engine::train::{Dataset, Trainer};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Run folder: model.safetensors, ema.safetensors, history.json.
    #[arg(long, default_value = "runs/latent")]
    pub out: PathBuf,
    /// latent (the paper's LDM-4) or pixel (LDM-1, for comparison).
    #[arg(long, value_enum, default_value_t = Space::Latent)]
    pub space: Space,
    /// Stop after this many minutes of training (the default budget).
    #[arg(long, default_value_t = 20.0)]
    pub minutes: f64,
    /// Stop after this many steps, if that comes first.
    #[arg(long)]
    pub steps: Option<usize>,
    #[arg(long)]
    pub batch_size: Option<i64>,
    #[arg(long)]
    pub lr: Option<f64>,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// The Unet's base width `dim`.
    #[arg(long)]
    pub dim: Option<i64>,
    /// The Unet's `dim_mults`, e.g. 1,2,4.
    #[arg(long, value_delimiter = ',')]
    pub dim_mults: Option<Vec<i64>>,
    /// Noise schedule: linear (default), cosine, quadratic or sigmoid.
    #[arg(long, value_parser = parse_schedule)]
    pub schedule: Option<Schedule>,
    /// Keep PyTorch's default initialisation (no zeroed branch outputs).
    #[arg(long)]
    pub default_init: bool,
    /// Continue the run in --out from its last checkpoint.
    #[arg(long)]
    pub resume: bool,
    /// Minutes between checkpoints.
    #[arg(long, default_value_t = 2.0)]
    pub checkpoint_minutes: f64,
    /// libtorch threads (default: all cores).
    #[arg(long)]
    pub threads: Option<i32>,
    /// Read MNIST IDX files from this folder (default: $MNIST_DIR, else the embedded 10,000 digits).
    #[arg(long)]
    pub mnist_dir: Option<PathBuf>,
}

fn parse_schedule(name: &str) -> Result<Schedule, String> {
    Schedule::ALL.into_iter().find(|s| s.name() == name).ok_or_else(|| {
        let names: Vec<&str> = Schedule::ALL.iter().map(|s| s.name()).collect();
        format!("unknown schedule {name:?}; expected one of {}", names.join(", "))
    })
}

fn config_from(args: &Args) -> RunConfig {
    let mut c = RunConfig::new(args.space);
    if args.space == Space::Pixel {
        // 1,024 tokens per image at full resolution: a smaller batch keeps the attention in memory.
        c.train.batch_size = 32;
    }
    c.train.seed = args.seed;
    args.batch_size.map(|b| c.train.batch_size = b);
    args.lr.map(|lr| c.train.lr = lr);
    args.dim.map(|d| c.unet.dim = d);
    if let Some(m) = &args.dim_mults {
        c.unet.dim_mults = m.clone();
    }
    args.schedule.map(|s| c.scheduler.schedule = s);
    c.zero_init = !args.default_init;
    c
}

pub fn run(args: Args) -> Result<()> {
    if let Some(n) = args.threads {
        tch::set_num_threads(n);
    }
    let files = RunFiles::new(&args.out);
    let (config, models, history, seconds_before) = if args.resume {
        // The averaged weights first: the trainer's EMA starts from what is in the VarStore.
        let (config, meta) = files.read_config()?;
        let models = Models::new(&config);
        workbook::checkpoint::load(&models.vs, &files.ema())?;
        let seconds: f64 = meta.get("train_seconds").and_then(|s| s.parse().ok()).unwrap_or(0.0);
        (config, models, files.read_history()?, seconds)
    } else {
        let config = config_from(&args);
        let models = Models::new(&config);
        (config, models, Vec::new(), 0.0)
    };
    let mnist = Mnist::load(args.mnist_dir.as_deref())?;
    let stage = config.space.stage()?;
    let prep = Instant::now();
    let data = Dataset { x: stage.encode_split(&mnist.train), labels: mnist.train.labels.clone() };
    eprintln!(
        "{:?} space: {} training examples of shape {:?} (encoded in {:.1} s); Unet {:.2} M, text encoder {:.2} M parameters",
        config.space,
        data.labels.len(),
        &data.x.size()[1..],
        prep.elapsed().as_secs_f64(),
        models.parameters("unet.") as f64 / 1e6,
        models.parameters("text.") as f64 / 1e6
    );

    let mut trainer = Trainer::new(&models.vs, &models.unet, &models.diffusion, &models.text, config.train.clone())?;
    if args.resume {
        workbook::checkpoint::load(&models.vs, &files.model())?;
        trainer.step = history.last().map_or(0, |h| h.step);
        trainer.history = history;
        trainer.seconds_before = seconds_before;
        trainer.restart_clock();
        eprintln!("resuming at step {} after {:.0} s", trainer.step, seconds_before);
    }

    let budget = seconds_before + args.minutes * 60.0;
    let bar = ProgressBar::new((budget).round() as u64);
    bar.set_style(
        ProgressStyle::with_template("{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} s  ETA {eta}  {msg}")
            .context("progress template")?,
    );
    let mut last_checkpoint = Instant::now();
    let started = Instant::now();
    let first_step = trainer.step;
    loop {
        let loss = trainer.train_step(&data);
        let done = trainer.step - first_step;
        let rate = done as f64 / started.elapsed().as_secs_f64();
        let smooth = trainer.history.iter().rev().take(50).map(|h| h.loss).sum::<f64>() / trainer.history.len().min(50) as f64;
        bar.set_position(trainer.seconds().min(budget) as u64);
        bar.set_message(format!("step {} loss {loss:.4} (avg {smooth:.4}) {rate:.2} steps/s", trainer.step));
        let out_of_time = trainer.seconds() >= budget;
        let out_of_steps = args.steps.is_some_and(|s| trainer.step >= s);
        if out_of_time || out_of_steps || last_checkpoint.elapsed().as_secs_f64() > args.checkpoint_minutes * 60.0 {
            let meta = RunFiles::metadata(&config, trainer.step, trainer.seconds());
            files.save(&models, &trainer.ema, &meta, &trainer.history)?;
            last_checkpoint = Instant::now();
        }
        if out_of_time || out_of_steps {
            break;
        }
    }
    bar.finish();
    let per_step = started.elapsed().as_secs_f64() / (trainer.step - first_step).max(1) as f64;
    println!(
        "trained {} steps in {:.1} min ({:.3} s per step, batch {}); checkpoint in {}",
        trainer.step,
        trainer.seconds() / 60.0,
        per_step,
        config.train.batch_size,
        args.out.display()
    );
    if let Ok(peak) = workbook::engine::memory::peak_rss_mb() {
        println!("peak memory (RSS): {peak:.0} MB");
    }
    Ok(())
}
