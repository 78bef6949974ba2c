//! The text encoder tau_theta, as the paper trains it: a word tokenizer over a small
//! vocabulary and one transformer layer, learned jointly with the Unet. (The course
//! project used a frozen pretrained CLIP; no pretrained weights can be fetched here.)

use crate::rng::Rng;
use serde::{Deserialize, Serialize};
use tch::{nn, nn::Module, Device, Tensor};

pub const PAD: i64 = 0;
pub const UNK: i64 = 1;

const DIGIT_WORDS: [&str; 10] = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"];
const OTHER_WORDS: [&str; 17] = [
    "the", "number", "a", "an", "handwritten", "digit", "image", "of", "picture", "written", "by", "hand", "draw",
    "write", "please", "mnist", "numeral",
];

/// Prompt templates; `{d}` is the digit ("7"), `{w}` its word ("seven").
pub const TEMPLATES: [&str; 12] = [
    "{d}",
    "{w}",
    "The number {d}",
    "the number {w}",
    "a handwritten {d}",
    "a handwritten {w}",
    "an image of the digit {d}",
    "digit {w}",
    "a picture of a {w}",
    "{w} written by hand",
    "draw a {d} please",
    "the numeral {w}",
];

pub fn prompt(digit: u8, template: usize) -> String {
    TEMPLATES[template % TEMPLATES.len()].replace("{d}", &digit.to_string()).replace("{w}", DIGIT_WORDS[digit as usize])
}

/// Lower-cased words, punctuation dropped; ids: 0 pad, 1 unknown, then digits, words.
#[derive(Debug, Clone)]
pub struct Tokenizer {
    pub vocab: Vec<String>,
    pub max_tokens: i64,
}

impl Default for Tokenizer {
    fn default() -> Self {
        let mut vocab: Vec<String> = vec!["<pad>".into(), "<unk>".into()];
        vocab.extend((0..10).map(|d| d.to_string()));
        vocab.extend(DIGIT_WORDS.iter().chain(OTHER_WORDS.iter()).map(|w| w.to_string()));
        Tokenizer { vocab, max_tokens: 8 }
    }
}

impl Tokenizer {
    pub fn ids(&self, text: &str) -> Vec<i64> {
        let mut ids: Vec<i64> = text
            .split_whitespace()
            .map(|w| w.trim_matches(|c: char| !c.is_alphanumeric()).to_lowercase())
            .filter(|w| !w.is_empty())
            .map(|w| self.vocab.iter().position(|v| *v == w).map_or(UNK, |i| i as i64))
            .take(self.max_tokens as usize)
            .collect();
        ids.resize(self.max_tokens as usize, PAD);
        ids
    }

