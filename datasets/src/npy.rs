//! NumPy `.npy` arrays, format versions 1–3: the magic `\x93NUMPY`, a version, a header length
//! (u16 in v1, u32 in v2/v3), a Python dict literal `{'descr': '<f8', 'fortran_order': False,
//! 'shape': (n, d), }`, then the raw data. Supported dtypes: f64, f32, i64, i32, i16, u8, bool, in
//! either byte order. Fortran-order arrays (ADBench stores every `X` that way) are transposed
//! to C order on load, so callers always see row-major data.

use crate::error::{DataError, Origin, Result};

/// The element types we read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DType {
    F64,
    F32,
    I64,
    I32,
    I16,
    U8,
    Bool,
}

impl DType {
    fn size(self) -> usize {
        match self {
            DType::F64 | DType::I64 => 8,
            DType::F32 | DType::I32 => 4,
            DType::I16 => 2,
            DType::U8 | DType::Bool => 1,
        }
    }
}

/// An array in C (row-major) order, its elements widened to f64 (exact for every supported dtype
/// except i64 beyond 2^53, which no label or feature here comes near).
#[derive(Clone, Debug, PartialEq)]
pub struct NpyArray {
    pub dtype: DType,
    pub shape: Vec<usize>,
    pub data: Vec<f64>,
}

fn bad(origin: &Origin, msg: impl Into<String>) -> DataError {
    DataError::format(origin, format!("bad .npy data: {}", msg.into()))
}

/// The three header fields we need.
struct Header {
    descr: String,
    fortran: bool,
    shape: Vec<usize>,
}

/// Parses the header's dict literal. Only the subset `np.save` writes is accepted: string keys,
/// and values that are a string, `True`/`False`, or a tuple of integers.
fn parse_header(text: &str, origin: &Origin) -> Result<Header> {
    let s = text.trim();
    let inner =
        s.strip_prefix('{').and_then(|s| s.strip_suffix('}')).ok_or_else(|| bad(origin, "header is not a dict"))?;
    let (mut descr, mut fortran, mut shape) = (None, None, None);
    let mut rest = inner.trim_start();
    while !rest.is_empty() {
        let (key, after) = take_string(rest).ok_or_else(|| bad(origin, "header key is not a string"))?;
        let after = after.trim_start().strip_prefix(':').ok_or_else(|| bad(origin, "missing ':' in header"))?;
        let after = after.trim_start();
        rest = match key.as_str() {
            "descr" => {
                let (v, a) = take_string(after).ok_or_else(|| {
                    bad(origin, "descr is not a simple type string (structured dtypes are not supported)")
                })?;
                descr = Some(v);
                a
            }
            "fortran_order" => {
                if let Some(a) = after.strip_prefix("True") {
                    fortran = Some(true);
                    a
                } else if let Some(a) = after.strip_prefix("False") {
                    fortran = Some(false);
                    a
                } else {
                    return Err(bad(origin, "fortran_order is neither True nor False"));
                }
            }
            "shape" => {
                let body = after.strip_prefix('(').ok_or_else(|| bad(origin, "shape is not a tuple"))?;
                let close = body.find(')').ok_or_else(|| bad(origin, "shape tuple is not closed"))?;
                let mut dims = Vec::new();
                for part in body[..close].split(',').map(str::trim).filter(|p| !p.is_empty()) {
                    let part = part.strip_suffix('L').unwrap_or(part);
                    dims.push(part.parse::<usize>().map_err(|_| bad(origin, format!("shape entry {part:?}")))?);
                }
                shape = Some(dims);
                &body[close + 1..]
            }
            other => return Err(bad(origin, format!("unexpected header key {other:?}"))),
        };
        rest = rest.trim_start();
        rest = rest.strip_prefix(',').unwrap_or(rest).trim_start();
    }
    match (descr, fortran, shape) {
        (Some(descr), Some(fortran), Some(shape)) => Ok(Header { descr, fortran, shape }),
        _ => Err(bad(origin, "header lacks descr, fortran_order or shape")),
    }
}

/// A quoted Python string (no escapes occur in these headers); returns it and the rest.
fn take_string(s: &str) -> Option<(String, &str)> {
    let q = s.chars().next().filter(|&c| c == '\'' || c == '"')?;
    let body = &s[1..];
    let end = body.find(q)?;
    Some((body[..end].to_string(), &body[end + 1..]))
}

/// `<f8` → (F64, little-endian). `|` means byte order does not apply; `=` is native.
fn parse_descr(d: &str, origin: &Origin) -> Result<(DType, bool)> {
    let (order, code) = match d.chars().next() {
        Some(c @ ('<' | '>' | '|' | '=')) => (c, &d[1..]),
        _ => ('|', d),
    };
    let dtype = match code {
        "f8" => DType::F64,
        "f4" => DType::F32,
        "i8" => DType::I64,
        "i4" => DType::I32,
        "i2" => DType::I16,
        "u1" => DType::U8,
        "b1" => DType::Bool,
        _ => return Err(bad(origin, format!("dtype {d:?} is not supported (f64, f32, i64, i32, i16, u8, bool are)"))),
    };
    let big = order == '>' || (order == '=' && cfg!(target_endian = "big"));
    Ok((dtype, big))
}

