//! Fingerprints kept on disk when they outgrow a memory budget.
//!
//! A deduplication run holds every document's shingle set and signature
//! until it groups them: about 1.5 KB for a 100-word document, so 10 million
//! such documents take 15 GB and 100 million would not fit on most machines.
//! [`SpillStore`] moves them into one temporary file: each document's record
//! is its signature slots then its sorted shingle hashes (little-endian), and
//! memory keeps only a 16-byte slot per document (where the record starts,
//! how many shingles, whether there is a signature) and its exact hash. The
//! LSH band keys of the run's bands × rows are computed once, when a document
//! is written, into one file per band, since bucketing reads them one band at
//! a time and a band's keys are all it needs then. A band whose (key,
//! position) pairs do not fit the budget is sorted in runs written beside
//! the band file and merged ([`SpillStore::band_buckets`]).
//!
//! Reading a record back is a positional read (`pread`), safe from many
//! threads at once: candidate pairs are checked in parallel as in memory, on
//! [`READERS`] threads of the store's own, since past the page cache each
//! read waits on the disk.
//! The operating system's page cache keeps the hot part of the file in
//! memory when there is room, and the run still finishes when there is not.
//!
//! The file and the band files live in a temporary directory (under the
//! directory the caller names) that is removed when the store is dropped.

use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::fingerprint::Fingerprint;
use crate::lsh::LshParams;
use crate::shingle::Shingles;
use crate::sketch::Signature;

/// Where one document's record sits in the file: 16 bytes, since a run
/// holds one per document.
#[derive(Debug, Clone, Copy)]
struct Slot {
    /// Offset of the record, with [`SIGNED`] set when it has a signature.
    offset: u64,
    shingles: u32,
    units: u32,
}

/// The bit of [`Slot::offset`] that says the record has a signature (no
/// file reaches 2⁶³ bytes).
const SIGNED: u64 = 1 << 63;

impl Slot {
    fn offset(&self) -> u64 {
        self.offset & !SIGNED
    }

    fn signature(&self) -> bool {
        self.offset & SIGNED != 0
    }
}

/// Fingerprints in a temporary file; see the module documentation.
#[derive(Debug)]
pub struct SpillStore {
    dir: tempfile::TempDir,
    path: PathBuf,
    writer: BufWriter<File>,
    reader: Option<File>,
    written: u64,
    slots: Vec<Slot>,
    exact: Vec<u128>,
    slots_per_signature: usize,
    lsh: LshParams,
    bands: Vec<BufWriter<File>>,
    /// Threads that read records back ([`SpillStore::reading`]).
    readers: Option<rayon::ThreadPool>,
}

/// Threads reading records back at once. More than the cores: once the file
/// outgrows the page cache, each read waits on the disk (measured: 25 M
/// documents spilled 34 GB against 19 GB of cache, and two threads kept the
/// cores half idle), and a disk serves many reads at a time.
pub const READERS: usize = 16;

impl SpillStore {
    /// A new, empty store in a fresh temporary directory under `parent`, for
    /// signatures of `slots` slots bucketed with `lsh`.
    pub fn create(parent: &Path, slots: usize, lsh: LshParams) -> Result<SpillStore> {
        let dir = tempfile::Builder::new()
            .prefix("lookalike-spill-")
            .tempdir_in(parent)
            .map_err(|e| Error::io(parent, e))?;
        let path = dir.path().join("fingerprints");
        let writer = BufWriter::with_capacity(1 << 20, create(&path)?);
        let bands = (0..lsh.bands)
            .map(|b| create(&dir.path().join(format!("band-{b}"))).map(BufWriter::new))
            .collect::<Result<Vec<_>>>()?;
        Ok(SpillStore {
            dir,
            path,
            writer,
            reader: None,
            written: 0,
            slots: Vec::new(),
            exact: Vec::new(),
            slots_per_signature: slots,
            lsh,
            bands,
            // Without its own pool, reading goes on on the caller's threads.
            readers: rayon::ThreadPoolBuilder::new()
                .num_threads(READERS)
                .thread_name(|i| format!("lookalike-spill-reader-{i}"))
                .build()
                .ok(),
        })
    }

    /// Run `f` (which reads records with rayon's parallel iterators) on the
    /// store's [`READERS`] reading threads.
    pub fn reading<R: Send>(&self, f: impl FnOnce() -> R + Send) -> R {
        match &self.readers {
            Some(pool) => pool.install(f),
            None => f(),
        }
    }

    /// Number of documents stored.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// Whether no document is stored.
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// Bytes written to the fingerprint file so far.
    pub fn bytes(&self) -> u64 {
        self.written
    }

