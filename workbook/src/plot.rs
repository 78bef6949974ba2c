//! Pictures: a grid of digits as PNG and a denoising trajectory as an animated GIF.

use anyhow::{Context, Result};
use image::{codecs::gif::GifEncoder, Delay, Frame, GrayImage, ImageFormat, Luma, RgbaImage};
use std::path::Path;
use tch::{Kind, Tensor};

/// [N, 1, H, W] in [-1, 1] -> one grey image of `cols` columns, each digit scaled up `zoom` times,
/// with a one-pixel mid-grey border between digits.
pub fn grid(x: &Tensor, cols: usize, zoom: u32) -> GrayImage {
    let (n, _, h, w) = x.size4().expect("images are [N, 1, H, W]");
    let pixels = ((x.clamp(-1.0, 1.0) + 1.0) * 127.5).round().to_kind(Kind::Uint8).contiguous();
    let data = Vec::<u8>::try_from(pixels.flatten(0, -1)).expect("uint8 pixels");
    let (n, h, w) = (n as usize, h as u32, w as u32);
    let cols = cols.clamp(1, n.max(1));
    let rows = n.div_ceil(cols);
    let (cell_w, cell_h) = (w * zoom + 1, h * zoom + 1);
    let mut img = GrayImage::from_pixel(cols as u32 * cell_w + 1, rows as u32 * cell_h + 1, Luma([128]));
    for i in 0..n {
        let (r, c) = ((i / cols) as u32, (i % cols) as u32);
        for y in 0..h * zoom {
            for xx in 0..w * zoom {
                let v = data[i * (h * w) as usize + ((y / zoom) * w + xx / zoom) as usize];
                img.put_pixel(c * cell_w + 1 + xx, r * cell_h + 1 + y, Luma([v]));
            }
        }
    }
    img
}

pub fn save_grid(x: &Tensor, cols: usize, zoom: u32, path: &Path) -> Result<()> {
    ensure_parent(path)?;
    grid(x, cols, zoom).save_with_format(path, ImageFormat::Png).with_context(|| format!("cannot write {}", path.display()))
}

/// PNG bytes of a grid, for showing inline in a notebook.
pub fn grid_png(x: &Tensor, cols: usize, zoom: u32) -> Result<Vec<u8>> {
    let mut out = std::io::Cursor::new(Vec::new());
    grid(x, cols, zoom).write_to(&mut out, ImageFormat::Png)?;
    Ok(out.into_inner())
}

/// An animated GIF of grids, one per frame; the last frame is held longer.
pub fn gif_bytes(frames: &[Tensor], cols: usize, zoom: u32, delay_ms: u32) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    {
        let mut enc = GifEncoder::new_with_speed(&mut out, 10);
        enc.set_repeat(image::codecs::gif::Repeat::Infinite)?;
        for (i, f) in frames.iter().enumerate() {
            let g = grid(f, cols, zoom);
            let rgba = RgbaImage::from_fn(g.width(), g.height(), |x, y| {
                let v = g.get_pixel(x, y)[0];
                image::Rgba([v, v, v, 255])
            });
            let hold = if i + 1 == frames.len() { delay_ms * 8 } else { delay_ms };
            enc.encode_frame(Frame::from_parts(rgba, 0, 0, Delay::from_numer_denom_ms(hold, 1)))?;
        }
    }
    Ok(out)
}

pub fn save_gif(frames: &[Tensor], cols: usize, zoom: u32, delay_ms: u32, path: &Path) -> Result<()> {
    ensure_parent(path)?;
    std::fs::write(path, gif_bytes(frames, cols, zoom, delay_ms)?).with_context(|| format!("cannot write {}", path.display()))
}

fn ensure_parent(path: &Path) -> Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grid_places_digits_and_maps_minus_one_to_black() {
        // Two 2x2 images: all -1 (black) and all +1 (white), zoom 1, two columns.
        let x = Tensor::cat(&[Tensor::full([1, 1, 2, 2], -1.0, (Kind::Float, tch::Device::Cpu)), Tensor::full([1, 1, 2, 2], 1.0, (Kind::Float, tch::Device::Cpu))], 0);
        let g = grid(&x, 2, 1);
        assert_eq!((g.width(), g.height()), (2 * 3 + 1, 3 + 1));
        assert_eq!(g.get_pixel(1, 1)[0], 0);
        assert_eq!(g.get_pixel(4, 2)[0], 255);
        assert_eq!(g.get_pixel(0, 0)[0], 128, "border");
    }

    #[test]
    fn gif_has_one_frame_per_snapshot() {
        let frames: Vec<Tensor> = (0..3).map(|i| Tensor::full([2, 1, 4, 4], i as f64 / 2.0 - 0.5, (Kind::Float, tch::Device::Cpu))).collect();
        let bytes = gif_bytes(&frames, 2, 2, 80).unwrap();
        assert_eq!(&bytes[..6], b"GIF89a");
        let decoder = image::codecs::gif::GifDecoder::new(std::io::Cursor::new(bytes)).unwrap();
        use image::AnimationDecoder;
        assert_eq!(decoder.into_frames().count(), 3);
    }
}
