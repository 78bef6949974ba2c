//! Shapes, parameter names (the PyTorch keys of ORIGINAL.md, written out by hand),
//! dropout in training versus evaluation, and errors on bad input.

use reference::*;
use std::collections::BTreeSet;
use tch::{nn, Device, Kind, Tensor};

fn randn(shape: &[i64]) -> Tensor {
    Tensor::randn(shape, (Kind::Float, Device::Cpu))
}

fn keys(vs: &nn::VarStore) -> BTreeSet<String> {
    vs.variables().into_keys().collect()
}

fn n_params(vs: &nn::VarStore) -> i64 {
    vs.variables().values().map(|t| t.numel() as i64).sum()
}

fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|s| s.to_string()).collect()
}

#[test]
fn feed_forward_has_pytorch_keys_and_counts() {
    let vs = nn::VarStore::new(Device::Cpu);
    let ff = FeedForward::new(vs.root(), FeedForwardConfig { dim: 16, dim_out: None, mult: 4, dropout: 0.0 });
    assert_eq!(keys(&vs), set(&["net.0.weight", "net.0.bias", "net.3.weight", "net.3.bias"]));
    // 16*64 + 64 + 64*16 + 16, by hand.
    assert_eq!(n_params(&vs), 2128);
    assert_eq!(ff.forward(&randn(&[2, 5, 16]), false).size(), vec![2, 5, 16]);
}

#[test]
fn cross_attention_keys_shapes_and_self_attention() {
    let vs = nn::VarStore::new(Device::Cpu);
    let cfg = CrossAttentionConfig { query_dim: 16, context_dim: Some(8), heads: 4, dim_head: 32, dropout: 0.0 };
    let attn = CrossAttention::new(vs.root(), cfg);
    assert_eq!(keys(&vs), set(&["to_q.weight", "to_k.weight", "to_v.weight", "to_out.0.weight", "to_out.0.bias"]));
    assert_eq!(vs.variables()["to_k.weight"].size(), vec![128, 8]);
    let y = attn.try_forward(&randn(&[2, 6, 16]), Some(&randn(&[2, 5, 8])), false).unwrap();
    assert_eq!(y.size(), vec![2, 6, 16]);

    let vs = nn::VarStore::new(Device::Cpu);
    let self_attn = CrossAttention::new(vs.root(), CrossAttentionConfig { query_dim: 16, heads: 4, dim_head: 32, ..Default::default() });
    assert_eq!(vs.variables()["to_k.weight"].size(), vec![128, 16]);
    let x = randn(&[2, 6, 16]);
    // No context means attending to x itself.
    let a = self_attn.forward(&x, None, false);
    let b = self_attn.forward(&x, Some(&x), false);
    assert!(a.allclose(&b, 0.0, 0.0, false));
}

#[test]
fn spatial_transformer_keys_follow_the_original() {
    let vs = nn::VarStore::new(Device::Cpu);
    let cfg = SpatialTransformerConfig { in_channels: 16, n_heads: 4, d_head: 8, depth: 2, dropout: 0.0, context_dim: Some(16) };
    let st = SpatialTransformer::new(vs.root(), cfg);
    let k = keys(&vs);
    for key in [
        "norm.weight",
        "proj_in.weight",
        "proj_out.bias",
        "transformer_blocks.0.attn1.to_q.weight",
        "transformer_blocks.0.attn2.to_k.weight",
        "transformer_blocks.0.ff.net.3.weight",
        "transformer_blocks.0.norm3.bias",
        "transformer_blocks.1.norm1.weight",
    ] {
        assert!(k.contains(key), "missing {key}");
    }
    assert_eq!(vs.variables()["transformer_blocks.0.attn2.to_k.weight"].size(), vec![32, 16]);
    let y = st.try_forward(&randn(&[2, 16, 5, 3]), Some(&randn(&[2, 4, 16])), false).unwrap();
    assert_eq!(y.size(), vec![2, 16, 5, 3]);
}

#[test]
fn resnet_block_has_skip_conv_only_when_channels_change() {
    let vs = nn::VarStore::new(Device::Cpu);
    let same = ResnetBlock::new(vs.root(), ResnetBlockConfig { dim: 32, dim_out: 32, time_emb_dim: 10, dropout: 0.0 });
    assert!(!keys(&vs).iter().any(|k| k.starts_with("skip_connection")));
    let expected = set(&[
        "time_emb_layers.1.weight",
        "time_emb_layers.1.bias",
        "in_layers.0.weight",
        "in_layers.0.bias",
        "in_layers.2.weight",
        "in_layers.2.bias",
        "out_layers.0.weight",
        "out_layers.0.bias",
        "out_layers.3.weight",
        "out_layers.3.bias",
    ]);
    assert_eq!(keys(&vs), expected);
    assert_eq!(vs.variables()["time_emb_layers.1.weight"].size(), vec![64, 10]);
    assert_eq!(same.forward(&randn(&[3, 32, 8, 8]), &randn(&[3, 10]), false).size(), vec![3, 32, 8, 8]);

    let vs = nn::VarStore::new(Device::Cpu);
    let wider = ResnetBlock::new(vs.root(), ResnetBlockConfig { dim: 32, dim_out: 48, time_emb_dim: 10, dropout: 0.0 });
    assert_eq!(vs.variables()["skip_connection.weight"].size(), vec![48, 32, 1, 1]);
    assert_eq!(wider.forward(&randn(&[3, 32, 8, 8]), &randn(&[3, 10]), false).size(), vec![3, 48, 8, 8]);
}

