//! `grader grade`'s options, and turning them into a run.

use anyhow::{bail, Context, Result};
use grader::grade::{batch, exercises, intake, sandbox::Limits, Grader, Options};
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct GradeArgs {
    /// Submission zips, notebooks, or folders of them (or of one folder per student).
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// The secret seed of the hidden fixtures (else $GRADER_SEED, else --seed-file).
    #[arg(long)]
    pub seed: Option<u64>,
    /// A file holding the secret seed (keep it readable by the grader's user only).
    #[arg(long)]
    pub seed_file: Option<PathBuf>,
    /// Folder for <name>/results.json, <name>/report.txt and summary.csv.
    #[arg(short, long, default_value = "grades")]
    pub out: PathBuf,
    /// Grade PATH as one student's upload and also write its results.json here, as
    /// Gradescope expects; a failure to grade still writes a results.json.
    #[arg(long)]
    pub results: Option<PathBuf>,
    /// What to print: a text report or the results as JSON.
    #[arg(long, default_value = "text", value_parser = ["text", "json"])]
    pub format: String,
    /// Submissions graded at once.
    #[arg(short, long, default_value_t = 1)]
    pub jobs: usize,
    /// JSON object of points per exercise, e.g. {"unet": 25}; defaults total 100.
    #[arg(long)]
    pub points: Option<PathBuf>,
    /// Wall-clock limit per exercise, in seconds.
    #[arg(long, default_value_t = 60.0)]
    pub timeout: f64,
    /// Memory limit of the student's code per exercise, in MB.
    #[arg(long, default_value_t = 4096)]
    pub memory_mb: u64,
    /// Where submission crates are built; the workspace's own target folder by default,
    /// so the dependencies `make test` compiled are reused.
    #[arg(long)]
    pub target_dir: Option<PathBuf>,
    /// Scratch folder for crates and sandboxes (default: a folder beside the target).
    #[arg(long)]
    pub work_dir: Option<PathBuf>,
}

fn secret_seed(args: &GradeArgs) -> Result<u64> {
    let from_env = std::env::var("GRADER_SEED").ok();
    // Gone from the environment before anything is spawned.
    std::env::remove_var("GRADER_SEED");
    let text = match (&args.seed, from_env, &args.seed_file) {
        (Some(s), _, _) => s.to_string(),
        (None, Some(s), _) => s,
        (None, None, Some(file)) => std::fs::read_to_string(file).with_context(|| format!("cannot read the seed file {}", file.display()))?,
        (None, None, None) => bail!("the hidden fixtures need a secret seed: pass --seed N, set GRADER_SEED, or pass --seed-file FILE"),
    };
    let seed: u64 = text.trim().parse().with_context(|| "the secret seed must be a whole number")?;
    if seed == 0 {
        bail!("seed 0 draws the public fixtures, which students have; choose another secret seed");
    }
    Ok(seed)
}

pub fn run(args: GradeArgs) -> Result<()> {
    let outcome = grade(&args);
    if let (Err(e), Some(path)) = (&outcome, &args.results) {
        // Gradescope shows this to the student: the grader's failure, never a blank page.
        let failure = serde_json::json!({
            "score": 0.0,
            "output": format!("The autograder could not grade this submission: {e:#}\nPlease tell the course staff."),
            "tests": [],
        });
        let _ = std::fs::create_dir_all(path.parent().unwrap_or(std::path::Path::new(".")));
        let _ = std::fs::write(path, serde_json::to_string_pretty(&failure).unwrap_or_default());
    }
    outcome
}

fn grade(args: &GradeArgs) -> Result<()> {
    let seed = secret_seed(args)?;
    let repo = grader::solve::repo_root();
    // Absolute: cargo runs inside each submission's folder.
    let absolute = |p: &PathBuf| std::path::absolute(p).with_context(|| format!("bad path {}", p.display()));
    let target_dir = absolute(&args.target_dir.clone().unwrap_or_else(|| repo.join("target")))?;
    let work_dir = absolute(&args.work_dir.clone().unwrap_or_else(|| repo.join("target/grader-work")))?;
    let options = Options {
        seed,
        points: exercises::points(args.points.as_deref())?,
        limits: Limits { wall_seconds: args.timeout, memory_bytes: args.memory_mb << 20, ..Limits::default() },
        work_dir,
        target_dir,
    };
    let subs = match (&args.results, &args.paths[..]) {
        (None, paths) => intake::discover(paths)?,
        (Some(_), [one]) => vec![intake::discover_one(one)?],
        (Some(_), more) => bail!("--results names one results.json, but {} paths were given; use --out for a batch", more.len()),
    };
    let grader = Grader::new(&repo, options)?;
    eprintln!("grading {} submission(s), {} at a time", subs.len(), args.jobs);
    let results = batch::grade_all(&grader, &subs, args.jobs, subs.len() > 1);
    batch::write_all(&results, &args.out)?;
    if let (Some(path), Some(r)) = (&args.results, results.first()) {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(path, serde_json::to_string_pretty(&r.gradescope())? + "\n").with_context(|| format!("cannot write {}", path.display()))?;
    }
    for r in &results {
        match args.format.as_str() {
            "json" => println!("{}", serde_json::to_string_pretty(&r.gradescope())?),
            // A batch prints one line per submission; each report.txt has the rest.
            _ if results.len() > 1 => println!("{}", r.text().lines().next().unwrap_or_default()),
            _ => print!("{}", r.text()),
        }
    }
    eprintln!("results in {}/ (summary.csv and one folder per submission)", args.out.display());
    Ok(())
}
