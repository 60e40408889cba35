//! A small reader for zip archives held in memory (what NumPy's `.npz` files are): the central
//! directory is the authority on names, sizes and offsets (the local headers may carry zeros
//! plus a data descriptor, or zip64 placeholders, as `np.savez` writes them). Members may be
//! stored or deflated; zip64 sizes and offsets are understood. Every offset and size is checked
//! against the archive's real length before use, and no allocation is sized by a header field
//! without a bound: a member's output is capped by deflate's maximum expansion of its real
//! compressed bytes.

use std::io::Read;

use flate2::bufread::DeflateDecoder;

use crate::error::{DataError, Origin, Result};
use crate::stream::MAX_DEFLATE_RATIO;

const EOCD_SIG: u32 = 0x0605_4b50;
const EOCD64_LOCATOR_SIG: u32 = 0x0706_4b50;
const EOCD64_SIG: u32 = 0x0606_4b50;
const CENTRAL_SIG: u32 = 0x0201_4b50;
const LOCAL_SIG: u32 = 0x0403_4b50;

/// One member of an archive, its compressed bytes borrowed from the archive.
#[derive(Debug, Clone)]
pub struct ZipEntry<'a> {
    pub name: String,
    method: u16,
    crc32: u32,
    uncompressed_size: u64,
    data: &'a [u8],
}

/// Little-endian reads that fail instead of panicking when out of bounds.
struct Cursor<'a> {
    b: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn at(b: &'a [u8], pos: usize) -> Self {
        Cursor { b, pos }
    }
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.pos.checked_add(n)?;
        let s = self.b.get(self.pos..end)?;
        self.pos = end;
        Some(s)
    }
    fn u16(&mut self) -> Option<u16> {
        self.take(2).map(|s| u16::from_le_bytes([s[0], s[1]]))
    }
    fn u32(&mut self) -> Option<u32> {
        self.take(4).map(|s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
    }
    fn u64(&mut self) -> Option<u64> {
        self.take(8).map(|s| u64::from_le_bytes(s.try_into().unwrap_or([0; 8])))
    }
}

fn corrupt(origin: &Origin, msg: impl std::fmt::Display) -> DataError {
    DataError::format(origin, format!("corrupt zip archive: {msg}"))
}

fn to_usize(v: u64, origin: &Origin, what: &str) -> Result<usize> {
    usize::try_from(v).map_err(|_| corrupt(origin, format!("{what} {v} is too large")))
}

/// Finds the end-of-central-directory record: the last signature whose comment length fits.
fn find_eocd(b: &[u8]) -> Option<usize> {
    if b.len() < 22 {
        return None;
    }
    let lowest = (b.len() - 22).saturating_sub(0xffff);
    (lowest..=b.len() - 22).rev().find(|&p| {
        let mut c = Cursor::at(b, p);
        c.u32() == Some(EOCD_SIG) && {
            c.pos = p + 20;
            c.u16().is_some_and(|cl| p + 22 + cl as usize <= b.len())
        }
    })
}

