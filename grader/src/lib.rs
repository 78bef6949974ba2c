//! Instructor tools over the reference crate: fixture generation now; solve,
//! export and grade build on it.

pub mod cases;
pub mod fixtures;
pub mod notebook;
pub mod regions;
pub mod solve;
pub mod template;
