//! Instructor tools over the reference crate: fixtures, the notebook and its
//! solution, export, grading, and the Gradescope bundle.

pub mod cases;
pub mod fixtures;
pub mod grade;
pub mod gradescope;
pub mod notebook;
pub mod regions;
pub mod solve;
pub mod template;
