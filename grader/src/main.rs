//! `grader`: the instructor's command line. Thin: every verb is a library call.

use anyhow::Result;
use clap::{Parser, Subcommand};
use std::path::PathBuf;

#[derive(Parser)]
#[command(name = "grader", about = "Fixtures, solutions and grading for the latent diffusion workbook")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Draw the fixture cases from a seed with the reference implementation and write
    /// one safetensors file per case (weights `param.*`, inputs `in.*`, outputs `out.*`).
    Fixtures {
        /// Seed of every draw; the public fixtures use 0.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Folder to write into (created if missing).
        #[arg(long, default_value = "fixtures/public")]
        out: PathBuf,
        /// Leave out the expected outputs, as hidden grading inputs do.
        #[arg(long)]
        no_outputs: bool,
    },
}

fn main() -> Result<()> {
    match Cli::parse().command {
        Command::Fixtures { seed, out, no_outputs } => {
            let written = grader::fixtures::write_all(&grader::cases::public_cases(), seed, !no_outputs, &out)?;
            let bytes: u64 = written.iter().filter_map(|p| std::fs::metadata(p).ok()).map(|m| m.len()).sum();
            println!("wrote {} fixtures ({:.1} MB) to {}", written.len(), bytes as f64 / 1e6, out.display());
        }
    }
    Ok(())
}
