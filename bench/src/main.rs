//! The `bench` command: `bench [--quick] [--threads N] [--json PATH]`, and the
//! `child` subcommand it starts for the tch side of each case.

use anyhow::{bail, Context, Result};
use bench::child::{serve, Attention};
use bench::driver::{run_case, Options};
use bench::{case, report::Report};
use clap::{Parser, Subcommand};
use std::path::PathBuf;

#[derive(Parser)]
#[command(about = "tch against PyTorch on the same Unet, weights and inputs")]
struct Args {
    /// Tiny models and one timed run: a smoke test of the whole pipeline.
    #[arg(long)]
    quick: bool,
    /// Threads for each side (libtorch intra-op, OpenMP and MKL).
    #[arg(long, default_value_t = 2)]
    threads: i32,
    /// Timed runs per side and case (default: each case's own, 5 to 20).
    #[arg(long)]
    repeats: Option<usize>,
    /// Overrides the batch of the train and eval cases (a shorter run that still has the full models).
    #[arg(long)]
    batch: Option<i64>,
    /// Only the cases with these ids (matmul, course_train, course_eval, latent_train, latent_ddim).
    #[arg(long, value_delimiter = ',')]
    only: Option<Vec<String>>,
    /// Also write the table as JSON here.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Run tch-fused with glibc's default allocator settings instead of the engine's
    /// (workbook::engine::memory::keep_freed_memory), to measure what that setting gives.
    #[arg(long)]
    malloc_defaults: bool,
    /// Keep each case's folder (weights, inputs, each side's outputs) here, to look into a disagreement.
    #[arg(long)]
    keep: Option<PathBuf>,
    /// The Python with torch and safetensors (default: the workspace's .venv).
    #[arg(long)]
    python: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Cmd>,
}

#[derive(Subcommand)]
enum Cmd {
    /// (internal) The tch side of one case, driven over stdin by the parent.
    #[command(hide = true)]
    Child {
        #[arg(long)]
        dir: PathBuf,
        #[arg(long, value_enum)]
        attention: Attention,
        #[arg(long)]
        threads: i32,
        /// Keep freed memory in the process, as the engine does.
        #[arg(long)]
        keep_freed_memory: bool,
    },
}

fn main() -> Result<()> {
    let args = Args::parse();
    if let Some(Cmd::Child { dir, attention, threads, keep_freed_memory }) = &args.command {
        return serve(dir, *attention, *threads, *keep_freed_memory);
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let python = args.python.clone().unwrap_or_else(|| root.join("../.venv/bin/python"));
    if !python.exists() {
        bail!("no Python at {}: run `make venv` (or pass --python)", python.display());
    }
    if args.threads < 1 {
        bail!("--threads must be at least 1, not {}", args.threads);
    }
    let options = Options {
        threads: args.threads,
        python,
        script: root.join("torch_bench.py"),
        repeats: args.repeats,
        keep_freed_memory: !args.malloc_defaults,
    };
    let mut cases = if args.quick { case::quick() } else { case::full() };
    if let Some(only) = &args.only {
        if let Some(bad) = only.iter().find(|id| !cases.iter().any(|c| &&c.id == id)) {
            bail!("unknown case `{bad}`; the cases are matmul, course_train, course_eval, latent_train, latent_ddim");
        }
        cases.retain(|c| only.contains(&c.id));
    }
    if let Some(b) = args.batch {
        if b < 1 {
            bail!("--batch must be at least 1, not {b}");
        }
        cases.iter_mut().for_each(|c| c.set_batch(b));
    }
    let tmp = args.keep.clone().unwrap_or_else(|| std::env::temp_dir().join(format!("ldm-bench-{}", std::process::id())));
    let result = cases.iter().map(|c| {
        eprintln!("bench: {} ...", c.title());
        run_case(c, &tmp, &options)
    }).collect::<Result<Vec<_>>>();
    if args.keep.is_none() {
        std::fs::remove_dir_all(&tmp).ok();
    }
    let report = Report::new(args.quick, args.threads, options.keep_freed_memory, result?);
    print!("{}", report.table());
    if let Some(path) = &args.json {
        let json = serde_json::to_string_pretty(&report)?;
        std::fs::write(path, json).with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
}
