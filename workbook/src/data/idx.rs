//! The IDX format of the MNIST files: magic `00 00 TYPE NDIM`, then NDIM
//! big-endian u32 sizes, then the elements in row-major order. Only unsigned
//! bytes (type 0x08) are read, which is all MNIST uses. Gzipped files (magic
//! `1f 8b`) are decompressed transparently, so `*.gz` downloads work as they are.

use anyhow::{bail, Context, Result};
use std::io::Read;
use std::path::Path;

/// IDX element type code for unsigned bytes.
pub const UBYTE: u8 = 0x08;

/// Larger than any MNIST file (the 60k training images are 47 MB); stops a
/// corrupt or hostile gzip stream from filling memory.
const MAX_DECOMPRESSED: u64 = 1 << 30;

/// A decoded IDX file of unsigned bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdxArray {
    pub dims: Vec<usize>,
    pub data: Vec<u8>,
}

/// What a caller expects to find, so that errors can say it in words.
#[derive(Debug, Clone, Copy)]
pub struct Expect {
    pub rank: usize,
    /// e.g. "images"
    pub what: &'static str,
    /// e.g. "pixel data"
    pub payload: &'static str,
}

pub const IMAGES: Expect = Expect { rank: 3, what: "images", payload: "pixel data" };
pub const LABELS: Expect = Expect { rank: 1, what: "labels", payload: "label data" };

/// Reads an IDX file of unsigned bytes of any rank.
pub fn read_idx(path: &Path) -> Result<IdxArray> {
    let bytes = read_file(path)?;
    parse(&bytes, &path.display().to_string(), None)
}

/// Reads an IDX file of unsigned bytes and checks its rank against `expect`.
pub fn read_idx_as(path: &Path, expect: Expect) -> Result<IdxArray> {
    let bytes = read_file(path)?;
    parse(&bytes, &path.display().to_string(), Some(expect))
}

/// Parses IDX bytes (raw or gzipped); `name` says where they came from in errors.
pub fn parse_idx(bytes: &[u8], name: &str) -> Result<IdxArray> {
    parse(bytes, name, None)
}

/// Like [`parse_idx`], checking the rank against `expect`.
pub fn parse_idx_as(bytes: &[u8], name: &str, expect: Expect) -> Result<IdxArray> {
    parse(bytes, name, Some(expect))
}

fn read_file(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("cannot read IDX file {}", path.display()))
}

/// Returns the bytes unchanged, or gunzipped when they start with the gzip magic.
fn gunzip_if_needed<'a>(bytes: &'a [u8], name: &str) -> Result<std::borrow::Cow<'a, [u8]>> {
    if !bytes.starts_with(&[0x1f, 0x8b]) {
        return Ok(std::borrow::Cow::Borrowed(bytes));
    }
    let mut out = Vec::new();
    // MultiGz: a file made by concatenating gzip members is still one valid gzip file.
    flate2::read::MultiGzDecoder::new(bytes)
        .take(MAX_DECOMPRESSED + 1)
        .read_to_end(&mut out)
        .with_context(|| format!("{name}: corrupt gzip data (file starts with gzip magic 1f 8b)"))?;
    if out.len() as u64 > MAX_DECOMPRESSED {
        bail!("{name}: gzip data expands to more than {MAX_DECOMPRESSED} bytes, expected an MNIST-sized IDX file");
    }
    Ok(std::borrow::Cow::Owned(out))
}

fn type_name(code: u8) -> &'static str {
    match code {
        0x08 => "unsigned byte",
        0x09 => "signed byte",
        0x0B => "i16",
        0x0C => "i32",
        0x0D => "f32",
        0x0E => "f64",
        _ => "unknown",
    }
}

fn expected_magic(expect: Option<Expect>) -> String {
    match expect {
        Some(e) => format!("0x0000_08_{:02x} ({})", e.rank, e.what),
        None => "0x0000_08_NN (unsigned bytes, NN dimensions)".to_string(),
    }
}