    /// The directory holding the files (removed when the store is dropped).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Append one document's fingerprint.
    pub fn push(&mut self, f: &Fingerprint) -> Result<()> {
        if self.reader.is_some() {
            return Err(Error::Config(
                "documents cannot be added to a spill store once it is read".into(),
            ));
        }
        let mut bytes = Vec::with_capacity(
            f.signature.as_ref().map_or(0, |s| s.0.len() * 4) + f.shingles.hashes.len() * 8,
        );
        if let Some(sig) = &f.signature {
            if sig.0.len() != self.slots_per_signature {
                return Err(Error::Config(format!(
                    "signature of {} slots in a store of {}",
                    sig.0.len(),
                    self.slots_per_signature
                )));
            }
            for v in sig.0.iter() {
                bytes.extend_from_slice(&v.to_le_bytes());
            }
        }
        for h in &f.shingles.hashes {
            bytes.extend_from_slice(&h.to_le_bytes());
        }
        let too_many = |what: &str| Error::Config(format!("a document has too many {what}"));
        self.slots.push(Slot {
            offset: self.written | if f.signature.is_some() { SIGNED } else { 0 },
            shingles: u32::try_from(f.shingles.hashes.len()).map_err(|_| too_many("shingles"))?,
            units: u32::try_from(f.shingles.units).map_err(|_| too_many("words"))?,
        });
        self.exact.push(f.exact);
        self.writer
            .write_all(&bytes)
            .map_err(|e| Error::io(&self.path, e))?;
        self.written += bytes.len() as u64;
        for (band, w) in self.bands.iter_mut().enumerate() {
            // Documents without a signature get a key that is never read:
            // they take no part in LSH.
            let key = f
                .signature
                .as_ref()
                .map_or(0, |s| self.lsh.band_key(s, band));
            w.write_all(&key.to_le_bytes())
                .map_err(|e| Error::io(self.dir.path(), e))?;
        }
        Ok(())
    }

    /// Finish writing; from now on the store is read-only.
    pub fn seal(&mut self) -> Result<()> {
        if self.reader.is_some() {
            return Ok(());
        }
        self.writer.flush().map_err(|e| Error::io(&self.path, e))?;
        for w in &mut self.bands {
            w.flush().map_err(|e| Error::io(self.dir.path(), e))?;
        }
        self.reader = Some(File::open(&self.path).map_err(|e| Error::io(&self.path, e))?);
        Ok(())
    }

    /// The LSH parameters the band keys were made with.
    pub fn lsh(&self) -> LshParams {
        self.lsh
    }

    /// Exact hash of document `i`.
    pub fn exact(&self, i: usize) -> u128 {
        self.exact[i]
    }

    /// Whether document `i` has a signature (at least one word).
    pub fn has_signature(&self, i: usize) -> bool {
        self.slots[i].signature()
    }

    /// The keys in `band` of the documents at `positions` (ascending), as
    /// `(key, position)` appended to `out`. The band file is read in
    /// 1 MB pieces, so memory holds only what is kept: 16 bytes a document
    /// at most, not the file as well. Requires [`seal`](Self::seal).
    pub fn band_keys(
        &self,
        band: usize,
        positions: &[u32],
        out: &mut Vec<(u64, u32)>,
    ) -> Result<()> {
        self.band_reader(band)?.read(positions, out)
    }

    fn band_reader(&self, band: usize) -> Result<BandReader> {
        let path = self.dir.path().join(format!("band-{band}"));
        let file = File::open(&path).map_err(|e| Error::io(&path, e))?;
        Ok(BandReader {
            file: std::io::BufReader::with_capacity(1 << 20, file),
            path,
            next: 0,
        })
    }

