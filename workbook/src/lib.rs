//! What the notebooks use: the fixture format, the comparison that checks use,
//! shape validation, checkpoints, data and (later) plots and the training engine.
//! Solution code lives in the `reference` crate; nothing here depends on it.

pub mod checkpoint;
pub mod compare;
pub mod data;
pub mod fixture;
pub mod rng;
pub mod shape;
pub mod tensors;
pub mod text;
