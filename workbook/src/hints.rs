//! Hints a student can ask for: where to look first, not the answer.

pub const HINTS: [(&str, &str); 11] = [
    ("answer_numbers", "alpha_bar_t is a product, not a sum: multiply (1 - beta_s) for s = 0..=t. For the latent, count H x W x C after dividing each side by f."),
    ("feed_forward", "Build the linears on `&vs / \"net\" / 0` and `&vs / \"net\" / 3`: the check compares your parameter names with PyTorch's. GELU is the exact one: `gelu(\"none\")`."),
    ("cross_attention", "Write `split_heads` first and check its shape: [B, N, H*D] -> [B, N, H, D] -> [B, H, N, D] -> [B*H, N, D]. The scale is dim_head^-0.5, the softmax runs over the last axis (the keys)."),
    ("spatial_transformer", "Given code: if this fails while FeedForward and CrossAttention pass, re-run their cells, then this one."),
    ("resnet_block", "The time embedding goes through SiLU, then the Linear, then gets two trailing axes of size 1 before `chunk(2, 1)`. Scale first, shift second; multiply by (1 + scale)."),
    ("unet", "Count channels level by level: an up ResnetBlock sees its input (b) plus the skip (a). Skips come back last in, first out, concatenated after x: `Tensor::cat(&[&x, &skip], 1)`."),
    ("unet_levels", "`c.in_out()` gives the (a, b) pairs; the last level uses a plain 3x3 conv instead of a sampler. Up levels go through the pairs in reverse."),
    ("scheduler", "alphas_cumprod_prev is alphas_cumprod without its last element, with a 1 in front: `pad([1, 0], \"constant\", Some(1.0))`. Keep everything float32."),
    ("q_sample", "`extract(&s.sqrt_alphas_cumprod, t, x_start.dim())` gives a [B, 1, 1, 1] tensor that broadcasts over the image. Use alpha_bar, not alpha."),
    ("p_losses", "The target is the noise you added, not x_start. Call the model on q_sample's output."),
    ("p_sample", "At t_index 0 return the mean alone. Otherwise the noise is scaled by sqrt(posterior_variance_t), taken with `extract` like the other terms."),
];

/// Prints the hint for an exercise (or the list of exercises with hints).
pub fn hint(exercise: &str) {
    match HINTS.iter().find(|(id, _)| *id == exercise) {
        Some((_, text)) => println!("hint for {exercise}: {text}"),
        None => println!("no hint for `{exercise}`; hints exist for: {}", HINTS.iter().map(|h| h.0).collect::<Vec<_>>().join(", ")),
    }
}