    /// Call `each` with every bucket of `band` among the documents at
    /// `positions` (ascending): runs of equal keys, in order of key, each in
    /// order of position, exactly as sorting all `(key, position)` pairs
    /// would give them. At most `run` pairs (16 bytes each) are sorted in
    /// memory at a time; beyond that, sorted runs of `run` pairs go to files
    /// in the store's directory and are merged (12 bytes a pair on disk), so
    /// a band's memory stays within the budget whatever the corpus.
    /// Returns the number of runs written (0 when the band fit in one).
    pub fn band_buckets(
        &self,
        band: usize,
        positions: &[u32],
        run: usize,
        mut each: impl FnMut(&[(u64, u32)]) -> Result<()>,
    ) -> Result<usize> {
        let run = run.max(1);
        let mut reader = self.band_reader(band)?;
        let mut keys = Vec::with_capacity(run.min(positions.len()));
        if positions.len() <= run {
            reader.read(positions, &mut keys)?;
            keys.par_sort_unstable();
            for bucket in keys.chunk_by(|x, y| x.0 == y.0) {
                each(bucket)?;
            }
            return Ok(0);
        }
        let mut runs = Vec::new();
        for (k, piece) in positions.chunks(run).enumerate() {
            keys.clear();
            reader.read(piece, &mut keys)?;
            keys.par_sort_unstable();
            let path = self.dir.path().join(format!("band-{band}-run-{k}"));
            let mut w = BufWriter::with_capacity(1 << 20, create(&path)?);
            for &(key, pos) in &keys {
                w.write_all(&key.to_le_bytes())
                    .and_then(|()| w.write_all(&pos.to_le_bytes()))
                    .map_err(|e| Error::io(&path, e))?;
            }
            w.flush().map_err(|e| Error::io(&path, e))?;
            runs.push((path, keys.len()));
        }
        drop(keys);
        // k-way merge: the smallest head of all runs, one at a time.
        let mut heads = std::collections::BinaryHeap::new();
        let mut readers = Vec::with_capacity(runs.len());
        // Each run with the count of its pairs not read yet.
        for (r, (path, left)) in runs.iter_mut().enumerate() {
            let file = File::open(&*path).map_err(|e| Error::io(&*path, e))?;
            let mut reader = std::io::BufReader::with_capacity(1 << 20, file);
            if let Some(pair) = read_pair(&mut reader, path, left)? {
                heads.push(std::cmp::Reverse((pair, r)));
            }
            readers.push(reader);
        }
        let mut bucket: Vec<(u64, u32)> = Vec::new();
        while let Some(std::cmp::Reverse((pair, r))) = heads.pop() {
            if bucket.last().is_some_and(|last| last.0 != pair.0) {
                each(&bucket)?;
                bucket.clear();
            }
            bucket.push(pair);
            let (path, left) = &mut runs[r];
            if let Some(next) = read_pair(&mut readers[r], path, left)? {
                heads.push(std::cmp::Reverse((next, r)));
            }
        }
        if !bucket.is_empty() {
            each(&bucket)?;
        }
        for (path, _) in &runs {
            std::fs::remove_file(path).map_err(|e| Error::io(path, e))?;
        }
        Ok(runs.len())
    }

    /// Read document `i`'s fingerprint back. Requires [`seal`](Self::seal).
    pub fn get(&self, i: usize) -> Result<Fingerprint> {
        let slot = self.slots[i];
        let sig_len = if slot.signature() {
            self.slots_per_signature
        } else {
            0
        };
        let mut bytes = vec![0u8; sig_len * 4 + slot.shingles as usize * 8];
        let file = self.reader.as_ref().ok_or_else(|| {
            Error::Config("a spill store must be sealed before it is read".into())
        })?;
        read_exact_at(file, &mut bytes, slot.offset()).map_err(|e| Error::io(&self.path, e))?;
        let (sig, shingles) = bytes.split_at(sig_len * 4);
        Ok(Fingerprint {
            exact: self.exact[i],
            shingles: Shingles {
                hashes: shingles
                    .chunks_exact(8)
                    .map(|c| u64::from_le_bytes(c.try_into().unwrap_or_default()))
                    .collect(),
                units: slot.units as usize,
            },
            signature: slot.signature().then(|| {
                Signature(
                    sig.chunks_exact(4)
                        .map(|c| u32::from_le_bytes(c.try_into().unwrap_or_default()))
                        .collect(),
                )
            }),
        })
    }
}

/// Reads one band file front to back, keeping the keys asked for.
struct BandReader {
    file: std::io::BufReader<File>,
    path: PathBuf,
    /// Position of the next key in the file.
    next: u64,
}

impl BandReader {
    /// Append `(key, position)` for each of `positions` (ascending, and
    /// after any asked for before).
    fn read(&mut self, positions: &[u32], out: &mut Vec<(u64, u32)>) -> Result<()> {
        let short = |path: &Path| {
            Error::io(
                path,
                std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "band file is short"),
            )
        };
        let mut key = [0u8; 8];
        for &p in positions {
            // Skip the keys of documents not asked for.
            let skip = (u64::from(p) - self.next) * 8;
            if skip > 0 {
                let skipped = std::io::copy(&mut (&mut self.file).take(skip), &mut std::io::sink())
                    .map_err(|e| Error::io(&self.path, e))?;
                if skipped != skip {
                    return Err(short(&self.path));
                }
            }
            self.file
                .read_exact(&mut key)
                .map_err(|_| short(&self.path))?;
            out.push((u64::from_le_bytes(key), p));
            self.next = u64::from(p) + 1;
        }
        Ok(())
    }
}

