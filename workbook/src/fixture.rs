//! The fixture contract: one safetensors file per case, with metadata `exercise`
//! and `config` (JSON of the original constructor arguments) and tensors
//! `param.<state_dict key>`, `in.<name>` and `out.<name>` (hidden fixtures have no `out.`).

use anyhow::{anyhow, bail, Context, Result};
use crate::tensors::{serialize, tensor_from_view};
use safetensors::SafeTensors;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use tch::Tensor;

pub const EXERCISES: [&str; 9] = [
    "feed_forward",
    "cross_attention",
    "spatial_transformer",
    "resnet_block",
    "unet",
    "scheduler",
    "q_sample",
    "p_losses",
    "p_sample",
];

#[derive(Debug)]
pub struct Fixture {
    /// Where it was read from, or its case name; used in every error message.
    pub name: String,
    pub exercise: String,
    pub config: serde_json::Value,
    /// Metadata beyond `exercise` and `config` (for example the seed that drew the case).
    pub extra: BTreeMap<String, String>,
    pub params: BTreeMap<String, Tensor>,
    pub inputs: BTreeMap<String, Tensor>,
    pub outputs: BTreeMap<String, Tensor>,
}

impl Fixture {
    pub fn new(name: &str, exercise: &str, config: serde_json::Value) -> Self {
        Fixture {
            name: name.to_string(),
            exercise: exercise.to_string(),
            config,
            extra: BTreeMap::new(),
            params: BTreeMap::new(),
            inputs: BTreeMap::new(),
            outputs: BTreeMap::new(),
        }
    }

    pub fn load(path: &Path) -> Result<Self> {
        let file = path.display().to_string();
        let bytes = std::fs::read(path).with_context(|| format!("cannot read fixture {file}"))?;
        Self::from_bytes(&bytes, &file)
    }

    pub fn from_bytes(bytes: &[u8], file: &str) -> Result<Self> {
        let (_, header) = SafeTensors::read_metadata(bytes)
            .map_err(|e| anyhow!("{file}: not a safetensors file ({e:?})"))?;
        let mut meta: BTreeMap<String, String> = header.metadata().clone().unwrap_or_default().into_iter().collect();
        let exercise = meta.remove("exercise").ok_or_else(|| anyhow!("{file}: metadata has no `exercise`"))?;
        if !EXERCISES.contains(&exercise.as_str()) {
            bail!("{file}: unknown exercise `{exercise}`, expected one of {EXERCISES:?}");
        }
        let config = meta.remove("config").ok_or_else(|| anyhow!("{file}: metadata has no `config`"))?;
        let config = serde_json::from_str(&config).with_context(|| format!("{file}: metadata `config` is not JSON"))?;
        let tensors = SafeTensors::deserialize(bytes).map_err(|e| anyhow!("{file}: bad safetensors data ({e:?})"))?;
        let mut fixture = Fixture::new(file, &exercise, config);
        fixture.extra = meta;
        for (key, view) in tensors.tensors() {
            let t = tensor_from_view(&view, file, &key)?;
            let (map, name) = if let Some(n) = key.strip_prefix("param.") {
                (&mut fixture.params, n)
            } else if let Some(n) = key.strip_prefix("in.") {
                (&mut fixture.inputs, n)
            } else if let Some(n) = key.strip_prefix("out.") {
                (&mut fixture.outputs, n)
            } else {
                bail!("{file}: tensor `{key}` starts with none of `param.`, `in.`, `out.`");
            };
            map.insert(name.to_string(), t);
        }
        Ok(fixture)
    }

    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let groups = [("param", &self.params), ("in", &self.inputs), ("out", &self.outputs)];
        let named: Vec<(String, &Tensor)> = groups
            .iter()
            .flat_map(|(prefix, map)| map.iter().map(move |(name, t)| (format!("{prefix}.{name}"), t)))
            .collect();
        let mut meta: HashMap<String, String> = self.extra.clone().into_iter().collect();
        meta.insert("exercise".into(), self.exercise.clone());
        meta.insert("config".into(), self.config.to_string());
        serialize(&named, meta, &self.name)
    }

    pub fn save(&self, path: &Path) -> Result<()> {
        std::fs::write(path, self.to_bytes()?).with_context(|| format!("cannot write fixture {}", path.display()))
    }

    pub fn input(&self, name: &str) -> Result<&Tensor> {
        self.inputs.get(name).ok_or_else(|| anyhow!("{}: no input `in.{name}`", self.name))
    }

    pub fn output(&self, name: &str) -> Result<&Tensor> {
        self.outputs.get(name).ok_or_else(|| anyhow!("{}: no expected output `out.{name}`", self.name))
    }

    /// A field of `config` decoded into `T`, with an error naming the fixture.
    pub fn config_as<T: serde::de::DeserializeOwned>(&self) -> Result<T> {
        serde_json::from_value(self.config.clone())
            .with_context(|| format!("{}: `config` does not fit exercise {}", self.name, self.exercise))
    }
}

/// Every `*.safetensors` file of a folder, sorted by name.
pub fn list(dir: &Path) -> Result<Vec<std::path::PathBuf>> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read fixture folder {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "safetensors"))
        .collect();
    files.sort();
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::Kind;

    #[test]
    fn round_trips_tensors_and_metadata() {
        let mut f = Fixture::new("case", "feed_forward", serde_json::json!({"dim": 4, "dim_out": null}));
        f.params.insert("net.0.weight".into(), Tensor::from_slice(&[1.5f32, -2.0, 3.0, 4.0, 5.0, 6.0]).reshape([2, 3]));
        f.inputs.insert("t".into(), Tensor::from_slice(&[7i64, 9]));
        f.outputs.insert("y".into(), Tensor::from_slice(&[0.25f32]).reshape(Vec::<i64>::new()));
        f.extra.insert("seed".into(), "3".into());
        let back = Fixture::from_bytes(&f.to_bytes().unwrap(), "mem").unwrap();
        assert_eq!(back.exercise, "feed_forward");
        assert_eq!(back.config["dim"], 4);
        assert!(back.config["dim_out"].is_null());
        assert_eq!(back.extra["seed"], "3");
        assert_eq!(back.params["net.0.weight"].size(), vec![2, 3]);
        assert_eq!(back.params["net.0.weight"].double_value(&[1, 0]), 4.0);
        assert_eq!(back.inputs["t"].kind(), Kind::Int64);
        assert_eq!(back.inputs["t"].int64_value(&[1]), 9);
        assert_eq!(back.outputs["y"].size(), Vec::<i64>::new());
    }

    #[test]
    fn rejects_unknown_exercise_and_garbage() {
        let f = Fixture::new("case", "flux_capacitor", serde_json::json!({}));
        let err = Fixture::from_bytes(&f.to_bytes().unwrap(), "x.safetensors").unwrap_err().to_string();
        assert!(err.contains("x.safetensors") && err.contains("flux_capacitor"), "{err}");
        let err = Fixture::from_bytes(b"not a file", "y.safetensors").unwrap_err().to_string();
        assert!(err.contains("y.safetensors"), "{err}");
    }
}
