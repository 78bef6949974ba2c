//! Weights of a VarStore in safetensors with string metadata (the configuration
//! that built the model, the command and seed that trained it), loaded strictly.

use crate::tensors::{serialize, tensor_from_view};
use anyhow::{anyhow, bail, Context, Result};
use safetensors::SafeTensors;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use tch::nn::VarStore;

pub type Metadata = BTreeMap<String, String>;

pub fn save(vs: &VarStore, path: &Path, metadata: &Metadata) -> Result<()> {
    save_tensors(&vs.variables().into_iter().collect(), path, metadata)
}

/// Named tensors (for example an EMA's averaged weights) in the same format as `save`.
pub fn save_tensors(tensors: &BTreeMap<String, tch::Tensor>, path: &Path, metadata: &Metadata) -> Result<()> {
    let named: Vec<(String, &tch::Tensor)> = tensors.iter().map(|(k, v)| (k.clone(), v)).collect();
    let what = path.display().to_string();
    let bytes = serialize(&named, metadata.clone().into_iter().collect::<HashMap<_, _>>(), &what)?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    // Write beside, then rename: an interrupted save never leaves half a checkpoint.
    let tmp = path.with_extension("safetensors.tmp");
    std::fs::write(&tmp, bytes).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot move {} to {what}", tmp.display()))
}

pub fn read_metadata(path: &Path) -> Result<Metadata> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read checkpoint {}", path.display()))?;
    metadata_of(&bytes, &path.display().to_string())
}

fn metadata_of(bytes: &[u8], file: &str) -> Result<Metadata> {
    let (_, header) = SafeTensors::read_metadata(bytes).map_err(|e| anyhow!("{file}: not a safetensors file ({e:?})"))?;
    Ok(header.metadata().clone().unwrap_or_default().into_iter().collect())
}

/// Loads every variable of `vs` from `path`; a missing, unexpected or mis-shaped
/// name is an error naming the file and the variable. Returns the metadata.
pub fn load(vs: &VarStore, path: &Path) -> Result<Metadata> {
    let file = path.display().to_string();
    let bytes = std::fs::read(path).with_context(|| format!("cannot read checkpoint {file}"))?;
    load_bytes(vs, &bytes, &file)
}

pub fn load_bytes(vs: &VarStore, bytes: &[u8], file: &str) -> Result<Metadata> {
    let metadata = metadata_of(bytes, file)?;
    let st = SafeTensors::deserialize(bytes).map_err(|e| anyhow!("{file}: bad safetensors data ({e:?})"))?;
    let vars = vs.variables();
    let stored: BTreeMap<String, _> = st.tensors().into_iter().collect();
    if let Some(extra) = stored.keys().find(|k| !vars.contains_key(*k)) {
        bail!("{file}: unexpected tensor `{extra}` (the model has no such parameter)");
    }
    tch::no_grad(|| -> Result<()> {
        for (name, var) in &vars {
            let view = stored.get(name).ok_or_else(|| anyhow!("{file}: missing tensor `{name}`"))?;
            let t = tensor_from_view(view, file, name)?;
            if t.size() != var.size() {
                bail!("{file}: tensor `{name}` has shape {:?}, expected {:?}", t.size(), var.size());
            }
            var.shallow_clone().copy_(&t);
        }
        Ok(())
    })?;
    Ok(metadata)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::{nn, Device};

    #[test]
    fn round_trips_weights_and_metadata_and_refuses_other_shapes() {
        let dir = std::env::temp_dir().join(format!("ckpt-test-{}", std::process::id()));
        let path = dir.join("m.safetensors");
        let vs = VarStore::new(Device::Cpu);
        let _lin = nn::linear(vs.root() / "lin", 3, 2, Default::default());
        let meta: Metadata = [("config".to_string(), "{\"dim\":3}".to_string())].into();
        save(&vs, &path, &meta).unwrap();

        let other = VarStore::new(Device::Cpu);
        let _lin2 = nn::linear(other.root() / "lin", 3, 2, Default::default());
        assert_eq!(load(&other, &path).unwrap(), meta);
        let (a, b) = (vs.variables(), other.variables());
        assert!(a["lin.weight"].equal(&b["lin.weight"]) && a["lin.bias"].equal(&b["lin.bias"]));

        let wrong = VarStore::new(Device::Cpu);
        let _lin3 = nn::linear(wrong.root() / "lin", 4, 2, Default::default());
        let err = load(&wrong, &path).unwrap_err().to_string();
        assert!(err.contains("lin.weight") && err.contains("[2, 3]") && err.contains("m.safetensors"), "{err}");
        let renamed = VarStore::new(Device::Cpu);
        let _lin4 = nn::linear(renamed.root() / "proj", 3, 2, Default::default());
        assert!(load(&renamed, &path).unwrap_err().to_string().contains("unexpected tensor `lin."));
        std::fs::remove_dir_all(dir).ok();
    }
}
