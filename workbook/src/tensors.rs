//! Tensors to and from safetensors bytes (float32 and int64), shared by fixtures and checkpoints.

use anyhow::{bail, Result};
use safetensors::{tensor::TensorView, Dtype};
use tch::{Kind, Tensor};

pub fn dtype_of(kind: Kind) -> Result<Dtype> {
    match kind {
        Kind::Float => Ok(Dtype::F32),
        Kind::Int64 => Ok(Dtype::I64),
        other => bail!("safetensors files here hold float32 and int64 tensors, not {other:?}"),
    }
}

pub fn tensor_bytes(t: &Tensor) -> Result<Vec<u8>> {
    let flat = t.contiguous().flatten(0, -1);
    Ok(match t.kind() {
        Kind::Float => Vec::<f32>::try_from(&flat)?.iter().flat_map(|v| v.to_le_bytes()).collect(),
        Kind::Int64 => Vec::<i64>::try_from(&flat)?.iter().flat_map(|v| v.to_le_bytes()).collect(),
        other => bail!("safetensors files here hold float32 and int64 tensors, not {other:?}"),
    })
}

pub fn tensor_from_view(view: &TensorView<'_>, file: &str, key: &str) -> Result<Tensor> {
    let shape: Vec<i64> = view.shape().iter().map(|&d| d as i64).collect();
    let data = view.data();
    let t = match view.dtype() {
        Dtype::F32 => {
            let v: Vec<f32> = data.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
            Tensor::from_slice(&v)
        }
        Dtype::I64 => {
            let v: Vec<i64> = data.chunks_exact(8).map(|c| i64::from_le_bytes(c.try_into().expect("8 bytes"))).collect();
            Tensor::from_slice(&v)
        }
        other => bail!("{file}: tensor `{key}` has dtype {other:?}, expected F32 or I64"),
    };
    Ok(t.reshape(&shape))
}

/// Serialises named tensors with string metadata into safetensors bytes.
pub fn serialize(
    tensors: &[(String, &Tensor)],
    metadata: std::collections::HashMap<String, String>,
    what: &str,
) -> Result<Vec<u8>> {
    let mut owned = Vec::with_capacity(tensors.len());
    for (key, t) in tensors {
        let dtype = dtype_of(t.kind()).map_err(|e| anyhow::anyhow!("{what}: tensor `{key}`: {e}"))?;
        let shape: Vec<usize> = t.size().iter().map(|&d| d as usize).collect();
        owned.push((key.clone(), dtype, shape, tensor_bytes(t)?));
    }
    let views = owned
        .iter()
        .map(|(key, dtype, shape, data)| Ok((key.clone(), TensorView::new(*dtype, shape.clone(), data)?)))
        .collect::<std::result::Result<Vec<_>, safetensors::SafeTensorError>>()
        .map_err(|e| anyhow::anyhow!("{what}: {e:?}"))?;
    let bytes = safetensors::serialize(views, &Some(metadata)).map_err(|e| anyhow::anyhow!("{what}: {e:?}"))?;
    canonical(&bytes).map_err(|e| anyhow::anyhow!("{what}: {e}"))
}

/// The same file with its JSON header's keys sorted: safetensors writes metadata from a
/// HashMap, whose order changes from run to run; sorted, the same content gives the same bytes.
fn canonical(bytes: &[u8]) -> Result<Vec<u8>> {
    let n = u64::from_le_bytes(bytes.get(..8).ok_or_else(|| anyhow::anyhow!("short file"))?.try_into()?) as usize;
    let header: serde_json::Value = serde_json::from_slice(&bytes[8..8 + n])?;
    let mut text = serde_json::to_string(&header)?.into_bytes(); // serde_json's Map is sorted
    while text.len() % 8 != 0 {
        text.push(b' '); // the format pads the header with spaces to keep data aligned
    }
    let mut out = Vec::with_capacity(8 + text.len() + bytes.len() - 8 - n);
    out.extend_from_slice(&(text.len() as u64).to_le_bytes());
    out.extend_from_slice(&text);
    out.extend_from_slice(&bytes[8 + n..]);
    Ok(out)
}
