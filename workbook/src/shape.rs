//! Shape validation with messages that name the module, the input and the expectation.

use anyhow::{bail, Result};
use tch::Tensor;

/// One expected dimension: any size (named, like `B`), or a fixed size with the
/// constructor argument it comes from.
#[derive(Debug, Clone, Copy)]
pub enum Dim {
    Any(&'static str),
    Is(i64, &'static str),
}

impl Dim {
    fn label(&self) -> String {
        match self {
            Dim::Any(name) => name.to_string(),
            Dim::Is(size, _) => size.to_string(),
        }
    }
}

/// Fails unless `t` has exactly `dims.len()` dimensions matching `dims`, e.g.
/// "CrossAttention: input `x` has shape [2, 5, 8], expected [B, N, 16] (query_dim = 16)".
pub fn expect_shape(module: &str, input: &str, t: &Tensor, dims: &[Dim]) -> Result<()> {
    let shape = t.size();
    let rank_ok = shape.len() == dims.len();
    let sizes_ok = rank_ok
        && shape.iter().zip(dims).all(|(&got, dim)| match dim {
            Dim::Any(_) => true,
            Dim::Is(size, _) => got == *size,
        });
    if sizes_ok {
        return Ok(());
    }
    let expected: Vec<String> = dims.iter().map(Dim::label).collect();
    let why: Vec<String> = dims
        .iter()
        .filter_map(|d| match d {
            Dim::Is(size, arg) if !arg.is_empty() => Some(format!("{arg} = {size}")),
            _ => None,
        })
        .collect();
    let why = if why.is_empty() { String::new() } else { format!(" ({})", why.join(", ")) };
    bail!(
        "{module}: input `{input}` has shape {shape:?}, expected [{}]{why}",
        expected.join(", ")
    )
}

/// Fails unless two inputs agree on the batch size (their first dimension).
pub fn expect_same_batch(module: &str, a: (&str, &Tensor), b: (&str, &Tensor)) -> Result<()> {
    let (na, nb) = (a.1.size()[0], b.1.size()[0]);
    if na != nb {
        bail!("{module}: inputs `{}` and `{}` have batch sizes {na} and {nb}, expected equal", a.0, b.0);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_module_input_and_expected_shape() {
        let x = Tensor::zeros([2, 5, 8], (tch::Kind::Float, tch::Device::Cpu));
        let err = expect_shape("CrossAttention", "x", &x, &[Dim::Any("B"), Dim::Any("N"), Dim::Is(16, "query_dim")])
            .unwrap_err()
            .to_string();
        assert_eq!(err, "CrossAttention: input `x` has shape [2, 5, 8], expected [B, N, 16] (query_dim = 16)");
    }

    #[test]
    fn wrong_rank_is_an_error_and_right_shape_passes() {
        let x = Tensor::zeros([2, 16], (tch::Kind::Float, tch::Device::Cpu));
        assert!(expect_shape("FeedForward", "x", &x, &[Dim::Any("B"), Dim::Any("N"), Dim::Is(16, "dim")]).is_err());
        assert!(expect_shape("FeedForward", "x", &x, &[Dim::Any("B"), Dim::Is(16, "dim")]).is_ok());
    }
}
