//! Initialisation the engine applies to any Unet with the original's parameter names.

use tch::nn::VarStore;

/// Zeroes the last layer of every residual branch (ResnetBlock `out_layers.3`,
/// SpatialTransformer `proj_out`) and the Unet's output conv (`out.2`), as LDM does:
/// each block starts as the identity and the first prediction is zero, which makes
/// the first steps of training stable. Returns how many tensors were zeroed.
pub fn zero_branch_outputs(vs: &VarStore, unet_prefix: &str) -> usize {
    let out_conv = format!("{unet_prefix}out.2.");
    let mut n = 0;
    tch::no_grad(|| {
        for (name, var) in vs.variables() {
            if name.starts_with(unet_prefix) && (name.contains("out_layers.3.") || name.contains("proj_out.") || name.starts_with(&out_conv)) {
                let _ = var.shallow_clone().zero_();
                n += 1;
            }
        }
    });
    n
}
