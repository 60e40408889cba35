//! Named tensors in the safetensors format (8-byte little-endian header length, a JSON header,
//! then the raw little-endian data), readable by the reference `safetensors` libraries.
//!
//! Loading trusts nothing in the file: the header length is bounded before anything is
//! allocated, and every tensor's offsets must tile the data buffer exactly and match its shape.

use crate::{Device, Error, Result, Tensor};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Same cap as the reference implementation: a larger header is rejected unread.
pub const MAX_HEADER_BYTES: u64 = 100_000_000;

/// What a file holds: tensors in file order, and the free-form string metadata.
#[derive(Debug, Default)]
pub struct Loaded {
    pub tensors: Vec<(String, Tensor)>,
    pub metadata: BTreeMap<String, String>,
}

impl Loaded {
    pub fn get(&self, name: &str) -> Option<&Tensor> {
        self.tensors.iter().find(|(n, _)| n == name).map(|(_, t)| t)
    }
}

/// Serialises tensors and metadata to bytes.
pub fn to_bytes(tensors: &[(&str, &Tensor)], metadata: &BTreeMap<String, String>) -> Result<Vec<u8>> {
    let mut header = Map::new();
    if !metadata.is_empty() {
        let m: Map<String, Value> = metadata.iter().map(|(k, v)| (k.clone(), Value::String(v.clone()))).collect();
        header.insert("__metadata__".into(), Value::Object(m));
    }
    let mut offset = 0usize;
    for (name, t) in tensors {
        if *name == "__metadata__" || header.contains_key(*name) {
            return Err(Error::invalid("safetensors", format!("duplicate or reserved tensor name {name:?}")));
        }
        let bytes = t.numel() * 4;
        let mut entry = Map::new();
        entry.insert("dtype".into(), Value::String("F32".into()));
        entry.insert("shape".into(), Value::Array(t.dims().iter().map(|&d| Value::from(d)).collect()));
        entry.insert("data_offsets".into(), Value::Array(vec![Value::from(offset), Value::from(offset + bytes)]));
        header.insert((*name).to_string(), Value::Object(entry));
        offset += bytes;
    }
    let mut json = serde_json::to_vec(&Value::Object(header)).expect("a JSON map always serialises");
    // Pad so the data starts 8-byte aligned, as the reference writer does.
    while !(json.len() + 8).is_multiple_of(8) {
        json.push(b' ');
    }
    let mut out = Vec::with_capacity(8 + json.len() + offset);
    out.extend_from_slice(&(json.len() as u64).to_le_bytes());
    out.extend_from_slice(&json);
    for (_, t) in tensors {
        for v in t.to_vec() {
            out.extend_from_slice(&v.to_le_bytes());
        }
    }
    Ok(out)
}

/// Writes atomically: a temporary file beside `path`, then a rename, so a crash never leaves a
/// half-written file under the real name.
pub fn save(path: &Path, tensors: &[(&str, &Tensor)], metadata: &BTreeMap<String, String>) -> Result<()> {
    let bytes = to_bytes(tensors, metadata)?;
    write_atomic(path, &bytes)
}

/// Writes `bytes` to `path` through a temporary file and a rename.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let io = |source| Error::Io { path: path.to_path_buf(), source };
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let mut f = std::fs::File::create(&tmp).map_err(io)?;
    f.write_all(bytes).map_err(io)?;
    f.sync_all().map_err(io)?;
    drop(f);
    std::fs::rename(&tmp, path).map_err(io)
}

pub fn load(path: &Path, device: Device) -> Result<Loaded> {
    let bytes = std::fs::read(path).map_err(|source| Error::Io { path: path.to_path_buf(), source })?;
    from_bytes(&bytes, device).map_err(|e| match e {
        Error::Invalid { msg, .. } => {
            Error::File { path: path.to_path_buf(), msg: format!("unreadable or unsupported safetensors file ({msg})") }
        }
        other => other,
    })
}

fn bad(msg: impl Into<String>) -> Error {
    Error::invalid("safetensors", msg)
}