/// Lists the members of an archive.
pub fn zip_entries<'a>(b: &'a [u8], origin: &Origin) -> Result<Vec<ZipEntry<'a>>> {
    let eocd = find_eocd(b).ok_or_else(|| corrupt(origin, "no end-of-central-directory record"))?;
    let mut c = Cursor::at(b, eocd + 10);
    let short = || corrupt(origin, "end record is cut short");
    let mut total = c.u16().ok_or_else(short)? as u64;
    let mut cd_size = c.u32().ok_or_else(short)? as u64;
    let mut cd_offset = c.u32().ok_or_else(short)? as u64;
    if total == 0xffff || cd_size == 0xffff_ffff || cd_offset == 0xffff_ffff {
        // zip64: a locator sits just before the end record and points at the zip64 end record.
        let loc = eocd.checked_sub(20).ok_or_else(|| corrupt(origin, "zip64 locator missing"))?;
        let mut c = Cursor::at(b, loc);
        if c.u32() != Some(EOCD64_LOCATOR_SIG) {
            return Err(corrupt(origin, "zip64 locator missing"));
        }
        c.pos += 4;
        let rec = to_usize(c.u64().ok_or_else(short)?, origin, "zip64 end record offset")?;
        let mut c = Cursor::at(b, rec);
        if c.u32() != Some(EOCD64_SIG) {
            return Err(corrupt(origin, "zip64 end record missing"));
        }
        c.pos = rec + 32;
        total = c.u64().ok_or_else(short)?;
        cd_size = c.u64().ok_or_else(short)?;
        cd_offset = c.u64().ok_or_else(short)?;
    }
    let cd_start = to_usize(cd_offset, origin, "central directory offset")?;
    let cd_end = cd_start
        .checked_add(to_usize(cd_size, origin, "central directory size")?)
        .filter(|&e| e <= b.len())
        .ok_or_else(|| corrupt(origin, "central directory lies outside the file"))?;

    let mut entries = Vec::new();
    let mut c = Cursor::at(&b[..cd_end], cd_start);
    for i in 0..total {
        let bad = |what: &str| corrupt(origin, format!("central directory entry {i}: {what}"));
        if c.u32() != Some(CENTRAL_SIG) {
            return Err(bad("bad signature"));
        }
        let fixed = c.take(42).ok_or_else(|| bad("cut short"))?;
        let mut f = Cursor::at(fixed, 0);
        let (_made, _needed, flags, method) = (f.u16(), f.u16(), f.u16().unwrap_or(0), f.u16().unwrap_or(0));
        f.pos = 12;
        let crc32 = f.u32().unwrap_or(0);
        let mut csize = f.u32().unwrap_or(0) as u64;
        let mut usize_ = f.u32().unwrap_or(0) as u64;
        let name_len = f.u16().unwrap_or(0) as usize;
        let extra_len = f.u16().unwrap_or(0) as usize;
        let comment_len = f.u16().unwrap_or(0) as usize;
        f.pos = 38;
        let mut offset = f.u32().unwrap_or(0) as u64;
        let name = c.take(name_len).ok_or_else(|| bad("name cut short"))?;
        let name = String::from_utf8_lossy(name).into_owned();
        let extra = c.take(extra_len).ok_or_else(|| bad("extra field cut short"))?;
        c.take(comment_len).ok_or_else(|| bad("comment cut short"))?;
        // zip64 extended information: the 8-byte values replace the 0xffffffff placeholders, in order.
        let mut e = Cursor::at(extra, 0);
        while let (Some(id), Some(len)) = (e.u16(), e.u16()) {
            let body = e.take(len as usize).ok_or_else(|| bad("extra field cut short"))?;
            if id == 0x0001 {
                let mut z = Cursor::at(body, 0);
                for v in [&mut usize_, &mut csize, &mut offset] {
                    if *v == 0xffff_ffff {
                        *v = z.u64().ok_or_else(|| bad("zip64 field cut short"))?;
                    }
                }
            }
        }
        if flags & 1 != 0 {
            return Err(corrupt(origin, format!("member {name} is encrypted")));
        }
        // The local header repeats the name and may have its own extra field: skip both.
        let lo = to_usize(offset, origin, "local header offset")?;
        let mut l = Cursor::at(b, lo);
        if l.u32() != Some(LOCAL_SIG) {
            return Err(corrupt(origin, format!("member {name}: bad local header")));
        }
        l.pos = lo + 26;
        let (ln, le) = match (l.u16(), l.u16()) {
            (Some(n), Some(e)) => (n as usize, e as usize),
            _ => return Err(corrupt(origin, format!("member {name}: local header cut short"))),
        };
        l.take(ln + le).ok_or_else(|| corrupt(origin, format!("member {name}: local header cut short")))?;
        let csize = to_usize(csize, origin, "compressed size")?;
        let data = l.take(csize).ok_or_else(|| {
            DataError::truncated(origin, format!("zip member {name}: compressed data runs past the end of the file"))
        })?;
        entries.push(ZipEntry { name, method, crc32, uncompressed_size: usize_, data });
    }
    Ok(entries)
}

impl ZipEntry<'_> {
    /// Decompresses the member and checks its size and CRC-32.
    pub fn read(&self, origin: &Origin) -> Result<Vec<u8>> {
        let name = &self.name;
        let size = to_usize(self.uncompressed_size, origin, "uncompressed size")?;
        let out = match self.method {
            0 => {
                if self.data.len() != size {
                    return Err(corrupt(origin, format!("stored member {name}: sizes disagree")));
                }
                self.data.to_vec()
            }
            8 => {
                let cap = self.data.len().saturating_mul(MAX_DEFLATE_RATIO).saturating_add(1024);
                if size > cap {
                    return Err(corrupt(
                        origin,
                        format!("member {name} claims {size} bytes from {} compressed", self.data.len()),
                    ));
                }
                let mut out = Vec::with_capacity(size);
                DeflateDecoder::new(self.data)
                    .take(size as u64 + 1)
                    .read_to_end(&mut out)
                    .map_err(|e| corrupt(origin, format!("member {name}: {e}")))?;
                if out.len() != size {
                    return Err(corrupt(
                        origin,
                        format!("member {name} inflates to {} bytes, its header says {size}", out.len()),
                    ));
                }
                out
            }
            m => {
                return Err(corrupt(
                    origin,
                    format!("member {name} uses compression method {m} (only stored and deflate are supported)"),
                ))
            }
        };
        let mut crc = flate2::Crc::new();
        crc.update(&out);
        if crc.sum() != self.crc32 {
            return Err(corrupt(origin, format!("member {name} fails its CRC-32 check")));
        }
        Ok(out)
    }
}