fn parse(bytes: &[u8], name: &str, expect: Option<Expect>) -> Result<IdxArray> {
    let bytes = gunzip_if_needed(bytes, name)?;
    let bytes: &[u8] = &bytes;
    if bytes.len() < 4 || bytes[0] != 0 || bytes[1] != 0 {
        let found: Vec<String> = bytes.iter().take(4).map(|b| format!("{b:02x}")).collect();
        bail!(
            "{name}: not an IDX file: expected IDX magic {}, found bytes [{}] ({} bytes in all)",
            expected_magic(expect),
            found.join(" "),
            bytes.len()
        );
    }
    let (code, rank) = (bytes[2], bytes[3] as usize);
    if code != UBYTE {
        bail!(
            "{name}: IDX element type 0x{code:02x} ({}) is not supported, expected 0x08 (unsigned byte); magic {}",
            type_name(code),
            expected_magic(expect)
        );
    }
    if let Some(e) = expect {
        if rank != e.rank {
            bail!(
                "{name}: IDX rank {rank}, expected {} for {} (magic {})",
                e.rank,
                e.what,
                expected_magic(expect)
            );
        }
    }
    let header_len = 4 + 4 * rank;
    if bytes.len() < header_len {
        bail!(
            "{name}: truncated IDX header: expected {header_len} bytes for {rank} dimensions, found {}",
            bytes.len()
        );
    }
    let dims: Vec<usize> = bytes[4..header_len]
        .chunks_exact(4)
        .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]) as usize)
        .collect();
    let want = dims
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .with_context(|| format!("{name}: IDX dimensions {dims:?} overflow the address space"))?;
    let payload = expect.map_or("data", |e| e.payload);
    let found = bytes.len() - header_len;
    if found < want {
        bail!("{name}: truncated: expected {want} bytes of {payload}, found {found} (dims {dims:?})");
    }
    if found > want {
        bail!(
            "{name}: {} trailing bytes after the {want} bytes of {payload} that dims {dims:?} call for",
            found - want
        );
    }
    Ok(IdxArray { dims, data: bytes[header_len..].to_vec() })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use flate2::{write::GzEncoder, Compression};
    use std::io::Write;

    /// Builds IDX bytes by hand: header then payload.
    pub(crate) fn idx_bytes(code: u8, dims: &[u32], payload: &[u8]) -> Vec<u8> {
        let mut out = vec![0, 0, code, dims.len() as u8];
        for d in dims {
            out.extend_from_slice(&d.to_be_bytes());
        }
        out.extend_from_slice(payload);
        out
    }

    pub(crate) fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut enc = GzEncoder::new(Vec::new(), Compression::default());
        enc.write_all(bytes).expect("writing to a Vec cannot fail");
        enc.finish().expect("writing to a Vec cannot fail")
    }

    /// Two 28x28 images: image 0 has byte i % 256 at flat index i, image 1 has 255 - that.
    fn two_images() -> Vec<u8> {
        let first: Vec<u8> = (0..784).map(|i| (i % 256) as u8).collect();
        let second: Vec<u8> = first.iter().map(|b| 255 - b).collect();
        [first, second].concat()
    }

    fn err_text(r: Result<IdxArray>) -> String {
        format!("{:#}", r.expect_err("expected an error"))
    }

    #[test]
    fn parses_hand_built_two_image_file() {
        let bytes = idx_bytes(UBYTE, &[2, 28, 28], &two_images());
        // 4 magic bytes + 3 dims of 4 bytes + 2 * 784 pixels
        assert_eq!(bytes.len(), 16 + 1568);
        assert_eq!(&bytes[..8], &[0, 0, 8, 3, 0, 0, 0, 2]);
        let a = parse_idx_as(&bytes, "two.idx", IMAGES).unwrap();
        assert_eq!(a.dims, vec![2, 28, 28]);
        assert_eq!(a.data.len(), 1568);
        // image 0, row 10, col 20 -> flat 300 -> 300 % 256 = 44; image 1 holds 255 - 44
        assert_eq!(a.data[300], 44);
        assert_eq!(a.data[784 + 300], 211);
        assert_eq!(a.data[783], 15); // 783 % 256
        assert_eq!(a.data, two_images());
    }

    #[test]
    fn gzipped_file_parses_to_the_same_array() {
        let raw = idx_bytes(UBYTE, &[2, 28, 28], &two_images());
        let gz = gzip(&raw);
        assert_eq!(&gz[..2], &[0x1f, 0x8b]);
        assert_eq!(parse_idx(&gz, "two.idx.gz").unwrap(), parse_idx(&raw, "two.idx").unwrap());
    }

    #[test]
    fn labels_file_of_rank_one() {
        let a = parse_idx_as(&idx_bytes(UBYTE, &[3], &[7, 0, 9]), "l", LABELS).unwrap();
        assert_eq!((a.dims, a.data), (vec![3], vec![7, 0, 9]));
    }

    #[test]
    fn wrong_magic_names_file_and_expected_magic() {
        let msg = err_text(parse_idx_as(b"<!DOCTYPE html>", "page.html", IMAGES));
        assert!(msg.contains("page.html"), "{msg}");
        assert!(msg.contains("expected IDX magic 0x0000_08_03 (images)"), "{msg}");
        assert!(msg.contains("[3c 21 44 4f]"), "{msg}");
        let msg = err_text(parse_idx(&[0, 0], "tiny"));
        assert!(msg.contains("tiny") && msg.contains("expected IDX magic"), "{msg}");
    }

    #[test]
    fn wrong_element_type_is_refused() {
        let f32_file = idx_bytes(0x0D, &[1], &[0, 0, 0, 0]);
        let msg = err_text(parse_idx_as(&f32_file, "floats.idx", LABELS));
        assert!(msg.contains("floats.idx"), "{msg}");
        assert!(msg.contains("0x0d (f32)") && msg.contains("expected 0x08 (unsigned byte)"), "{msg}");
    }

    #[test]
    fn wrong_rank_is_refused() {
        let labels = idx_bytes(UBYTE, &[3], &[1, 2, 3]);
        let msg = err_text(parse_idx_as(&labels, "labels-as-images", IMAGES));
        assert!(msg.contains("labels-as-images: IDX rank 1, expected 3 for images"), "{msg}");
    }

    #[test]
    fn truncated_data_and_header_say_expected_and_found() {
        let short = idx_bytes(UBYTE, &[2, 28, 28], &two_images()[..1000]);
        let msg = err_text(parse_idx_as(&short, "short.idx", IMAGES));
        assert!(msg.contains("short.idx"), "{msg}");
        assert!(msg.contains("expected 1568 bytes of pixel data, found 1000"), "{msg}");
        // header says 3 dims (12 bytes) but only 2 bytes of them are there
        let msg = err_text(parse_idx(&[0, 0, 8, 3, 0, 0], "stub"));
        assert!(msg.contains("stub: truncated IDX header: expected 16 bytes"), "{msg}");
    }

    #[test]
    fn trailing_bytes_are_refused() {
        let mut long = idx_bytes(UBYTE, &[2, 28, 28], &two_images());
        long.extend_from_slice(&[1, 2, 3]);
        let msg = err_text(parse_idx_as(&long, "long.idx", IMAGES));
        assert!(msg.contains("long.idx: 3 trailing bytes after the 1568 bytes of pixel data"), "{msg}");
    }

    #[test]
    fn corrupt_gzip_is_reported() {
        let gz = gzip(&idx_bytes(UBYTE, &[2, 28, 28], &two_images()));
        // Cut in the middle of the deflate stream.
        let msg = err_text(parse_idx(&gz[..gz.len() / 2], "cut.gz"));
        assert!(msg.contains("cut.gz: corrupt gzip data"), "{msg}");
        // Flip bits in the last 8 bytes: the CRC-32 / length trailer no longer matches.
        let mut bad = gz.clone();
        let n = bad.len();
        bad[n - 6] ^= 0xff;
        let msg = err_text(parse_idx(&bad, "crc.gz"));
        assert!(msg.contains("crc.gz: corrupt gzip data"), "{msg}");
    }

    #[test]
    fn read_idx_names_the_path() {
        let dir = std::env::temp_dir().join(format!("workbook-idx-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("bad-images-idx3-ubyte");
        std::fs::write(&path, [0x00, 0x00, 0x08, 0x01, 0, 0, 0, 1, 5]).unwrap();
        let msg = err_text(read_idx_as(&path, IMAGES));
        assert!(msg.contains(&path.display().to_string()) && msg.contains("rank 1, expected 3"), "{msg}");
        assert_eq!(read_idx(&path).unwrap().data, vec![5]);
        let missing = dir.join("missing");
        let msg = err_text(read_idx(&missing));
        assert!(msg.contains("cannot read IDX file") && msg.contains("missing"), "{msg}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
