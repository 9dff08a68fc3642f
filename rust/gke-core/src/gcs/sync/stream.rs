//! Between async transfers and the folder's blocking I/O: the download reader, the upload source.

use std::io::{self, Read};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use google_cloud_storage::streaming_source::{Seek, SizeHint, StreamingSource};

use crate::gcs::checksum::Hasher;
use crate::gcs::folder::FolderIo;

const CHUNK: usize = 1024 * 1024;

pub(super) enum Message {
    /// Pieces received, handed over together (at least [`BATCH`] bytes but for the last): the
    /// network's pieces are 8-16 KiB, and a wake-up of the writer for each costs more than it.
    Data(Vec<Bytes>),
    /// Everything was received and verified.
    End,
    Fail(String),
}

/// The blocking end of a download: the batches the async side received, then an error instead
/// of the end unless the download was verified.
pub(super) struct ChannelBatches {
    rx: tokio::sync::mpsc::Receiver<Message>,
    ended: bool,
}

/// The size of the batches of received pieces ([`Message::Data`]).
pub(super) const BATCH: usize = 256 * 1024;

impl ChannelBatches {
    pub(super) fn new(rx: tokio::sync::mpsc::Receiver<Message>) -> Self {
        Self { rx, ended: false }
    }
}

impl Iterator for ChannelBatches {
    type Item = io::Result<Vec<Bytes>>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.ended {
            return None;
        }
        let item = match self.rx.blocking_recv() {
            Some(Message::Data(pieces)) => return Some(Ok(pieces)),
            Some(Message::End) => None,
            Some(Message::Fail(reason)) => Some(Err(io::Error::other(reason))),
            None => Some(Err(io::Error::other("the download stopped"))),
        };
        self.ended = true;
        item
    }
}

pub(super) struct SourceState {
    pub(super) hasher: Hasher,
    /// Bytes already counted in the progress (a resumed upload re-sends some).
    pub(super) reported: u64,
}

/// A file of the folder as an upload payload: read in 1 MiB chunks on blocking threads,
/// hashed as it goes, capped at the size the plan saw; seekable so that a resumable upload
/// can restart from where GCS says it stopped.
pub(super) struct FolderSource {
    folder: Arc<dyn FolderIo>,
    pub(super) path: String,
    size: u64,
    offset: u64,
    /// In a mutex only to make the source `Sync`, as the client wants; never contended.
    reader: Mutex<Option<Box<dyn Read + Send>>>,
    done: Arc<AtomicU64>,
    state: Arc<Mutex<SourceState>>,
}

impl FolderSource {
    pub(super) fn new(
        folder: Arc<dyn FolderIo>,
        path: String,
        size: u64,
        done: Arc<AtomicU64>,
        state: Arc<Mutex<SourceState>>,
    ) -> Self {
        Self {
            folder,
            path,
            size,
            offset: 0,
            reader: Mutex::new(None),
            done,
            state,
        }
    }
}

impl StreamingSource for FolderSource {
    type Error = io::Error;

    async fn next(&mut self) -> Option<std::result::Result<Bytes, io::Error>> {
        if self.offset >= self.size {
            return None;
        }
        let want = CHUNK.min((self.size - self.offset) as usize);
        let folder = self.folder.clone();
        let path = self.path.clone();
        let reader = self.reader.get_mut().expect("no panics while held").take();
        let read = tokio::task::spawn_blocking(move || {
            let mut reader = match reader {
                Some(r) => r,
                None => folder.open(&path).map_err(io::Error::other)?,
            };
            let mut buf = vec![0u8; want];
            let mut filled = 0;
            while filled < want {
                let n = reader.read(&mut buf[filled..])?;
                if n == 0 {
                    return Err(io::Error::other(
                        "the file got shorter while it was being uploaded",
                    ));
                }
                filled += n;
            }
            Ok((reader, buf))
        })
        .await
        .unwrap_or_else(|e| Err(io::Error::other(e)));
        match read {
            Err(e) => Some(Err(e)),
            Ok((reader, buf)) => {
                *self.reader.get_mut().expect("no panics while held") = Some(reader);
                self.offset += buf.len() as u64;
                let mut state = self.state.lock().expect("no panics while held");
                state.hasher.update(&buf);
                if self.offset > state.reported {
                    self.done
                        .fetch_add(self.offset - state.reported, Ordering::Relaxed);
                    state.reported = self.offset;
                }
                Some(Ok(Bytes::from(buf)))
            }
        }
    }

