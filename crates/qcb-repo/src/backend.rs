//! Where repository files live. Files are write-once: written to a temporary name, synced and
//! renamed into place, so a reader never sees half a file.

use std::fs;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// The kinds of file in a repository, each in its own folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FileKind {
    Config,
    Key,
    Pack,
    Index,
    Snapshot,
    Lock,
}

impl FileKind {
    pub fn dir(self) -> &'static str {
        match self {
            FileKind::Config => "",
            FileKind::Key => "keys",
            FileKind::Pack => "data",
            FileKind::Index => "index",
            FileKind::Snapshot => "snapshots",
            FileKind::Lock => "locks",
        }
    }
}

/// Storage for repository files. Names are lowercase hex (or `config`).
pub trait Backend: Send + Sync {
    fn location(&self) -> String;
    fn create_layout(&self) -> Result<()>;
    fn write(&self, kind: FileKind, name: &str, bytes: &[u8]) -> Result<()>;
    fn read(&self, kind: FileKind, name: &str) -> Result<Vec<u8>>;
    fn read_range(&self, kind: FileKind, name: &str, offset: u64, len: usize) -> Result<Vec<u8>>;
    fn size(&self, kind: FileKind, name: &str) -> Result<u64>;
    fn list(&self, kind: FileKind) -> Result<Vec<String>>;
    fn exists(&self, kind: FileKind, name: &str) -> Result<bool>;
    /// Removes a file. Removing a file that is already gone is not an error (another process,
    /// or an earlier interrupted run, may have removed it).
    fn delete(&self, kind: FileKind, name: &str) -> Result<()>;
}

/// A repository in a local folder.
#[derive(Debug, Clone)]
pub struct LocalBackend {
    root: PathBuf,
}

impl LocalBackend {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        LocalBackend { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    fn path(&self, kind: FileKind, name: &str) -> PathBuf {
        match kind {
            FileKind::Config => self.root.join("config"),
            // Packs fan out over 256 sub-folders so no folder grows huge.
            FileKind::Pack => self
                .root
                .join("data")
                .join(&name[..2.min(name.len())])
                .join(name),
            _ => self.root.join(kind.dir()).join(name),
        }
    }
}

pub(crate) fn check_name(kind: FileKind, name: &str) -> Result<()> {
    if is_valid_name(kind, name) {
        Ok(())
    } else {
        Err(Error::InvalidArgument(format!(
            "{name:?} is not a valid repository file name"
        )))
    }
}

/// Pack files bypass the page cache on Linux (`O_DIRECT`): a backup writes far more than
/// anyone reads back soon, and copying every byte into the cache first cost this machine more
/// CPU than AES-GCM (docs/benchmarks.md). Falls back to a buffered write where the file system
/// refuses direct I/O (tmpfs, some network file systems).
#[cfg(target_os = "linux")]
mod direct {
    use std::fs::{File, OpenOptions};
    use std::io::{ErrorKind, Write};
    use std::os::unix::fs::OpenOptionsExt;
    use std::path::Path;

    /// Direct I/O wants buffer address, file offset and length aligned to the device's logical
    /// block size: 4 KiB covers every common one.
    const ALIGN: usize = 4096;
    /// Unaligned input is copied through an aligned window of this size.
    const WINDOW: usize = 1024 * 1024;

