//! The fixture cases: which configuration and input sizes each exercise is checked on.
//! Public cases follow the original notebook's test configurations and add the
//! corners it missed (dim != dim_out, self-attention, every schedule and loss).

use reference::{
    CrossAttentionConfig, FeedForwardConfig, LossType, ResnetBlockConfig, Schedule, SchedulerConfig,
    SpatialTransformerConfig, UnetConfig,
};

#[derive(Debug, Clone)]
pub enum Spec {
    FeedForward { config: FeedForwardConfig, batch: i64, tokens: i64 },
    CrossAttention { config: CrossAttentionConfig, batch: i64, tokens: i64, context_tokens: Option<i64> },
    SpatialTransformer { config: SpatialTransformerConfig, batch: i64, size: i64, context_tokens: Option<i64> },
    ResnetBlock { config: ResnetBlockConfig, batch: i64, size: i64 },
    Unet { config: UnetConfig, batch: i64, size: i64, context_tokens: Option<i64> },
    Scheduler { sched: SchedulerConfig },
    QSample { sched: SchedulerConfig, shape: Vec<i64>, t: Option<Vec<i64>> },
    PLosses { sched: SchedulerConfig, loss_type: LossType, unet: UnetConfig, batch: i64, size: i64, context_tokens: Option<i64> },
    PSample { sched: SchedulerConfig, t_index: i64, unet: UnetConfig, batch: i64, size: i64, context_tokens: Option<i64> },
}

impl Spec {
    pub fn exercise(&self) -> &'static str {
        match self {
            Spec::FeedForward { .. } => "feed_forward",
            Spec::CrossAttention { .. } => "cross_attention",
            Spec::SpatialTransformer { .. } => "spatial_transformer",
            Spec::ResnetBlock { .. } => "resnet_block",
            Spec::Unet { .. } => "unet",
            Spec::Scheduler { .. } => "scheduler",
            Spec::QSample { .. } => "q_sample",
            Spec::PLosses { .. } => "p_losses",
            Spec::PSample { .. } => "p_sample",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Case {
    /// Also the file stem: `<name>.safetensors`.
    pub name: &'static str,
    pub spec: Spec,
}

fn sched(schedule: Schedule, timesteps: i64) -> SchedulerConfig {
    SchedulerConfig { schedule, timesteps }
}

/// The small Unet that p_losses and p_sample run through: one level keeps the fixtures
/// small (every SpatialTransformer is 128 wide, whatever the Unet's dim).
fn small_unet() -> UnetConfig {
    UnetConfig { dim: 16, init_dim: None, out_dim: None, dim_mults: vec![1], channels: 1, context_dim: Some(8), dropout: 0.1 }
}

pub fn public_cases() -> Vec<Case> {
    use Spec::*;
    let attn = |context_dim| CrossAttentionConfig { query_dim: 16, context_dim, heads: 4, dim_head: 32, dropout: 0.1 };
    let st = |depth, context_dim| SpatialTransformerConfig { in_channels: 16, n_heads: 4, d_head: 8, depth, dropout: 0.1, context_dim };
    let resnet = |dim, dim_out| ResnetBlockConfig { dim, dim_out, time_emb_dim: 10, dropout: 0.1 };
    let case = |name, spec| Case { name, spec };
    vec![
        case("feed_forward_dim16", FeedForward { config: FeedForwardConfig { dim: 16, dim_out: None, mult: 4, dropout: 0.1 }, batch: 2, tokens: 5 }),
        case("feed_forward_dim_out8", FeedForward { config: FeedForwardConfig { dim: 16, dim_out: Some(8), mult: 2, dropout: 0.0 }, batch: 3, tokens: 4 }),
        case("cross_attention_self", CrossAttention { config: attn(None), batch: 2, tokens: 6, context_tokens: None }),
        case("cross_attention_context8", CrossAttention { config: attn(Some(8)), batch: 2, tokens: 6, context_tokens: Some(5) }),
        case("cross_attention_context16", CrossAttention { config: attn(Some(16)), batch: 3, tokens: 4, context_tokens: Some(7) }),
        case("spatial_transformer_context16", SpatialTransformer { config: st(1, Some(16)), batch: 2, size: 6, context_tokens: Some(5) }),
        case("spatial_transformer_self_depth2", SpatialTransformer { config: st(2, None), batch: 2, size: 4, context_tokens: None }),
        // Small activations make the norms' eps visible (1e-6 here, 1e-5 elsewhere).
        case("spatial_transformer_small_inputs", SpatialTransformer { config: st(1, Some(16)), batch: 2, size: 4, context_tokens: Some(3) }),
        case("resnet_block_32_to_32", ResnetBlock { config: resnet(32, 32), batch: 4, size: 16 }),
        case("resnet_block_32_to_48", ResnetBlock { config: resnet(32, 48), batch: 2, size: 8 }),
        case(
            "unet_mults_1_2_4",
            Unet {
                config: UnetConfig { dim: 16, init_dim: None, out_dim: None, dim_mults: vec![1, 2, 4], channels: 1, context_dim: Some(10), dropout: 0.1 },
                batch: 2,
                size: 16,
                context_tokens: Some(3),
            },
        ),
        case(
            "unet_init32_out2_no_context",
            Unet {
                config: UnetConfig { dim: 16, init_dim: Some(32), out_dim: Some(2), dim_mults: vec![1], channels: 2, context_dim: None, dropout: 0.0 },
                batch: 2,
                size: 8,
                context_tokens: None,
            },
        ),
        case("scheduler_linear_200", Scheduler { sched: sched(Schedule::Linear, 200) }),
        case("scheduler_cosine_100", Scheduler { sched: sched(Schedule::Cosine, 100) }),
        case("scheduler_quadratic_50", Scheduler { sched: sched(Schedule::Quadratic, 50) }),
        case("scheduler_sigmoid_100", Scheduler { sched: sched(Schedule::Sigmoid, 100) }),
        case("q_sample_linear_t50_t100", QSample { sched: sched(Schedule::Linear, 200), shape: vec![2, 1, 8, 8], t: Some(vec![50, 100]) }),
        case("q_sample_cosine_random_t", QSample { sched: sched(Schedule::Cosine, 1000), shape: vec![4, 2, 6, 6], t: None }),
        case("p_losses_l1", PLosses { sched: sched(Schedule::Linear, 200), loss_type: LossType::L1, unet: small_unet(), batch: 2, size: 8, context_tokens: Some(3) }),
        case("p_losses_l2", PLosses { sched: sched(Schedule::Cosine, 1000), loss_type: LossType::L2, unet: small_unet(), batch: 2, size: 8, context_tokens: Some(3) }),
        case("p_losses_huber", PLosses { sched: sched(Schedule::Linear, 200), loss_type: LossType::Huber, unet: small_unet(), batch: 3, size: 8, context_tokens: Some(4) }),
        case("p_sample_t0", PSample { sched: sched(Schedule::Linear, 200), t_index: 0, unet: small_unet(), batch: 2, size: 8, context_tokens: Some(3) }),
        case("p_sample_t57", PSample { sched: sched(Schedule::Sigmoid, 100), t_index: 57, unet: small_unet(), batch: 2, size: 8, context_tokens: Some(3) }),
    ]
}
