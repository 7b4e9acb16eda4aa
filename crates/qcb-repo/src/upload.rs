//! A writer's packs are finished and stored on a thread of their own, so the thread that fills
//! the next pack (the backup) does not wait while the last one is encrypted, hashed and written
//! to disk or uploaded.
//!
//! One pack at a time is in the pipe: [`PackUploader::submit`] waits while the thread is still
//! storing the pack before, so memory stays bounded (one pack filling, one being stored) and
//! packs reach storage in the order they were filled. A pack counts as stored only once the
//! backend's write returned; only stored packs are ever named in an index file, which keeps the
//! repository's write order (packs, then index, then snapshot).

use std::sync::mpsc::{Receiver, SyncSender, TryRecvError, sync_channel};
use std::thread::JoinHandle;

use crate::backend::FileKind;
use crate::error::{Error, Result};
use crate::index::PackEntry;
use crate::pack::PackBuilder;
use crate::repository::Repository;

pub(crate) struct PackUploader {
    repo: Repository,
    /// Started with the first pack; `None` before, and after a failure.
    pipe: Option<Pipe>,
    /// Packs handed over and not yet reported back.
    in_flight: usize,
    /// Set once a pack could not be stored: the writer must not commit a snapshot after that.
    failed: Option<String>,
    /// The buffer of the last pack stored, for the next one to fill: allocating a new pack-sized
    /// buffer for every pack made the allocator's footprint grow with the backup.
    spare: Option<Vec<u8>>,
}

struct Pipe {
    packs: SyncSender<PackBuilder>,
    stored: Receiver<Result<(PackEntry, Vec<u8>)>>,
    thread: JoinHandle<()>,
}

impl PackUploader {
    pub(crate) fn new(repo: Repository) -> Self {
        PackUploader {
            repo,
            pipe: None,
            in_flight: 0,
            failed: None,
            spare: None,
        }
    }

    /// Hands a full pack to the upload thread, waiting while that thread still stores the pack
    /// before it. Fails if an earlier pack could not be stored.
    pub(crate) fn submit(&mut self, pack: PackBuilder) -> Result<()> {
        self.check()?;
        if self.pipe.is_none() {
            self.pipe = Some(self.start()?);
        }
        let pipe = self.pipe.as_ref().expect("started above");
        if pipe.packs.send(pack).is_err() {
            // The thread stopped: it reported why before it did.
            self.drain()?;
            return Err(self.stopped());
        }
        self.in_flight += 1;
        Ok(())
    }

    /// Packs stored since the last call, without waiting; the first failure, if any.
    pub(crate) fn stored(&mut self) -> Result<Vec<PackEntry>> {
        self.check()?;
        let mut done = Vec::new();
        while let Some(pipe) = &self.pipe {
            match pipe.stored.try_recv() {
                Ok(result) => {
                    self.in_flight -= 1;
                    done.push(self.settle(result)?);
                }
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => return Err(self.stopped()),
            }
        }
        Ok(done)
    }

    /// Waits until every pack handed over is stored; returns them in order.
    pub(crate) fn drain(&mut self) -> Result<Vec<PackEntry>> {
        self.check()?;
        let mut done = Vec::new();
        while self.in_flight > 0 {
            let pipe = self.pipe.as_ref().expect("packs in flight have a pipe");
            let Ok(result) = pipe.stored.recv() else {
                return Err(self.stopped());
            };
            self.in_flight -= 1;
            done.push(self.settle(result)?);
        }
        Ok(done)
    }

    fn start(&self) -> Result<Pipe> {
        // Rendezvous: the writer blocks on `send` until the thread is free for the next pack.
        let (packs, inbox) = sync_channel::<PackBuilder>(0);
        let (outbox, stored) = sync_channel::<Result<(PackEntry, Vec<u8>)>>(64);
        let repo = self.repo.clone();
        let thread = std::thread::Builder::new()
            .name("qcb-pack-upload".into())
            .spawn(move || {
                for pack in inbox {
                    let result = repo.store_pack(pack);
                    let failed = result.is_err();
                    if outbox.send(result).is_err() || failed {
                        // After a failure nothing more is stored: the writer is finished.
                        return;
                    }
                }
            })
            .map_err(Error::io(
                "start the pack upload thread for",
                self.repo.location(),
            ))?;
        Ok(Pipe {
            packs,
            stored,
            thread,
        })
    }

    fn settle(&mut self, result: Result<(PackEntry, Vec<u8>)>) -> Result<PackEntry> {
        match result {
            Ok((entry, buffer)) => {
                self.spare = Some(buffer);
                Ok(entry)
            }
            Err(e) => {
                self.failed = Some(e.to_string());
                self.stop();
                Err(e)
            }
        }
    }

    /// An empty pack to fill next, in the buffer of a stored one when there is one.
    pub(crate) fn next_pack(&mut self) -> PackBuilder {
        match self.spare.take() {
            Some(buffer) => PackBuilder::with_buffer(buffer),
            None => PackBuilder::new(),
        }
    }

    /// Fails once a pack could not be stored.
    pub(crate) fn check(&self) -> Result<()> {
        match &self.failed {
            Some(e) => Err(Error::InvalidArgument(format!(
                "this backup can no longer be committed: storing a pack failed earlier ({e})"
            ))),
            None => Ok(()),
        }
    }

    fn stopped(&mut self) -> Error {
        let e = "the pack upload thread stopped".to_string();
        self.failed.get_or_insert(e.clone());
        self.stop();
        Error::InvalidArgument(e)
    }

    /// Closes the pipe and waits for the thread (at most the pack it is storing).
    fn stop(&mut self) {
        if let Some(pipe) = self.pipe.take() {
            drop(pipe.packs);
            let _ = pipe.thread.join();
        }
        self.in_flight = 0;
    }
}

impl Drop for PackUploader {
    fn drop(&mut self) {
        self.stop();
    }
}

impl Repository {
    /// Encrypts, names and writes one pack; returns its index entry and its buffer.
    pub(crate) fn store_pack(&self, pack: PackBuilder) -> Result<(PackEntry, Vec<u8>)> {
        let (name, bytes, entry) = pack.finish(&self.inner.key);
        self.inner.backend.write(FileKind::Pack, &name, &bytes)?;
        Ok((entry, bytes))
    }
}