/// Parses a whole safetensors file held in memory.
pub fn from_bytes(bytes: &[u8], device: Device) -> Result<Loaded> {
    if bytes.len() < 8 {
        return Err(bad("file shorter than the 8-byte header length"));
    }
    let n = u64::from_le_bytes(bytes[..8].try_into().expect("8 bytes"));
    if n > MAX_HEADER_BYTES {
        return Err(bad(format!("header of {n} bytes exceeds the {MAX_HEADER_BYTES}-byte limit")));
    }
    if n > (bytes.len() - 8) as u64 {
        return Err(bad(format!("header of {n} bytes but only {} bytes follow", bytes.len() - 8)));
    }
    let n = n as usize;
    let header: Value =
        serde_json::from_slice(&bytes[8..8 + n]).map_err(|e| bad(format!("header is not valid JSON: {e}")))?;
    let Value::Object(header) = header else { return Err(bad("header is not a JSON object")) };
    let data = &bytes[8 + n..];

    let mut metadata = BTreeMap::new();
    let mut entries = Vec::new();
    for (name, v) in header {
        if name == "__metadata__" {
            let Value::Object(m) = v else { return Err(bad("__metadata__ is not an object")) };
            for (k, v) in m {
                let Value::String(s) = v else { return Err(bad(format!("metadata {k:?} is not a string"))) };
                metadata.insert(k, s);
            }
            continue;
        }
        entries.push(parse_entry(&name, &v)?);
    }
    // Offsets must tile the buffer: sorted by start, each begins where the last ended.
    entries.sort_by_key(|e| e.begin);
    let mut expected = 0usize;
    for e in &entries {
        if e.begin != expected {
            return Err(bad(format!(
                "tensor {:?} starts at byte {} but the previous data ends at {expected}",
                e.name, e.begin
            )));
        }
        expected = e.end;
    }
    if expected != data.len() {
        return Err(bad(format!("tensors cover {expected} bytes but the data buffer holds {}", data.len())));
    }
    let mut tensors = Vec::with_capacity(entries.len());
    for e in entries {
        let vals: Vec<f32> =
            data[e.begin..e.end].chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().expect("4 bytes"))).collect();
        tensors.push((e.name, Tensor::from_vec(vals, &e.shape, device)?));
    }
    Ok(Loaded { tensors, metadata })
}

struct Entry {
    name: String,
    shape: Vec<usize>,
    begin: usize,
    end: usize,
}

fn parse_entry(name: &str, v: &Value) -> Result<Entry> {
    let Value::Object(o) = v else { return Err(bad(format!("entry {name:?} is not an object"))) };
    let dtype = o.get("dtype").and_then(Value::as_str).ok_or_else(|| bad(format!("{name:?} has no dtype")))?;
    if dtype != "F32" {
        return Err(bad(format!("{name:?} has dtype {dtype}; only F32 is supported")));
    }
    let shape = o
        .get("shape")
        .and_then(Value::as_array)
        .ok_or_else(|| bad(format!("{name:?} has no shape")))?
        .iter()
        .map(|d| {
            d.as_u64()
                .and_then(|d| usize::try_from(d).ok())
                .ok_or_else(|| bad(format!("{name:?} has a bad dimension {d}")))
        })
        .collect::<Result<Vec<usize>>>()?;
    let offs =
        o.get("data_offsets").and_then(Value::as_array).ok_or_else(|| bad(format!("{name:?} has no data_offsets")))?;
    let off = |i: usize| -> Result<usize> {
        offs.get(i)
            .and_then(Value::as_u64)
            .and_then(|x| usize::try_from(x).ok())
            .ok_or_else(|| bad(format!("{name:?} has bad data_offsets")))
    };
    if offs.len() != 2 {
        return Err(bad(format!("{name:?} needs exactly two data_offsets")));
    }
    let (begin, end) = (off(0)?, off(1)?);
    let bytes = shape
        .iter()
        .try_fold(4usize, |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| bad(format!("{name:?}: shape {shape:?} overflows")))?;
    if end < begin || end - begin != bytes {
        return Err(bad(format!(
            "{name:?}: shape {shape:?} needs {bytes} bytes but data_offsets give [{begin}, {end})"
        )));
    }
    Ok(Entry { name: name.to_string(), shape, begin, end })
}