    /// [B] prompts -> [B, max_tokens] int64 ids
    pub fn batch(&self, prompts: &[String]) -> Tensor {
        let flat: Vec<i64> = prompts.iter().flat_map(|p| self.ids(p)).collect();
        Tensor::from_slice(&flat).reshape([prompts.len() as i64, self.max_tokens])
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TextEncoderConfig {
    pub vocab_size: i64,
    pub max_tokens: i64,
    pub width: i64,
    pub heads: i64,
}

impl Default for TextEncoderConfig {
    fn default() -> Self {
        let t = Tokenizer::default();
        TextEncoderConfig { vocab_size: t.vocab.len() as i64, max_tokens: t.max_tokens, width: 128, heads: 4 }
    }
}

/// Token and position embeddings, one pre-norm transformer layer, a final LayerNorm.
#[derive(Debug)]
pub struct TextEncoder {
    pub config: TextEncoderConfig,
    pub tokenizer: Tokenizer,
    token_embedding: nn::Embedding,
    position_embedding: Tensor,
    norm1: nn::LayerNorm,
    qkv: nn::Linear,
    proj: nn::Linear,
    norm2: nn::LayerNorm,
    fc1: nn::Linear,
    fc2: nn::Linear,
    final_norm: nn::LayerNorm,
}

impl TextEncoder {
    pub fn new(vs: nn::Path, config: TextEncoderConfig) -> Self {
        let w = config.width;
        let init = nn::Init::Randn { mean: 0.0, stdev: 0.02 };
        TextEncoder {
            token_embedding: nn::embedding(&vs / "token_embedding", config.vocab_size, w, Default::default()),
            position_embedding: vs.var("position_embedding", &[config.max_tokens, w], init),
            norm1: nn::layer_norm(&vs / "norm1", vec![w], Default::default()),
            qkv: nn::linear(&vs / "qkv", w, 3 * w, Default::default()),
            proj: nn::linear(&vs / "proj", w, w, Default::default()),
            norm2: nn::layer_norm(&vs / "norm2", vec![w], Default::default()),
            fc1: nn::linear(&vs / "fc1", w, 4 * w, Default::default()),
            fc2: nn::linear(&vs / "fc2", 4 * w, w, Default::default()),
            final_norm: nn::layer_norm(&vs / "final_norm", vec![w], Default::default()),
            tokenizer: Tokenizer { max_tokens: config.max_tokens, ..Default::default() },
            config,
        }
    }

    fn self_attention(&self, x: &Tensor) -> Tensor {
        let (b, n, w) = x.size3().expect("[B, N, W]");
        let h = self.config.heads;
        // [B, N, 3W] -> [3, B, H, N, W/H]
        let qkv = self.qkv.forward(x).reshape([b, n, 3, h, w / h]).permute([2, 0, 3, 1, 4]);
        let (q, k, v) = (qkv.get(0), qkv.get(1), qkv.get(2));
        let out = Tensor::scaled_dot_product_attention(&q, &k, &v, None::<&Tensor>, 0.0, false, None, false);
        // [B, H, N, W/H] -> [B, N, W]
        self.proj.forward(&out.transpose(1, 2).reshape([b, n, w]))
    }

    /// tokens: [B, max_tokens] int64 -> context [B, max_tokens, width]
    pub fn forward(&self, tokens: &Tensor) -> Tensor {
        let x = self.token_embedding.forward(tokens) + &self.position_embedding;
        let x = self.self_attention(&self.norm1.forward(&x)) + &x;
        let x = self.fc2.forward(&self.fc1.forward(&self.norm2.forward(&x)).gelu("none")) + &x;
        self.final_norm.forward(&x)
    }

    pub fn encode(&self, prompts: &[String]) -> Tensor {
        self.forward(&self.tokenizer.batch(prompts).to_device(self.device()))
    }

    fn device(&self) -> Device {
        self.position_embedding.device()
    }
}

/// Random prompts for a batch of labels: a random template each, and the empty
/// prompt with probability `drop` (what classifier-free guidance needs).
pub fn training_prompts(labels: &[u8], drop: f64, rng: &mut Rng) -> Vec<String> {
    labels
        .iter()
        .map(|&d| if rng.uniform() < drop { String::new() } else { prompt(d, rng.below(TEMPLATES.len())) })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokenizes_words_digits_and_unknowns() {
        let t = Tokenizer::default();
        let ids = t.ids("The number 7!");
        // <pad>=0, <unk>=1, "0".."9" = 2..11, "zero".."nine" = 12..21, then "the" = 22, "number" = 23.
        assert_eq!(&ids[..4], &[22, 23, 9, PAD]);
        assert_eq!(ids.len(), 8);
        assert_eq!(t.ids("seven")[0], 19);
        assert_eq!(t.ids("banana")[0], UNK);
        assert_eq!(t.ids(""), vec![PAD; 8], "the empty prompt is all padding");
    }

    #[test]
    fn every_template_is_in_vocabulary_and_names_its_digit() {
        let t = Tokenizer::default();
        for d in 0..10u8 {
            for k in 0..TEMPLATES.len() {
                let p = prompt(d, k);
                assert!(!t.ids(&p).contains(&UNK), "{p}");
                assert!(p.contains(&d.to_string()) || p.contains(DIGIT_WORDS[d as usize]), "{p}");
            }
        }
        assert_eq!(prompt(7, 2), "The number 7");
    }

    #[test]
    fn encoder_gives_one_context_vector_per_token() {
        let vs = nn::VarStore::new(Device::Cpu);
        let enc = TextEncoder::new(vs.root(), TextEncoderConfig::default());
        let ctx = enc.encode(&["seven".to_string(), String::new(), "the number 3".to_string()]);
        assert_eq!(ctx.size(), vec![3, 8, 128]);
        assert!(!ctx.get(0).allclose(&ctx.get(1), 1e-4, 1e-4, false));
    }

    #[test]
    fn prompt_dropout_rate_is_about_what_was_asked() {
        let mut rng = Rng::new(3);
        let labels = vec![4u8; 10_000];
        let empty = training_prompts(&labels, 0.1, &mut rng).iter().filter(|p| p.is_empty()).count();
        assert!((800..1200).contains(&empty), "{empty} of 10000 dropped");
    }
}
