//! `ldm train-classifier`: the MNIST classifier used to judge generated digits.

use anyhow::{Context, Result};
use std::path::PathBuf;
use workbook::checkpoint;
use workbook::classifier::{classifier_metadata, train_classifier, ClsTrainConfig};
use workbook::data::mnist::Mnist;

#[derive(clap::Args)]
pub struct Args {
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Passes over the 8,000 training digits.
    #[arg(long, default_value_t = 15)]
    epochs: usize,
    #[arg(long, default_value_t = 64)]
    batch_size: usize,
    /// Peak learning rate (Adam, cosine decay to 5 %).
    #[arg(long, default_value_t = 1e-3)]
    lr: f64,
    /// Largest random shift of the augmentation, in pixels.
    #[arg(long, default_value_t = 2)]
    max_shift: i64,
    /// A folder of MNIST IDX files instead of the embedded subset.
    #[arg(long)]
    mnist_dir: Option<PathBuf>,
    #[arg(long, default_value = "weights/classifier.safetensors")]
    out: PathBuf,
}

pub fn run(args: Args) -> Result<()> {
    let data = Mnist::load(args.mnist_dir.as_deref()).context("loading MNIST")?;
    let cfg = ClsTrainConfig {
        seed: args.seed,
        epochs: args.epochs,
        batch_size: args.batch_size,
        lr: args.lr,
        max_shift: args.max_shift,
        ..Default::default()
    };
    println!("training the classifier on {} digits ({}), {} epochs", data.train.len(), data.source, cfg.epochs);
    let (_clf, vs, report) = train_classifier(&data, &cfg)?;
    let command = std::env::args().collect::<Vec<_>>().join(" ");
    checkpoint::save(&vs, &args.out, &classifier_metadata(&cfg, &report, &command)?)?;
    println!(
        "{} parameters, {} steps in {:.1} s (final loss {:.4}); held-out accuracy {:.2} % on {} digits; wrote {}",
        report.parameters,
        report.steps,
        report.train_seconds,
        report.final_loss,
        100.0 * report.heldout_accuracy,
        data.heldout.len(),
        args.out.display()
    );
    Ok(())
}
