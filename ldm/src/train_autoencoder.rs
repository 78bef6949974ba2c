//! `ldm train-autoencoder`: the first stage, 32x32x1 -> 8x8x4 -> 32x32x1.

use anyhow::{Context, Result};
use std::path::PathBuf;
use workbook::autoencoder::{autoencoder_metadata, train_autoencoder, AeTrainConfig};
use workbook::checkpoint;
use workbook::classifier::Classifier;
use workbook::data::mnist::Mnist;

#[derive(clap::Args)]
pub struct Args {
    #[arg(long, default_value_t = 0)]
    seed: u64,
    #[arg(long, default_value_t = 2000)]
    steps: usize,
    /// Small batches learn more per second on a CPU: more updates, better cache use.
    #[arg(long, default_value_t = 32)]
    batch_size: usize,
    /// Peak learning rate (Adam, cosine decay to 5 %).
    #[arg(long, default_value_t = 2e-3)]
    lr: f64,
    /// Weight of the KL term (both terms are per-element means).
    #[arg(long, default_value_t = 1e-5)]
    kl_weight: f64,
    /// Weight of the squared error added to the L1 reconstruction loss.
    #[arg(long, default_value_t = 1.0)]
    mse_weight: f64,
    /// The classifier that reads the reconstructions of held-out digits for the report.
    #[arg(long, default_value = "weights/classifier.safetensors")]
    classifier: PathBuf,
    /// A folder of MNIST IDX files instead of the embedded subset.
    #[arg(long)]
    mnist_dir: Option<PathBuf>,
    #[arg(long, default_value = "weights/autoencoder.safetensors")]
    out: PathBuf,
}

pub fn run(args: Args) -> Result<()> {
    let data = Mnist::load(args.mnist_dir.as_deref()).context("loading MNIST")?;
    // Load the classifier first: a bad path should fail before minutes of training.
    let (clf, _clf_vs, _) = Classifier::load(&args.classifier).context("the report needs the classifier (--classifier)")?;
    let cfg = AeTrainConfig {
        seed: args.seed,
        steps: args.steps,
        batch_size: args.batch_size,
        lr: args.lr,
        kl_weight: args.kl_weight,
        mse_weight: args.mse_weight,
        ..Default::default()
    };
    println!("training the autoencoder on {} digits ({}), {} steps of {}", data.train.len(), data.source, cfg.steps, cfg.batch_size);
    let (ae, vs, report) = train_autoencoder(&data, &cfg)?;
    let acc = ae.classifier_accuracy_on_reconstructions(&clf, &data.heldout, data.heldout.len());
    let command = std::env::args().collect::<Vec<_>>().join(" ");
    checkpoint::save(&vs, &args.out, &autoencoder_metadata(&cfg, &report, &command, Some(acc))?)?;
    println!(
        "{} parameters, {} steps in {:.1} s (final loss {:.4}); on {} held-out digits: MSE {:.5} on [0, 1], \
         classifier accuracy on reconstructions {:.2} % (real digits {:.2} %); latent shift {:.3?} scale {:.3?}; wrote {}",
        report.parameters,
        report.steps,
        report.train_seconds,
        report.final_loss,
        data.heldout.len(),
        report.heldout_mse,
        100.0 * acc,
        100.0 * clf.accuracy(&data.heldout, data.heldout.len()),
        report.latent_shift,
        report.latent_scale,
        args.out.display()
    );
    Ok(())
}
