//! `ldm`: train, sample and evaluate the latent diffusion model on a CPU.
//! Thin: each verb parses its options and calls the workbook library.

use anyhow::Result;
use clap::{Parser, Subcommand};

mod evaluate;
mod run;
mod sample;
mod train;
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
    /// Train the text-conditioned diffusion model (latent space by default).
    Train(train::Args),
    /// Sample digits for a prompt: a PNG grid and a GIF of the denoising.
    Sample(sample::Args),
    /// Measure prompt accuracy and Frechet distance with our MNIST classifier (JSON report).
    Evaluate(evaluate::Args),
    /// Train the first stage: the KL autoencoder (32x32x1 -> 8x8x4) on the MNIST train split.
    TrainAutoencoder(train_autoencoder::Args),
    /// Train the CNN classifier that labels generated digits for evaluation.
    TrainClassifier(train_classifier::Args),
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    // Freed tensor memory stays in the process for the next step (10 to 20 % of a step otherwise).
    workbook::engine::memory::keep_freed_memory();
    match cli.command {
        Command::Train(args) => train::run(args),
        Command::Sample(args) => sample::run(args),
        Command::Evaluate(args) => evaluate::run(args),
        Command::TrainAutoencoder(args) => train_autoencoder::run(args),
        Command::TrainClassifier(args) => train_classifier::run(args),
    }
}
