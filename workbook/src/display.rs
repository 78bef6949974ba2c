//! Inline pictures in the evcxr kernel: evcxr shows whatever a cell prints between
//! `EVCXR_BEGIN_CONTENT <mime>` and `EVCXR_END_CONTENT` as rich output.

use base64::Engine;

fn show(mime: &str, bytes: &[u8]) {
    let b64 = base64::engine::general_purpose::STANDARD.encode(bytes);
    println!("EVCXR_BEGIN_CONTENT {mime}\n{b64}\nEVCXR_END_CONTENT");
}

pub fn png(bytes: &[u8]) {
    show("image/png", bytes);
}

pub fn gif(bytes: &[u8]) {
    show("image/gif", bytes);
}

/// SVG is text: evcxr takes it as it is.
pub fn svg(text: &str) {
    println!("EVCXR_BEGIN_CONTENT image/svg+xml\n{text}\nEVCXR_END_CONTENT");
}

/// A grid of digits [N, 1, H, W] in [-1, 1], shown inline.
pub fn digits(x: &tch::Tensor, cols: usize, zoom: u32) -> anyhow::Result<()> {
    png(&crate::plot::grid_png(x, cols, zoom)?);
    Ok(())
}
