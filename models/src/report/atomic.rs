//! Atomic file writes: readers of `roc.png` or `scores.csv` see the old file or the new one,
//! never half of one (a run killed mid-write, or a viewer polling the output folder).

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use super::error::ReportError;

/// Writes `bytes` to `path.tmp` (the full file name with `.tmp` appended), flushes it to disk,
/// then renames it over `path`. On failure the temporary file is removed.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), ReportError> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    if !dir.is_dir() {
        return Err(ReportError::MissingDir { path: path.to_path_buf(), dir: dir.to_path_buf() });
    }
    let tmp = tmp_path(path);
    let io = |what, source| ReportError::Io { path: path.to_path_buf(), what, source };
    let result = (|| {
        let mut f = fs::File::create(&tmp).map_err(|e| io("cannot create temporary file", e))?;
        f.write_all(bytes).map_err(|e| io("cannot write", e))?;
        f.sync_all().map_err(|e| io("cannot flush to disk", e))?;
        drop(f);
        fs::rename(&tmp, path).map_err(|e| io("cannot move temporary file into place", e))
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

fn tmp_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".tmp");
    PathBuf::from(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_replaces_and_leaves_no_temporary_file() {
        let dir = std::env::temp_dir().join(format!("oneclass-atomic-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let p = dir.join("a.txt");
        write_atomic(&p, b"one").unwrap();
        write_atomic(&p, b"two").unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"two");
        assert!(!tmp_path(&p).exists());
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn missing_folder_is_an_error_naming_the_path() {
        let p = Path::new("/nonexistent-oneclass-dir/sub/a.txt");
        let err = write_atomic(p, b"x").unwrap_err();
        let msg = err.to_string();
        assert!(msg.starts_with("/nonexistent-oneclass-dir/sub/a.txt: "), "{msg}");
        assert!(msg.contains("does not exist"), "{msg}");
    }
}
