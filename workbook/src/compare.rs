//! The comparison every check and the grader use: normwise relative error,
//! max |got - expected| / max |expected|, at most `TOLERANCE`.
//!
//! Why normwise: the element-wise relative error |a - b| / (|a| + |b|) of the
//! course project failed correct code wherever an output was close to zero.
//! Scaling by the largest expected magnitude passes every correct float32
//! implementation, whatever its order of operations, and still fails wrong ones.

use std::fmt;
use tch::{Kind, Tensor};

pub const TOLERANCE: f64 = 1e-4;

/// The worst element: its index, what was computed and what was expected.
#[derive(Debug, Clone, PartialEq)]
pub struct Worst {
    pub index: Vec<i64>,
    pub got: f64,
    pub expected: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Comparison {
    Close { error: f64 },
    Far { error: f64, worst: Worst },
    ShapeMismatch { got: Vec<i64>, expected: Vec<i64> },
    NotFinite { nan: i64, inf: i64, first: Vec<i64> },
}

impl Comparison {
    pub fn passed(&self) -> bool {
        matches!(self, Comparison::Close { .. })
    }
}

impl fmt::Display for Comparison {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Comparison::Close { error } => write!(f, "normwise relative error {error:.2e} <= {TOLERANCE:.0e}"),
            Comparison::Far { error, worst } => write!(
                f,
                "normwise relative error {error:.2e} > {TOLERANCE:.0e}; worst element at {:?}: got {:.6}, expected {:.6}",
                worst.index, worst.got, worst.expected
            ),
            Comparison::ShapeMismatch { got, expected } => write!(f, "shape {got:?}, expected {expected:?}"),
            Comparison::NotFinite { nan, inf, first } => {
                write!(f, "{nan} NaN and {inf} Inf values, the first at {first:?}")
            }
        }
    }
}

/// max |got - expected| / max |expected| (or the plain max difference when expected is all zero).
pub fn normwise_relative_error(got: &Tensor, expected: &Tensor) -> f64 {
    let got = got.to_kind(Kind::Double);
    let expected = expected.to_kind(Kind::Double);
    let diff = (&got - &expected).abs().max().double_value(&[]);
    let scale = expected.abs().max().double_value(&[]);
    if scale > 0.0 {
        diff / scale
    } else {
        diff
    }
}

fn unravel(mut flat: i64, shape: &[i64]) -> Vec<i64> {
    let mut index = vec![0; shape.len()];
    for (slot, &size) in index.iter_mut().zip(shape).rev() {
        *slot = flat % size.max(1);
        flat /= size.max(1);
    }
    index
}

pub fn compare(got: &Tensor, expected: &Tensor) -> Comparison {
    let (gs, es) = (got.size(), expected.size());
    if gs != es {
        return Comparison::ShapeMismatch { got: gs, expected: es };
    }
    let got_d = got.to_kind(Kind::Double).flatten(0, -1);
    let bad = got_d.isfinite().logical_not();
    let nan = got_d.isnan().sum(Kind::Int64).int64_value(&[]);
    let n_bad = bad.sum(Kind::Int64).int64_value(&[]);
    if n_bad > 0 {
        let first = bad.to_kind(Kind::Int64).argmax(0, false).int64_value(&[]);
        return Comparison::NotFinite { nan, inf: n_bad - nan, first: unravel(first, &gs) };
    }
    let error = normwise_relative_error(got, expected);
    if error <= TOLERANCE {
        return Comparison::Close { error };
    }
    let exp_d = expected.to_kind(Kind::Double).flatten(0, -1);
    let flat = (&got_d - &exp_d).abs().argmax(0, false).int64_value(&[]);
    let worst = Worst {
        index: unravel(flat, &gs),
        got: got_d.double_value(&[flat]),
        expected: exp_d.double_value(&[flat]),
    };
    Comparison::Far { error, worst }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_is_max_difference_over_max_expected() {
        // |[1, -4.5] - [1, -4]| max is 0.5, max |expected| is 4: 0.125 by hand.
        let got = Tensor::from_slice(&[1.0f32, -4.5]);
        let expected = Tensor::from_slice(&[1.0f32, -4.0]);
        assert!((normwise_relative_error(&got, &expected) - 0.125).abs() < 1e-12);
    }

    #[test]
    fn tiny_values_near_zero_do_not_fail_correct_code() {
        // Element-wise relative error would be 1.0 at the second element.
        let expected = Tensor::from_slice(&[2.0f32, 1e-9]);
        let got = Tensor::from_slice(&[2.0f32, -1e-9]);
        assert!(compare(&got, &expected).passed());
    }

    #[test]
    fn reports_worst_element_with_its_index() {
        let expected = Tensor::from_slice(&[0.0f32, 1.0, 2.0, 3.0]).reshape([2, 2]);
        let got = Tensor::from_slice(&[0.0f32, 1.0, 2.5, 3.0]).reshape([2, 2]);
        match compare(&got, &expected) {
            Comparison::Far { worst, error } => {
                assert_eq!(worst.index, vec![1, 0]);
                assert_eq!((worst.got, worst.expected), (2.5, 2.0));
                assert!((error - 0.5 / 3.0).abs() < 1e-12);
            }
            other => panic!("expected Far, got {other:?}"),
        }
    }

    #[test]
    fn shape_and_nan_are_reported_before_values() {
        let expected = Tensor::zeros([2, 3], (Kind::Float, tch::Device::Cpu));
        let wrong = Tensor::zeros([3, 2], (Kind::Float, tch::Device::Cpu));
        assert!(matches!(compare(&wrong, &expected), Comparison::ShapeMismatch { .. }));
        let nan = Tensor::from_slice(&[0.0f32, 0.0, 0.0, f32::NAN, f32::INFINITY, 0.0]).reshape([2, 3]);
        assert_eq!(compare(&nan, &expected), Comparison::NotFinite { nan: 1, inf: 1, first: vec![1, 0] });
    }
}