/// The next `(key, position)` of a sorted run, or `None` once its `left`
/// pairs have been read. A run that ends before that (a truncated file) is
/// an error naming it, never a shorter run: pairs would be lost silently.
fn read_pair(r: &mut impl Read, path: &Path, left: &mut usize) -> Result<Option<(u64, u32)>> {
    if *left == 0 {
        return Ok(None);
    }
    let mut buf = [0u8; 12];
    match r.read_exact(&mut buf) {
        Ok(()) => {
            *left -= 1;
            let (key, pos) = buf.split_at(8);
            Ok(Some((
                u64::from_le_bytes(key.try_into().unwrap_or_default()),
                u32::from_le_bytes(pos.try_into().unwrap_or_default()),
            )))
        }
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Err(Error::io(
            path,
            std::io::Error::new(
                e.kind(),
                format!(
                    "a sorted run of the spill ended {left} pairs early: the file was cut short \
                     (a full disk?); free space where --spill-dir points and run again"
                ),
            ),
        )),
        Err(e) => Err(Error::io(path, e)),
    }
}

fn create(path: &Path) -> Result<File> {
    File::create(path).map_err(|e| Error::io(path, e))
}

#[cfg(unix)]
fn read_exact_at(file: &File, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
    std::os::unix::fs::FileExt::read_exact_at(file, buf, offset)
}

#[cfg(windows)]
fn read_exact_at(file: &File, mut buf: &mut [u8], mut offset: u64) -> std::io::Result<()> {
    while !buf.is_empty() {
        match std::os::windows::fs::FileExt::seek_read(file, buf, offset)? {
            0 => return Err(std::io::ErrorKind::UnexpectedEof.into()),
            n => {
                buf = &mut buf[n..];
                offset += n as u64;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fingerprint::Fingerprinter;

    #[test]
    fn a_sorted_run_cut_short_is_an_error_naming_it() {
        let mut bytes = Vec::new();
        for (key, pos) in [(1u64, 7u32), (5, 2), (9, 4)] {
            bytes.extend(key.to_le_bytes());
            bytes.extend(pos.to_le_bytes());
        }
        let path = Path::new("band-3-run-0");
        // Whole: three pairs, then the end.
        let mut left = 3;
        let mut r = std::io::Cursor::new(&bytes);
        let mut got = Vec::new();
        while let Some(pair) = read_pair(&mut r, path, &mut left).expect("whole run") {
            got.push(pair);
        }
        assert_eq!(got, [(1, 7), (5, 2), (9, 4)]);
        // Cut in the middle of its last pair.
        let mut left = 3;
        let mut r = std::io::Cursor::new(&bytes[..30]);
        assert!(read_pair(&mut r, path, &mut left).expect("first").is_some());
        assert!(
            read_pair(&mut r, path, &mut left)
                .expect("second")
                .is_some()
        );
        let e = read_pair(&mut r, path, &mut left)
            .expect_err("cut short")
            .to_string();
        assert!(
            e.contains("band-3-run-0") && e.contains("1 pairs early"),
            "{e}"
        );
    }

    #[test]
    fn records_come_back_as_written() {
        let fp = Fingerprinter::default();
        let lsh = LshParams { bands: 4, rows: 8 };
        let texts = [
            "the quick brown fox jumps over the lazy dog",
            "",
            "one",
            "a b c d e f g h",
        ];
        let dir = tempfile::tempdir().expect("temp dir");
        let mut store = SpillStore::create(dir.path(), 128, lsh).expect("store");
        let prints: Vec<Fingerprint> = texts.iter().map(|t| fp.fingerprint(t)).collect();
        for f in &prints {
            store.push(f).expect("push");
        }
        store.seal().expect("seal");
        for (i, f) in prints.iter().enumerate() {
            let back = store.get(i).expect("get");
            assert_eq!(back.exact, f.exact);
            assert_eq!(back.shingles, f.shingles);
            assert_eq!(back.signature, f.signature);
            assert_eq!(store.has_signature(i), f.signature.is_some());
        }
        let signed: Vec<u32> = (0..prints.len() as u32)
            .filter(|&i| prints[i as usize].signature.is_some())
            .collect();
        for band in 0..lsh.bands {
            for asked in [&signed[..], &signed[1..], &signed[..1], &[]] {
                let mut keys = Vec::new();
                store.band_keys(band, asked, &mut keys).expect("keys");
                let expected: Vec<(u64, u32)> = asked
                    .iter()
                    .map(|&i| {
                        let sig = prints[i as usize].signature.as_ref().expect("signed");
                        (lsh.band_key(sig, band), i)
                    })
                    .collect();
                assert_eq!(keys, expected);
            }
        }
        assert!(
            store.push(&prints[0]).is_err(),
            "sealed stores refuse writes"
        );
    }

    #[test]
    fn a_missing_directory_is_an_error_naming_it() {
        let err = SpillStore::create(
            Path::new("/nonexistent/lookalike"),
            128,
            LshParams { bands: 1, rows: 1 },
        )
        .expect_err("no such directory");
        assert!(err.to_string().contains("/nonexistent/lookalike"), "{err}");
    }
}
