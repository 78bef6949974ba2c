//! `ldm`: train, sample and evaluate the latent diffusion model on a CPU.
//! Thin: each verb parses its options and calls the workbook library.

use anyhow::Result;
use clap::{Parser, Subcommand};

mod train_autoencoder;
mod train_classifier;

#[derive(Parser)]
#[command(name = "ldm", about = "Latent diffusion on MNIST, on a CPU")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Train the first stage: the KL autoencoder (32x32x1 -> 8x8x4) on the MNIST train split.
    TrainAutoencoder(train_autoencoder::Args),
    /// Train the CNN classifier that labels generated digits for evaluation.
    TrainClassifier(train_classifier::Args),
}

fn main() -> Result<()> {
    match Cli::parse().command {
        Command::TrainAutoencoder(args) => train_autoencoder::run(args),
        Command::TrainClassifier(args) => train_classifier::run(args),
    }
}
