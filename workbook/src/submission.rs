//! Part 4: the submission zip. The notebook as saved, a manifest (tool versions, the
//! notebook's sha256, the time) and what the notebook wrote into `artifacts/`
//! (the loss log, the sample grid). The grader reads the notebook and runs its code
//! itself; the artifacts are for a person to look at, never for the score.

use anyhow::{bail, Context, Result};
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Where cells save what the submission carries: `artifacts/` beside the notebook.
pub fn artifacts_dir() -> PathBuf {
    PathBuf::from("artifacts")
}

pub fn save_artifact(name: &str, bytes: &[u8]) -> Result<()> {
    let dir = artifacts_dir();
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    std::fs::write(dir.join(name), bytes).with_context(|| format!("cannot write {}", dir.join(name).display()))
}

/// Writes `out` and returns its path; fails naming the file if the notebook is not a notebook.
pub fn export(notebook: &Path, out: &Path) -> Result<PathBuf> {
    let bytes = std::fs::read(notebook).with_context(|| format!("cannot read the notebook {} (save it first)", notebook.display()))?;
    let nb: serde_json::Value = serde_json::from_slice(&bytes).with_context(|| format!("{} is not a JSON notebook", notebook.display()))?;
    if nb.get("nbformat").and_then(|v| v.as_i64()) != Some(4) {
        bail!("{}: expected an nbformat 4 notebook", notebook.display());
    }
    let dir = notebook.parent().map(Path::to_path_buf).unwrap_or_default().join(artifacts_dir());
    let mut artifacts: Vec<PathBuf> = std::fs::read_dir(&dir).map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.is_file()).collect()).unwrap_or_default();
    artifacts.sort();
    let names: Vec<String> = artifacts.iter().map(|p| format!("artifacts/{}", p.file_name().unwrap_or_default().to_string_lossy())).collect();
    let manifest = serde_json::json!({
        "workbook": env!("CARGO_PKG_VERSION"),
        "tch": "0.26",
        "libtorch": "2.13.0",
        "notebook": "notebook.ipynb",
        "notebook_sha256": format!("{:x}", Sha256::digest(&bytes)),
        "created_unix": std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0),
        "artifacts": names,
    });
    let file = std::fs::File::create(out).with_context(|| format!("cannot create {}", out.display()))?;
    let mut zip = zip::ZipWriter::new(file);
    let options = zip::write::FileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    zip.start_file("notebook.ipynb", options)?;
    zip.write_all(&bytes)?;
    zip.start_file("manifest.json", options)?;
    zip.write_all(serde_json::to_string_pretty(&manifest)?.as_bytes())?;
    for (path, name) in artifacts.iter().zip(&names) {
        zip.start_file(name.as_str(), options)?;
        zip.write_all(&std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?)?;
    }
    zip.finish()?;
    Ok(out.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn the_zip_holds_the_notebook_its_hash_and_the_artifacts() {
        let dir = std::env::temp_dir().join(format!("submission-test-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("artifacts")).unwrap();
        let nb = br#"{"nbformat": 4, "nbformat_minor": 5, "cells": [], "metadata": {}}"#;
        std::fs::write(dir.join("nb.ipynb"), nb).unwrap();
        std::fs::write(dir.join("artifacts/loss.json"), b"[1.0, 0.5]").unwrap();
        let out = export(&dir.join("nb.ipynb"), &dir.join("s.zip")).unwrap();
        let mut z = zip::ZipArchive::new(std::fs::File::open(out).unwrap()).unwrap();
        let mut text = String::new();
        z.by_name("manifest.json").unwrap().read_to_string(&mut text).unwrap();
        let m: serde_json::Value = serde_json::from_str(&text).unwrap();
        // sha256 of the notebook's bytes, computed here independently of export's manifest code path.
        assert_eq!(m["notebook_sha256"], format!("{:x}", Sha256::digest(nb)));
        assert_eq!(m["artifacts"][0], "artifacts/loss.json");
        let mut loss = String::new();
        z.by_name("artifacts/loss.json").unwrap().read_to_string(&mut loss).unwrap();
        assert_eq!(loss, "[1.0, 0.5]");
        assert!(z.by_name("notebook.ipynb").is_ok());
        std::fs::write(dir.join("bad.ipynb"), b"not json").unwrap();
        let err = export(&dir.join("bad.ipynb"), &dir.join("t.zip")).unwrap_err().to_string();
        assert!(err.contains("bad.ipynb"), "{err}");
        std::fs::remove_dir_all(dir).ok();
    }
}
