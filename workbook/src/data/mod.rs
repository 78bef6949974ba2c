//! Data for the notebooks: an IDX reader and MNIST (a real 10,000-digit subset
//! shipped in `data/mnist/` and compiled in, or the full set from a folder).

pub mod idx;
pub mod mnist;

pub use idx::{parse_idx, read_idx, IdxArray};
pub use mnist::{Mnist, Split};
