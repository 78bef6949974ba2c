//! `make bench`: tch against PyTorch on the same Unet, weights and inputs, in one run.
//! Each side runs in its own child process per case (honest peak memory); the outputs
//! must agree (workbook::compare) before any time is taken.

pub mod case;
pub mod child;
pub mod driver;
pub mod files;
pub mod proc;
pub mod report;
