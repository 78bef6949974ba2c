//! Finding submissions and reading them safely: a notebook, a submission zip, or a
//! folder of either. Zips are read in memory and never extracted: an entry whose
//! name would leave the extraction folder, too many entries or too many bytes
//! (a zip bomb) refuse the zip with a reason.

use anyhow::{anyhow, bail, Context, Result};
use serde_json::Value;
use std::io::Read;
use std::path::{Path, PathBuf};

pub const MAX_ENTRIES: usize = 1000;
/// Inflated bytes over all entries; a notebook with its outputs is a few MB.
pub const MAX_TOTAL_BYTES: u64 = 200 << 20;
pub const MAX_NOTEBOOK_BYTES: u64 = 50 << 20;

/// One submission to grade: its name in reports and where it is.
#[derive(Debug, Clone)]
pub struct Submission {
    pub name: String,
    pub path: PathBuf,
}

fn is_submission_file(p: &Path) -> bool {
    p.extension().is_some_and(|e| e == "zip" || e == "ipynb")
}

/// Expands PATHs: files as they are; a folder into its zips and notebooks, or, for a
/// folder of folders (one per student), each sub-folder's submission.
pub fn discover(paths: &[PathBuf]) -> Result<Vec<Submission>> {
    let mut out = Vec::new();
    for path in paths {
        if path.is_file() {
            out.push(Submission { name: stem(path), path: path.clone() });
        } else if path.is_dir() {
            let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
                .with_context(|| format!("cannot list {}", path.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .collect();
            entries.sort();
            let files: Vec<&PathBuf> = entries.iter().filter(|p| p.is_file() && is_submission_file(p)).collect();
            if !files.is_empty() {
                out.extend(files.into_iter().map(|p| Submission { name: stem(p), path: p.clone() }));
            } else {
                for sub in entries.iter().filter(|p| p.is_dir()) {
                    match first_submission_in(sub) {
                        Some(p) => out.push(Submission { name: stem(sub), path: p }),
                        None => out.push(Submission { name: stem(sub), path: sub.clone() }),
                    }
                }
            }
        } else {
            bail!("{}: no such file or folder", path.display());
        }
    }
    if out.is_empty() {
        bail!("no submissions (.zip or .ipynb) found in {}", paths.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", "));
    }
    Ok(out)
}

/// One student's upload (Gradescope's /autograder/submission): a file as it is, or in a
/// folder `notebook.ipynb`, else its only .zip, else its only .ipynb.
pub fn discover_one(path: &Path) -> Result<Submission> {
    if path.is_file() {
        return Ok(Submission { name: stem(path), path: path.to_path_buf() });
    }
    let files: Vec<PathBuf> = std::fs::read_dir(path)
        .with_context(|| format!("cannot list {}", path.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && is_submission_file(p))
        .collect();
    let pick = |ext: &str| -> Vec<&PathBuf> { files.iter().filter(|p| p.extension().is_some_and(|e| e == ext)).collect() };
    let chosen = if let Some(nb) = files.iter().find(|p| p.file_name().is_some_and(|n| n == "notebook.ipynb")) {
        nb.clone()
    } else if let [one] = pick("zip")[..] {
        one.clone()
    } else if let [one] = pick("ipynb")[..] {
        one.clone()
    } else {
        let names: Vec<String> = files.iter().map(|p| p.display().to_string()).collect();
        bail!("{}: expected one notebook (or notebook.ipynb, or one submission zip), found {}", path.display(), if names.is_empty() { "none".into() } else { names.join(", ") });
    };
    Ok(Submission { name: "submission".into(), path: chosen })
}

fn first_submission_in(dir: &Path) -> Option<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir).ok()?.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.is_file() && is_submission_file(p)).collect();
    files.sort();
    files.into_iter().next()
}

fn stem(p: &Path) -> String {
    p.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| p.display().to_string())
}

/// The submission's notebook, parsed (nbformat 4).
pub fn read_notebook(path: &Path) -> Result<Value> {
    let name = path.display().to_string();
    if path.is_dir() {
        bail!("{name}: a folder with no .ipynb or .zip in it");
    }
    let is_zip = path.extension().is_some_and(|e| e == "zip");
    let bytes = if is_zip {
        let file = std::fs::File::open(path).with_context(|| format!("cannot open {name}"))?;
        notebook_from_zip(file, &name)?
    } else {
        let len = std::fs::metadata(path).with_context(|| format!("cannot read {name}"))?.len();
        if len > MAX_NOTEBOOK_BYTES {
            bail!("{name}: {len} bytes, more than the {MAX_NOTEBOOK_BYTES} a notebook may have");
        }
        std::fs::read(path).with_context(|| format!("cannot read {name}"))?
    };
    let text = String::from_utf8(bytes).map_err(|_| anyhow!("{name}: the notebook is not UTF-8 text"))?;
    crate::notebook::parse(&text, &name)
}

