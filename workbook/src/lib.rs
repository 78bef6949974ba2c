//! What the notebooks use: the fixture format, the comparison that checks use,
//! shape validation, checkpoints, data and (later) plots and the training engine.
//! Solution code lives in the `reference` crate; nothing here depends on it.

pub mod autoencoder;
pub mod charts;
pub mod check;
pub mod checkpoint;
pub mod classifier;
pub mod compare;
pub mod data;
pub mod display;
pub mod engine;
pub mod fixture;
pub mod frechet;
pub mod hints;
pub mod photo;
pub mod plot;
pub mod progress;
pub mod questions;
pub mod rng;
pub mod session;
pub mod shape;
pub mod submission;
pub mod tensors;
pub mod text;