    /// Writes `bytes` to a new file at `path` without the page cache, unsynced. `Ok(None)` when
    /// the file system does not do direct I/O: the caller then writes it the ordinary way.
    pub(super) fn write(path: &Path, bytes: &[u8]) -> std::io::Result<Option<File>> {
        let mut f = match OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .custom_flags(libc::O_DIRECT)
            .open(path)
        {
            Ok(f) => f,
            Err(e) if e.kind() == ErrorKind::InvalidInput => return Ok(None),
            Err(e) => return Err(e),
        };
        match write_aligned(&mut f, bytes) {
            Ok(()) => {
                // The last block was padded with zeros; cut the file to its real length.
                f.set_len(bytes.len() as u64)?;
                Ok(Some(f))
            }
            // Refused mid-way (an unusual block size): start again, buffered.
            Err(e) if e.kind() == ErrorKind::InvalidInput => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn write_aligned(f: &mut File, bytes: &[u8]) -> std::io::Result<()> {
        let whole = bytes.len() / ALIGN * ALIGN;
        let (body, tail) = bytes.split_at(whole);
        if body.as_ptr().addr().is_multiple_of(ALIGN) {
            f.write_all(body)?;
        } else {
            let mut scratch = vec![0u8; WINDOW + ALIGN];
            let start = aligned_start(&scratch);
            for piece in body.chunks(WINDOW) {
                let window = &mut scratch[start..start + piece.len()];
                window.copy_from_slice(piece);
                f.write_all(window)?;
            }
        }
        if !tail.is_empty() {
            let mut block = vec![0u8; 2 * ALIGN];
            let start = aligned_start(&block);
            block[start..start + tail.len()].copy_from_slice(tail);
            f.write_all(&block[start..start + ALIGN])?;
        }
        Ok(())
    }

    /// The first offset in `buf` whose address is a multiple of [`ALIGN`].
    fn aligned_start(buf: &[u8]) -> usize {
        buf.as_ptr().addr().next_multiple_of(ALIGN) - buf.as_ptr().addr()
    }

    #[cfg(test)]
    mod tests {
        #[test]
        fn aligned_and_unaligned_input_write_the_same_bytes() {
            let dir = tempfile::tempdir().unwrap();
            let data: Vec<u8> = (0..3 * super::WINDOW + 12345)
                .map(|i| (i * 7 % 251) as u8)
                .collect();
            // An aligned copy of the same bytes, to take the path without the window.
            let mut backing = vec![0u8; data.len() + super::ALIGN];
            let start = super::aligned_start(&backing);
            backing[start..start + data.len()].copy_from_slice(&data);
            let inputs = [
                &data[..],
                &data[1..],
                &backing[start..start + data.len()],
                &data[..100],
                &[][..],
            ];
            for (i, input) in inputs.iter().enumerate() {
                let path = dir.path().join(format!("f{i}"));
                match super::write(&path, input).unwrap() {
                    Some(f) => f.sync_all().unwrap(),
                    // tmpfs and the like: nothing to test here.
                    None => return,
                }
                assert_eq!(std::fs::read(&path).unwrap(), *input, "input {i}");
            }
        }
    }
}

#[cfg(not(target_os = "linux"))]
mod direct {
    /// Direct I/O is only used on Linux.
    pub(super) fn write(
        _path: &std::path::Path,
        _bytes: &[u8],
    ) -> std::io::Result<Option<std::fs::File>> {
        Ok(None)
    }
}

fn sync_dir(dir: &Path) -> Result<()> {
    fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(Error::io("sync folder", dir))
}

pub(crate) fn is_valid_name(kind: FileKind, name: &str) -> bool {
    match kind {
        FileKind::Config => name == "config",
        _ => {
            name.len() == 64
                && name
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        }
    }
}

impl Backend for LocalBackend {
    fn location(&self) -> String {
        self.root.display().to_string()
    }

    fn create_layout(&self) -> Result<()> {
        for dir in ["keys", "data", "index", "snapshots", "locks"] {
            let p = self.root.join(dir);
            fs::create_dir_all(&p).map_err(Error::io("create folder", &p))?;
        }
        Ok(())
    }

    fn write(&self, kind: FileKind, name: &str, bytes: &[u8]) -> Result<()> {
        check_name(kind, name)?;
        let path = self.path(kind, name);
        let dir = path.parent().expect("repository paths have a parent");
        if !dir.exists() {
            fs::create_dir_all(dir).map_err(Error::io("create folder", dir))?;
            // A new folder (data/xx) must itself survive a crash, or the file in it can vanish.
            if let Some(parent) = dir.parent() {
                sync_dir(parent)?;
            }
        }
        let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
        let written = (|| {
            let f = match kind {
                FileKind::Pack => direct::write(&tmp, bytes).map_err(Error::io("write", &tmp))?,
                _ => None,
            };
            let f = match f {
                Some(f) => f,
                None => {
                    let mut f = fs::File::create(&tmp).map_err(Error::io("create", &tmp))?;
                    f.write_all(bytes).map_err(Error::io("write", &tmp))?;
                    f
                }
            };
            f.sync_all().map_err(Error::io("sync", &tmp))?;
            drop(f);
            fs::rename(&tmp, &path).map_err(Error::io("rename into place", &path))
        })();
        if let Err(e) = written {
            // A full disk or a refused write must not leave the partial file taking space.
            let _ = fs::remove_file(&tmp);
            return Err(e);
        }
        // Make the rename itself durable.
        sync_dir(dir)
    }

    fn read(&self, kind: FileKind, name: &str) -> Result<Vec<u8>> {
        check_name(kind, name)?;
        let path = self.path(kind, name);
        fs::read(&path).map_err(Error::io("read", &path))
    }

    fn read_range(&self, kind: FileKind, name: &str, offset: u64, len: usize) -> Result<Vec<u8>> {
        check_name(kind, name)?;
        let path = self.path(kind, name);
        let mut f = fs::File::open(&path).map_err(Error::io("open", &path))?;
        f.seek(SeekFrom::Start(offset))
            .map_err(Error::io("seek", &path))?;
        let mut buf = vec![0u8; len];
        f.read_exact(&mut buf).map_err(|e| {
            if e.kind() == std::io::ErrorKind::UnexpectedEof {
                Error::corrupt(
                    path.display().to_string(),
                    format!("file ends before byte {}", offset + len as u64),
                )
            } else {
                Error::Io {
                    op: "read",
                    path: path.clone(),
                    source: e,
                }
            }
        })?;
        Ok(buf)
    }

    fn size(&self, kind: FileKind, name: &str) -> Result<u64> {
        check_name(kind, name)?;
        let path = self.path(kind, name);
        Ok(fs::metadata(&path).map_err(Error::io("stat", &path))?.len())
    }

    fn list(&self, kind: FileKind) -> Result<Vec<String>> {
        let dir = self.root.join(kind.dir());
        let mut out = Vec::new();
        let mut stack = vec![dir.clone()];
        while let Some(d) = stack.pop() {
            let entries = match fs::read_dir(&d) {
                Ok(e) => e,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => {
                    return Err(Error::Io {
                        op: "list",
                        path: d,
                        source: e,
                    });
                }
            };
            for entry in entries {
                let entry = entry.map_err(Error::io("list", &d))?;
                let ft = entry.file_type().map_err(Error::io("stat", entry.path()))?;
                let name = entry.file_name().to_string_lossy().into_owned();
                if ft.is_dir() && kind == FileKind::Pack && d == dir {
                    stack.push(entry.path());
                } else if ft.is_file() && is_valid_name(kind, &name) {
                    out.push(name);
                }
            }
        }
        out.sort();
        Ok(out)
    }

    fn exists(&self, kind: FileKind, name: &str) -> Result<bool> {
        check_name(kind, name)?;
        Ok(self.path(kind, name).exists())
    }

    fn delete(&self, kind: FileKind, name: &str) -> Result<()> {
        check_name(kind, name)?;
        let path = self.path(kind, name);
        match fs::remove_file(&path) {
            Ok(()) => sync_dir(path.parent().expect("repository paths have a parent")),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(Error::Io {
                op: "delete",
                path,
                source: e,
            }),
        }
    }
}
