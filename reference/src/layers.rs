//! The few layer constructors every module shares, with the original's settings.

use tch::nn;

// @region layers
/// The original's `normalization(c)`: GroupNorm with 16 groups.
pub const GROUPS: i64 = 16;

pub fn group_norm(path: nn::Path, channels: i64, eps: f64) -> nn::GroupNorm {
    nn::group_norm(path, GROUPS, channels, nn::GroupNormConfig { eps, ..Default::default() })
}

/// A square convolution with "same" padding (kernel 1, 3 or 7).
pub fn conv(path: nn::Path, c_in: i64, c_out: i64, kernel: i64) -> nn::Conv2D {
    nn::conv2d(path, c_in, c_out, kernel, nn::ConvConfig { padding: kernel / 2, ..Default::default() })
}

pub fn linear(path: nn::Path, d_in: i64, d_out: i64, bias: bool) -> nn::Linear {
    nn::linear(path, d_in, d_out, nn::LinearConfig { bias, ..Default::default() })
}

pub fn layer_norm(path: nn::Path, dim: i64) -> nn::LayerNorm {
    nn::layer_norm(path, vec![dim], Default::default())
}
// @endregion
