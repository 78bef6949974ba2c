//! The answer key: every exercise and every piece of given module code, complete.
//! Parameter paths are the PyTorch `state_dict` keys of the original notebook's modules,
//! so weights move between this crate and PyTorch through safetensors with no renaming.

pub mod answers;
pub mod attention;
pub mod diffusion;
pub mod embeddings;
pub mod fast;
pub mod layers;
pub mod process;
pub mod resnet;
pub mod runners;
pub mod schedule;
pub mod unet;

pub use attention::{
    BasicTransformerBlock, CrossAttention, CrossAttentionConfig, FeedForward, FeedForwardConfig, SpatialTransformer,
    SpatialTransformerConfig,
};
pub use diffusion::{p_losses, p_sample, q_sample, LossType};
pub use embeddings::SinusoidalPosEmb;
pub use fast::FastUnet;
pub use resnet::{Downsample, ResnetBlock, ResnetBlockConfig, Upsample};
pub use schedule::{Schedule, Scheduler, SchedulerConfig};
pub use unet::{Unet, UnetConfig};
pub use process::Diffusion;
