//! The written questions whose answer is a number: checked here and by the grader.
//! Expected values are worked out from the definitions, not from the exercises' code.

/// (id, what is asked, expected value, relative tolerance)
pub const NUMERIC: [(&str, &str, fn() -> f64, f64); 2] = [
    ("alpha_bar_100", "alpha_bar at t = 100 (0-based) of the linear schedule with T = 200", alpha_bar_100, 1e-3),
    ("latent_numbers", "numbers per 32x32x1 digit in the f = 4, c = 4 latent space", || 8.0 * 8.0 * 4.0, 0.0),
];

/// prod_{s <= 100} (1 - beta_s), beta_s = 1e-4 + (0.02 - 1e-4) s / 199.
fn alpha_bar_100() -> f64 {
    (0..=100).map(|s| 1.0 - (1e-4 + (0.02 - 1e-4) * s as f64 / 199.0)).product()
}

pub fn expected(id: &str) -> Option<(f64, f64)> {
    NUMERIC.iter().find(|q| q.0 == id).map(|q| (q.2(), q.3))
}

/// Whether `got` answers question `id`, with an explanation.
pub fn verdict(id: &str, got: f64) -> (bool, String) {
    let Some((want, tol)) = expected(id) else {
        return (false, format!("no numeric question `{id}`"));
    };
    let ok = got.is_finite() && (got - want).abs() <= tol * want.abs().max(1e-12) + 1e-12;
    let msg = if ok {
        format!("{id}: {got} is right")
    } else {
        format!("{id}: {got} is not it (a relative error of at most {tol:e} passes); recompute from the definition")
    };
    (ok, msg)
}

/// The check cell of a numeric question: runs the answer function, prints a verdict.
pub fn check_answer(id: &str, answer: fn() -> f64) -> bool {
    match crate::check::run_caught(|| Ok(answer())) {
        Err(msg) if msg.contains("not yet implemented") => {
            println!("○ {id}: not implemented yet");
            false
        }
        Err(msg) => {
            println!("✘ {id}: your answer panicked: {msg}");
            false
        }
        Ok(Ok(v)) => {
            let (ok, msg) = verdict(id, v);
            println!("{} {msg}", if ok { "✔" } else { "✘" });
            ok
        }
        Ok(Err(e)) => {
            println!("✘ {id}: {e}");
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alpha_bar_at_100_is_about_a_half() {
        // ln alpha_bar ~ -sum beta_s = -(101 * 1e-4 + 0.0199 * (100 * 101 / 2) / 199) = -0.5151.
        let (v, _) = expected("alpha_bar_100").unwrap();
        assert!((v.ln() + 0.5151).abs() < 0.01, "{v}");
        assert!(verdict("alpha_bar_100", v * 1.0005).0 && !verdict("alpha_bar_100", v * 1.01).0);
        assert!(verdict("latent_numbers", 256.0).0 && !verdict("latent_numbers", 1024.0).0);
    }
}
