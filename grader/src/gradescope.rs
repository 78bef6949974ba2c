//! `grader gradescope`: the autograder bundle. Gradescope unpacks it into
//! /autograder/source, runs `setup.sh` once, and `run_autograder` per submission.

use anyhow::{bail, Context, Result};
use std::io::Write;
use std::path::Path;
use std::process::Command;

pub const SETUP: &str = include_str!("../gradescope/setup.sh");
pub const RUN: &str = include_str!("../gradescope/run_autograder");

/// The repository's tracked files (what a clone has), relative to `repo`.
fn tracked_files(repo: &Path) -> Result<Vec<String>> {
    let out = Command::new("git").arg("-C").arg(repo).args(["ls-files", "-z"]).output().context("cannot run git (the bundle holds the repository's tracked files)")?;
    if !out.status.success() {
        bail!("git ls-files failed in {}: {}", repo.display(), String::from_utf8_lossy(&out.stderr));
    }
    Ok(String::from_utf8_lossy(&out.stdout).split('\0').filter(|s| !s.is_empty()).map(String::from).collect())
}

fn random_seed() -> Result<u64> {
    let mut bytes = [0u8; 8];
    std::io::Read::read_exact(&mut std::fs::File::open("/dev/urandom")?, &mut bytes)?;
    Ok(u64::from_le_bytes(bytes) | 1)
}

/// Writes the bundle to `out`; returns the secret seed it carries.
pub fn bundle(repo: &Path, out: &Path, seed: Option<u64>) -> Result<u64> {
    let seed = match seed {
        Some(0) => bail!("seed 0 draws the public fixtures; choose another"),
        Some(s) => s,
        None => random_seed()?,
    };
    let file = std::fs::File::create(out).with_context(|| format!("cannot create {}", out.display()))?;
    let mut zip = zip::ZipWriter::new(file);
    let plain = zip::write::FileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    let exec = plain.unix_permissions(0o755);
    for name in tracked_files(repo)? {
        let path = repo.join(&name);
        if !path.is_file() || name == "setup.sh" || name == "run_autograder" || name == "seed" {
            continue;
        }
        let executable = std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&path)?.permissions()) & 0o111 != 0;
        zip.start_file(name.as_str(), if executable { exec } else { plain })?;
        zip.write_all(&std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?)?;
    }
    zip.start_file("setup.sh", exec)?;
    zip.write_all(SETUP.as_bytes())?;
    zip.start_file("run_autograder", exec)?;
    zip.write_all(RUN.as_bytes())?;
    zip.start_file("seed", plain.unix_permissions(0o600))?;
    zip.write_all(format!("{seed}\n").as_bytes())?;
    zip.finish()?;
    Ok(seed)
}
