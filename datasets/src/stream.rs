//! Byte streams from files or memory, transparently gunzipped, with I/O and decoder errors
//! mapped to [`DataError`]s that name the file.
//!
//! Every reader here also knows an upper `bound` on how many bytes it can possibly yield: the
//! file size for raw files, and the compressed size times deflate's maximum expansion ratio for
//! gzip. Parsers cap header-driven pre-allocations at that bound, so a hostile header that claims
//! 2^40 images allocates nothing more than the data can really fill.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;

use flate2::bufread::MultiGzDecoder;

use crate::error::{DataError, Origin, Result};

/// Deflate cannot expand input by more than 1032:1 (a 258-byte match per ~2 bits); gzip adds
/// headers, so this is a safe ceiling on a gzip member's output per input byte.
pub(crate) const MAX_DEFLATE_RATIO: usize = 1032;

pub(crate) struct Stream<'a> {
    reader: Box<dyn Read + 'a>,
    /// The most bytes this stream can yield (see the module comment).
    pub bound: usize,
    pub origin: Origin,
}

fn is_gzip(head: &[u8]) -> bool {
    head.len() >= 2 && head[0] == 0x1f && head[1] == 0x8b
}

impl Stream<'static> {
    /// Opens a file, gunzipping it if it starts with the gzip magic.
    pub fn open(path: &Path) -> Result<Self> {
        let origin = Origin::new(path);
        let file = File::open(path).map_err(|e| DataError::io(&origin, e))?;
        let meta = file.metadata().map_err(|e| DataError::io(&origin, e))?;
        if meta.is_dir() {
            return Err(DataError::io(&origin, io::Error::other("is a directory, expected a file")));
        }
        let len = usize::try_from(meta.len()).unwrap_or(usize::MAX);
        let mut buf = BufReader::with_capacity(1 << 16, file);
        let head = buf.fill_buf().map_err(|e| DataError::io(&origin, e))?;
        if is_gzip(head) {
            let bound = len.saturating_mul(MAX_DEFLATE_RATIO);
            Ok(Stream { reader: Box::new(MultiGzDecoder::new(buf)), bound, origin })
        } else {
            Ok(Stream { reader: Box::new(buf), bound: len, origin })
        }
    }
}

impl<'a> Stream<'a> {
    /// Wraps bytes already in memory, gunzipping them if they start with the gzip magic.
    pub fn from_bytes(bytes: &'a [u8], origin: Origin) -> Self {
        if is_gzip(bytes) {
            let bound = bytes.len().saturating_mul(MAX_DEFLATE_RATIO);
            Stream { reader: Box::new(MultiGzDecoder::new(bytes)), bound, origin }
        } else {
            Stream { reader: Box::new(bytes), bound: bytes.len(), origin }
        }
    }

    fn map_err(&self, e: io::Error) -> DataError {
        match e.kind() {
            io::ErrorKind::UnexpectedEof => {
                DataError::truncated(&self.origin, format!("compressed stream ends early ({e})"))
            }
            io::ErrorKind::InvalidData | io::ErrorKind::InvalidInput => {
                DataError::Compressed { origin: self.origin.clone(), msg: e.to_string() }
            }
            _ => DataError::io(&self.origin, e),
        }
    }

    /// Reads as many bytes as are available up to `buf.len()`; fewer only at the end of data.
    pub fn read_full(&mut self, buf: &mut [u8]) -> Result<usize> {
        let mut filled = 0;
        while filled < buf.len() {
            match self.reader.read(&mut buf[filled..]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(self.map_err(e)),
            }
        }
        Ok(filled)
    }

    /// Fills `buf` or fails with a `Truncated` error that says what was being read.
    pub fn read_exact(&mut self, buf: &mut [u8], what: &str) -> Result<()> {
        let n = self.read_full(buf)?;
        if n < buf.len() {
            return Err(DataError::truncated(&self.origin, format!("{what}: expected {} bytes, found {n}", buf.len())));
        }
        Ok(())
    }

    /// Checks that nothing follows the data; reading to the end also makes the gzip decoder
    /// verify its CRC-32 and length trailer.
    pub fn expect_end(&mut self) -> Result<()> {
        let mut probe = [0u8; 1];
        if self.read_full(&mut probe)? != 0 {
            return Err(DataError::format(&self.origin, "unexpected bytes after the data"));
        }
        Ok(())
    }

    /// Reads exactly `len` bytes in chunks, handing each chunk to `sink`; nothing of size `len`
    /// is allocated here, so `len` may come from an unchecked header.
    pub fn read_chunks(&mut self, len: usize, what: &str, mut sink: impl FnMut(&[u8])) -> Result<()> {
        let mut chunk = vec![0u8; 1 << 16];
        let mut left = len;
        while left > 0 {
            let want = left.min(chunk.len());
            let n = self.read_full(&mut chunk[..want])?;
            sink(&chunk[..n]);
            if n < want {
                return Err(DataError::truncated(
                    &self.origin,
                    format!("{what}: header announces {len} bytes, found {}", len - left + n),
                ));
            }
            left -= n;
        }
        Ok(())
    }
}

/// Reads a whole (small or trusted-size) file into memory; the allocation is the file's real size.
pub(crate) fn read_file(path: &Path) -> Result<Vec<u8>> {
    let origin = Origin::new(path);
    if path.is_dir() {
        return Err(DataError::io(&origin, io::Error::other("is a directory, expected a file")));
    }
    std::fs::read(path).map_err(|e| DataError::io(&origin, e))
}
