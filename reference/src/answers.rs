//! Answers to the written questions whose answer is a number (Part 0).

// @region answer_numbers
/// Question 4: alpha_bar at t = 100 of the linear schedule (1e-4 to 0.02, T = 200).
fn answer_alpha_bar_100() -> f64 {
    // @todo alpha_bar_t = prod over s <= t of (1 - beta_s), with beta_s = 1e-4 + (0.02 - 1e-4) * s / (T - 1).
    let beta = |s: usize| 1e-4 + (0.02 - 1e-4) * s as f64 / 199.0;
    (0..=100).map(|s| 1.0 - beta(s)).product()
    // @endtodo
}

/// Question 5: how many numbers describe a 32x32x1 digit in the f = 4, c = 4 latent space.
fn answer_latent_numbers() -> f64 {
    // @todo Each side shrinks by f; the latent has c channels.
    ((32 / 4) * (32 / 4) * 4) as f64
    // @endtodo
}
// @endregion

/// The answers by question id, for the tests.
pub fn numeric_answer(id: &str) -> Option<f64> {
    match id {
        "alpha_bar_100" => Some(answer_alpha_bar_100()),
        "latent_numbers" => Some(answer_latent_numbers()),
        _ => None,
    }
}
