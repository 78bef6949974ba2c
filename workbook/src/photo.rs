//! The photo that Part 2 dissolves into noise (CC0; see `data/photos/README.md`).

use anyhow::{Context, Result};
use tch::{Kind, Tensor};

const CHELSEA: &[u8] = include_bytes!("../../data/photos/chelsea.png");

/// The cat, centre-cropped to a square and resized to `size`: [1, 3, size, size] in [-1, 1].
pub fn chelsea(size: u32) -> Result<Tensor> {
    let img = image::load_from_memory(CHELSEA).context("data/photos/chelsea.png: not a PNG")?.to_rgb8();
    let side = img.width().min(img.height());
    let (x0, y0) = ((img.width() - side) / 2, (img.height() - side) / 2);
    let square = image::imageops::crop_imm(&img, x0, y0, side, side).to_image();
    let small = image::imageops::resize(&square, size, size, image::imageops::FilterType::Triangle);
    let data = Tensor::from_slice(small.as_raw()); // [size*size*3] uint8, row-major HWC
    let s = size as i64;
    Ok(data.reshape([s, s, 3]).permute([2, 0, 1]).unsqueeze(0).to_kind(Kind::Float) / 127.5 - 1.0) // [1, 3, s, s]
}

/// RGB images [N, 3, H, W] in [-1, 1] side by side, as PNG bytes.
pub fn row_png(x: &Tensor) -> Result<Vec<u8>> {
    let (n, _, h, w) = x.size4()?;
    let row = x.clamp(-1.0, 1.0).permute([2, 0, 3, 1]).reshape([h, n * w, 3]); // [N, 3, H, W] -> [H, N*W, 3]
    let bytes = Vec::<u8>::try_from(((row + 1.0) * 127.5).round().to_kind(Kind::Uint8).flatten(0, -1))?;
    let img = image::RgbImage::from_raw((n * w) as u32, h as u32, bytes).context("image size")?;
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png)?;
    Ok(out.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cat_is_a_square_rgb_image_in_range() {
        let x = chelsea(64).unwrap();
        assert_eq!(x.size(), vec![1, 3, 64, 64]);
        let (lo, hi) = (x.min().double_value(&[]), x.max().double_value(&[]));
        assert!((-1.0..-0.5).contains(&lo) && (0.5..=1.0).contains(&hi), "{lo} {hi}");
        let png = row_png(&Tensor::cat(&[&x, &x], 0)).unwrap();
        let back = image::load_from_memory(&png).unwrap();
        assert_eq!((back.width(), back.height()), (128, 64));
    }
}