#[test]
fn unet_of_the_course_project_has_its_parameter_count_and_shapes() {
    let vs = nn::VarStore::new(Device::Cpu);
    let cfg = UnetConfig { dim: 32, dim_mults: vec![1, 2, 4], channels: 1, context_dim: Some(512), dropout: 0.1, ..Default::default() };
    let _unet = Unet::new(vs.root(), cfg);
    // ORIGINAL.md: the training Unet has 7.26 M parameters.
    let n = n_params(&vs);
    assert!((7_255_000..7_265_000).contains(&n), "{n} parameters");
    let k = keys(&vs);
    for key in ["downs.0.4.1.weight", "downs.2.4.weight", "ups.0.4.1.weight", "ups.2.4.weight", "mid_attn.norm.weight", "final_conv.weight", "out.2.weight", "time_mlp.3.bias", "init_conv.weight"] {
        assert!(k.contains(key), "missing {key}");
    }
    assert_eq!(vs.variables()["init_conv.weight"].size(), vec![32, 1, 7, 7]);
    assert_eq!(vs.variables()["ups.0.0.in_layers.2.weight"].size(), vec![128, 128 + 64, 3, 3]);

    let vs = nn::VarStore::new(Device::Cpu);
    let small = UnetConfig { dim: 16, init_dim: Some(32), out_dim: Some(3), dim_mults: vec![1, 2], channels: 2, context_dim: Some(10), dropout: 0.0 };
    let unet = Unet::new(vs.root(), small);
    let y = unet.try_forward(&randn(&[2, 2, 8, 8]), &Tensor::from_slice(&[3i64, 150]), Some(&randn(&[2, 4, 10])), false).unwrap();
    assert_eq!(y.size(), vec![2, 3, 8, 8]);
}

#[test]
fn dropout_acts_in_training_only() {
    let vs = nn::VarStore::new(Device::Cpu);
    let cfg = UnetConfig { dim: 16, dim_mults: vec![1], channels: 1, context_dim: None, dropout: 0.5, ..Default::default() };
    let unet = Unet::new(vs.root(), cfg);
    let (x, t) = (randn(&[2, 1, 4, 4]), Tensor::from_slice(&[1i64, 2]));
    let eval = |u: &Unet| u.forward(&x, &t, None, false);
    assert!(eval(&unet).allclose(&eval(&unet), 0.0, 0.0, false), "eval must be deterministic");
    let a = unet.forward(&x, &t, None, true);
    let b = unet.forward(&x, &t, None, true);
    assert!(!a.allclose(&b, 1e-6, 1e-6, false), "training forwards must differ under dropout");

    let vs = nn::VarStore::new(Device::Cpu);
    let ff = FeedForward::new(vs.root(), FeedForwardConfig { dim: 16, dropout: 0.0, ..Default::default() });
    let x = randn(&[2, 3, 16]);
    assert!(ff.forward(&x, true).allclose(&ff.forward(&x, false), 0.0, 0.0, false), "dropout 0 changes nothing");
}

fn err_of<T: std::fmt::Debug>(r: anyhow::Result<T>) -> String {
    r.unwrap_err().to_string()
}

#[test]
fn wrong_input_shapes_name_the_module_and_the_expected_shape() {
    let vs = nn::VarStore::new(Device::Cpu);
    let attn = CrossAttention::new(vs.root(), CrossAttentionConfig { query_dim: 16, context_dim: Some(8), heads: 4, dim_head: 32, dropout: 0.0 });
    let e = err_of(attn.try_forward(&randn(&[2, 6, 16]), Some(&randn(&[2, 5, 7])), false));
    assert_eq!(e, "CrossAttention: input `context` has shape [2, 5, 7], expected [B, M, 8] (context_dim = 8)");
    let e = err_of(attn.try_forward(&randn(&[2, 6, 16]), Some(&randn(&[3, 5, 8])), false));
    assert!(e.contains("batch sizes 2 and 3"), "{e}");

    let vs = nn::VarStore::new(Device::Cpu);
    let ff = FeedForward::new(vs.root(), FeedForwardConfig { dim: 16, ..Default::default() });
    assert_eq!(err_of(ff.try_forward(&randn(&[2, 16]), false)), "FeedForward: input `x` has shape [2, 16], expected [B, N, 16] (dim = 16)");

    let vs = nn::VarStore::new(Device::Cpu);
    let rb = ResnetBlock::new(vs.root(), ResnetBlockConfig { dim: 32, dim_out: 32, time_emb_dim: 10, dropout: 0.0 });
    let e = err_of(rb.try_forward(&randn(&[2, 16, 4, 4]), &randn(&[2, 10]), false));
    assert_eq!(e, "ResnetBlock: input `x` has shape [2, 16, 4, 4], expected [B, 32, H, W] (dim = 32)");

    let vs = nn::VarStore::new(Device::Cpu);
    let unet = Unet::new(vs.root(), UnetConfig { dim: 16, dim_mults: vec![1, 2, 4], channels: 1, ..Default::default() });
    let e = err_of(unet.try_forward(&randn(&[1, 1, 6, 6]), &Tensor::from_slice(&[1i64]), None, false));
    assert!(e.starts_with("Unet: input `x` is 6x6, expected height and width divisible by 4"), "{e}");
    let e = err_of(unet.try_forward(&randn(&[1, 3, 8, 8]), &Tensor::from_slice(&[1i64]), None, false));
    assert!(e.contains("expected [B, 1, H, W] (channels = 1)"), "{e}");
}