/// Parses a whole `.npy` file held in memory.
pub fn parse_npy(b: &[u8], origin: &Origin) -> Result<NpyArray> {
    if b.len() < 8 || &b[..6] != b"\x93NUMPY" {
        if b.len() < 8 && b"\x93NUMPY".starts_with(&b[..b.len().min(6)]) {
            return Err(DataError::truncated(origin, ".npy header is cut short"));
        }
        return Err(bad(origin, "missing the \\x93NUMPY magic"));
    }
    let (major, minor) = (b[6], b[7]);
    let (len_bytes, utf8) = match major {
        1 => (2, false),
        2 => (4, false),
        3 => (4, true),
        _ => return Err(bad(origin, format!("format version {major}.{minor} is not supported (1-3 are)"))),
    };
    let hl_end = 8 + len_bytes;
    let hl = b.get(8..hl_end).ok_or_else(|| DataError::truncated(origin, ".npy header is cut short"))?;
    let header_len = if len_bytes == 2 {
        u16::from_le_bytes([hl[0], hl[1]]) as usize
    } else {
        u32::from_le_bytes([hl[0], hl[1], hl[2], hl[3]]) as usize
    };
    let data_start = hl_end
        .checked_add(header_len)
        .filter(|&e| e <= b.len())
        .ok_or_else(|| DataError::truncated(origin, ".npy header is cut short"))?;
    let raw = &b[hl_end..data_start];
    let text = if utf8 {
        std::str::from_utf8(raw).map_err(|_| bad(origin, "header is not UTF-8"))?.to_string()
    } else {
        // v1/v2 headers are latin-1; anything non-ASCII is bogus for the keys we read anyway.
        raw.iter().map(|&c| c as char).collect()
    };
    let h = parse_header(&text, origin)?;
    let (dtype, big) = parse_descr(&h.descr, origin)?;
    let count = h
        .shape
        .iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d))
        .ok_or_else(|| bad(origin, format!("shape {:?} overflows", h.shape)))?;
    let nbytes = count.checked_mul(dtype.size()).ok_or_else(|| bad(origin, "data size overflows"))?;
    let body = &b[data_start..];
    if body.len() < nbytes {
        return Err(DataError::truncated(
            origin,
            format!("shape {:?} of {:?} needs {nbytes} data bytes, found {}", h.shape, h.descr, body.len()),
        ));
    }
    if body.len() > nbytes {
        return Err(bad(origin, format!("{} bytes after the data", body.len() - nbytes)));
    }
    // `count` is now backed by real bytes, so allocating it is safe.
    let data = decode(body, dtype, big, origin)?;
    let data = if h.fortran && h.shape.len() > 1 { fortran_to_c(&data, &h.shape) } else { data };
    Ok(NpyArray { dtype, shape: h.shape, data })
}

fn decode(body: &[u8], dtype: DType, big: bool, origin: &Origin) -> Result<Vec<f64>> {
    macro_rules! conv {
        ($t:ty, $n:expr) => {
            body.chunks_exact($n)
                .map(|c| {
                    let a: [u8; $n] = c.try_into().unwrap_or([0; $n]);
                    (if big { <$t>::from_be_bytes(a) } else { <$t>::from_le_bytes(a) }) as f64
                })
                .collect()
        };
    }
    Ok(match dtype {
        DType::F64 => conv!(f64, 8),
        DType::F32 => conv!(f32, 4),
        DType::I64 => conv!(i64, 8),
        DType::I32 => conv!(i32, 4),
        DType::I16 => conv!(i16, 2),
        DType::U8 => body.iter().map(|&v| v as f64).collect(),
        DType::Bool => {
            if let Some(i) = body.iter().position(|&v| v > 1) {
                return Err(bad(origin, format!("bool element {i} has byte value {}", body[i])));
            }
            body.iter().map(|&v| v as f64).collect()
        }
    })
}

/// Reorders column-major data of `shape` into row-major order.
fn fortran_to_c(src: &[f64], shape: &[usize]) -> Vec<f64> {
    if let [n, d] = *shape {
        // The common case (ADBench's X): a plain transpose, row by row.
        let mut out = Vec::with_capacity(src.len());
        for i in 0..n {
            out.extend((0..d).map(|j| src[j * n + i]));
        }
        return out;
    }
    // General case: walk the C-order index like an odometer, tracking the Fortran offset.
    let nd = shape.len();
    let mut fstride = vec![1usize; nd];
    for k in 1..nd {
        fstride[k] = fstride[k - 1] * shape[k - 1];
    }
    let mut idx = vec![0usize; nd];
    let mut off = 0usize;
    let mut out = Vec::with_capacity(src.len());
    for _ in 0..src.len() {
        out.push(src[off]);
        for k in (0..nd).rev() {
            idx[k] += 1;
            off += fstride[k];
            if idx[k] < shape[k] {
                break;
            }
            off -= fstride[k] * shape[k];
            idx[k] = 0;
        }
    }
    out
}