    async fn size_hint(&self) -> std::result::Result<SizeHint, io::Error> {
        Ok(SizeHint::with_exact(self.size))
    }
}

impl Seek for FolderSource {
    type Error = io::Error;

    async fn seek(&mut self, offset: u64) -> std::result::Result<(), io::Error> {
        if offset == self.offset && self.reader.get_mut().is_ok_and(|r| r.is_some()) {
            return Ok(());
        }
        // Reopen and re-read up to `offset`, so the running CRC32C covers the whole file.
        let folder = self.folder.clone();
        let path = self.path.clone();
        let (reader, hasher) = tokio::task::spawn_blocking(move || {
            let mut reader = folder.open(&path).map_err(io::Error::other)?;
            let mut hasher = Hasher::new(false);
            let mut left = offset;
            let mut buf = vec![0u8; CHUNK];
            while left > 0 {
                let want = buf.len().min(left as usize);
                let n = reader.read(&mut buf[..want])?;
                if n == 0 {
                    return Err(io::Error::other("the file got shorter during the upload"));
                }
                hasher.update(&buf[..n]);
                left -= n as u64;
            }
            Ok::<_, io::Error>((reader, hasher))
        })
        .await
        .unwrap_or_else(|e| Err(io::Error::other(e)))?;
        *self.reader.get_mut().expect("no panics while held") = Some(reader);
        self.offset = offset;
        self.state.lock().expect("no panics while held").hasher = hasher;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gcs::folder::BatchReader;

    /// The batches of `messages` (the channel holds them all) as a folder reads them, `step`
    /// bytes at a time.
    fn read_all(messages: Vec<Message>, step: usize) -> io::Result<Vec<u8>> {
        let (tx, rx) = tokio::sync::mpsc::channel(messages.len().max(1));
        for m in messages {
            tx.try_send(m)
                .map_err(|_| io::Error::other("full"))
                .unwrap();
        }
        drop(tx);
        let mut reader = BatchReader::new(Box::new(ChannelBatches::new(rx)));
        let (mut out, mut buf) = (Vec::new(), vec![0u8; step]);
        loop {
            match reader.read(&mut buf)? {
                0 => return Ok(out),
                n => out.extend_from_slice(&buf[..n]),
            }
        }
    }

    fn pieces(texts: &[&'static str]) -> Message {
        Message::Data(
            texts
                .iter()
                .map(|t| Bytes::from_static(t.as_bytes()))
                .collect(),
        )
    }

    #[test]
    fn batches_read_back_in_order_whatever_the_read_size() {
        for step in [1, 2, 5, 64] {
            let messages = vec![
                pieces(&["ab", "", "cde"]),
                pieces(&[]),
                pieces(&["f", "ghij"]),
                Message::End,
            ];
            assert_eq!(
                read_all(messages, step).unwrap(),
                b"abcdefghij",
                "step {step}"
            );
        }
    }

    #[test]
    fn a_failed_or_stopped_download_never_ends_as_a_file() {
        let failed = vec![pieces(&["abc"]), Message::Fail("checksum".into())];
        assert_eq!(read_all(failed, 2).unwrap_err().to_string(), "checksum");
        // The sender gone without End (the download task stopped): an error, not an end.
        assert!(read_all(vec![pieces(&["abc"])], 2).is_err());
    }
}