/// Checks every entry's name and size, then returns the one notebook's bytes.
pub fn notebook_from_zip<R: Read + std::io::Seek>(reader: R, name: &str) -> Result<Vec<u8>> {
    let mut zip = zip::ZipArchive::new(reader).map_err(|e| anyhow!("{name}: not a readable zip ({e})"))?;
    if zip.len() > MAX_ENTRIES {
        bail!("{name}: refused: {} entries, at most {MAX_ENTRIES} allowed", zip.len());
    }
    let mut total: u64 = 0;
    let mut notebooks: Vec<(String, Vec<u8>)> = Vec::new();
    for i in 0..zip.len() {
        let mut entry = zip.by_index(i).map_err(|e| anyhow!("{name}: entry {i} cannot be read ({e})"))?;
        let entry_name = entry.name().to_string();
        if entry.enclosed_name().is_none() || entry_name.contains('\\') {
            bail!("{name}: refused: entry `{entry_name}` would be written outside the extraction folder");
        }
        // Inflate for real, up to the limit: the sizes in the zip's header can lie.
        let budget = MAX_TOTAL_BYTES - total;
        let mut data = Vec::new();
        (&mut entry).take(budget + 1).read_to_end(&mut data).map_err(|e| anyhow!("{name}: entry `{entry_name}` is corrupt ({e})"))?;
        total += data.len() as u64;
        if total > MAX_TOTAL_BYTES {
            bail!("{name}: refused: inflates to more than {} MB (a zip bomb?)", MAX_TOTAL_BYTES >> 20);
        }
        if entry_name.ends_with(".ipynb") && !entry_name.contains(".ipynb_checkpoints") {
            notebooks.push((entry_name, data));
        }
    }
    match notebooks.len() {
        0 => bail!("{name}: no .ipynb inside (export the submission from the notebook's last cell)"),
        1 => Ok(notebooks.remove(0).1),
        _ => {
            // The export's own name wins; otherwise the choice would be a guess.
            let names: Vec<String> = notebooks.iter().map(|(n, _)| n.clone()).collect();
            let i = notebooks.iter().position(|(n, _)| n == "notebook.ipynb").ok_or_else(|| anyhow!("{name}: several notebooks ({}) and none is notebook.ipynb", names.join(", ")))?;
            Ok(notebooks.remove(i).1)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Cursor, Write};

    fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut buf = Cursor::new(Vec::new());
        {
            let mut z = zip::ZipWriter::new(&mut buf);
            let opts = zip::write::FileOptions::default().compression_method(zip::CompressionMethod::Deflated);
            for (n, data) in entries {
                z.start_file(*n, opts).unwrap();
                z.write_all(data).unwrap();
            }
            z.finish().unwrap();
        }
        buf.into_inner()
    }

    #[test]
    fn a_zip_gives_its_notebook() {
        let z = zip_of(&[("manifest.json", b"{}"), ("notebook.ipynb", b"{\"nbformat\": 4}")]);
        assert_eq!(notebook_from_zip(Cursor::new(z), "s.zip").unwrap(), b"{\"nbformat\": 4}");
    }

    #[test]
    fn entries_that_climb_out_are_refused() {
        let z = zip_of(&[("../../etc/evil", b"x"), ("notebook.ipynb", b"{}")]);
        let e = notebook_from_zip(Cursor::new(z), "s.zip").unwrap_err().to_string();
        assert!(e.contains("refused") && e.contains("../../etc/evil"), "{e}");
        let z = zip_of(&[("/abs/path", b"x")]);
        assert!(notebook_from_zip(Cursor::new(z), "s.zip").unwrap_err().to_string().contains("outside"));
    }

    #[test]
    fn a_zip_bomb_is_refused_after_the_limit_not_at_the_end() {
        // 300 MB of zeros deflate to about 300 KB.
        let zeros = vec![0u8; 300 << 20];
        let z = zip_of(&[("notebook.ipynb", &zeros)]);
        assert!(z.len() < 2 << 20, "{}", z.len());
        let e = notebook_from_zip(Cursor::new(z), "bomb.zip").unwrap_err().to_string();
        assert!(e.contains("zip bomb"), "{e}");
    }

    #[test]
    fn no_notebook_or_not_a_zip_say_so() {
        let z = zip_of(&[("readme.txt", b"hi")]);
        assert!(notebook_from_zip(Cursor::new(z), "s.zip").unwrap_err().to_string().contains("no .ipynb"));
        assert!(notebook_from_zip(Cursor::new(b"not a zip".to_vec()), "s.zip").unwrap_err().to_string().contains("not a readable zip"));
    }
}
