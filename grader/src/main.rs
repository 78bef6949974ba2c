//! `grader`: the instructor's command line. Thin: every verb is a library call.

use anyhow::Result;
use clap::{Parser, Subcommand};
use grader::notebook::Version;
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
    /// Build the notebook from notebooks/diffusion.template.md and the reference's regions.
    Notebook {
        #[arg(short, long, default_value = "notebooks/diffusion.ipynb")]
        out: PathBuf,
        /// `student` (TODO cells with todo!()) or `solved`.
        #[arg(long, default_value = "student", value_parser = ["student", "solved"])]
        version: String,
    },
    /// Pack a notebook and the artifacts beside it into a submission zip.
    Export {
        notebook: PathBuf,
        #[arg(short, long, default_value = "submission.zip")]
        out: PathBuf,
    },
    /// Grade submissions (zips, notebooks, or folders of them) on hidden fixtures.
    Grade(grade_cli::GradeArgs),
    /// Write a Gradescope autograder bundle (setup.sh, run_autograder, the sources, a secret seed).
    Gradescope {
        #[arg(short, long, default_value = "autograder.zip")]
        out: PathBuf,
        /// The secret seed of the hidden fixtures (default: a random one).
        #[arg(long)]
        seed: Option<u64>,
    },
    /// Write NOTEBOOK with every exercise cell replaced by the reference solution.
    Solve {
        notebook: PathBuf,
        #[arg(short, long)]
        out: PathBuf,
    },
}

mod grade_cli;

fn main() {
    // 0: done (every submission has its results, whatever its score); 2: the grader failed.
    if let Err(e) = run() {
        eprintln!("grader: error: {e:#}");
        std::process::exit(2);
    }
}

fn run() -> Result<()> {
    match Cli::parse().command {
        Command::Export { notebook, out } => {
            workbook::submission::export(&notebook, &out)?;
            println!("wrote {}", out.display());
        }
        Command::Grade(args) => grade_cli::run(args)?,
        Command::Gradescope { out, seed } => {
            let seed = grader::gradescope::bundle(&grader::solve::repo_root(), &out, seed)?;
            println!("wrote {}; its secret seed is {seed} (in the bundle's `seed`; keep the bundle private)", out.display());
        }
        Command::Notebook { out, version } => {
            let version = if version == "solved" { Version::Solved } else { Version::Student };
            let nb = grader::solve::build_notebook(&grader::solve::repo_root(), version)?;
            grader::notebook::write(&nb, &out)?;
            println!("wrote {} ({} cells)", out.display(), nb["cells"].as_array().map_or(0, Vec::len));
        }
        Command::Solve { notebook, out } => {
            grader::solve::solve_file(&notebook, &out)?;
            println!("wrote {} with the reference's solutions in every exercise cell", out.display());
        }
        Command::Fixtures { seed, out, no_outputs } => {
            let written = grader::fixtures::write_all(&grader::cases::public_cases(), seed, !no_outputs, &out)?;
            let bytes: u64 = written.iter().filter_map(|p| std::fs::metadata(p).ok()).map(|m| m.len()).sum();
            println!("wrote {} fixtures ({:.1} MB) to {}", written.len(), bytes as f64 / 1e6, out.display());
        }
    }
    Ok(())
}
