//! Each document's band keys as the `bands` table keeps them, and the
//! in-memory buckets rebuilt from them on open.

use std::path::Path;

use redb::{Database, ReadableDatabase, ReadableTable};

use super::buckets::BucketMap;
use super::errors::{damaged, db_err};
use super::format::BANDS;
use crate::error::Result;
use crate::lsh::LshParams;
use crate::sketch::Signature;

/// A document's band keys.
pub(super) fn keys_of(lsh: &LshParams, sig: &Signature) -> Vec<u64> {
    (0..lsh.bands).map(|band| lsh.band_key(sig, band)).collect()
}

/// Band keys packed for the `bands` table (read back by `unpack_keys`).
pub(super) fn pack_keys(keys: &[u64]) -> Vec<u8> {
    keys.iter().flat_map(|k| k.to_le_bytes()).collect()
}

pub(super) fn unpack_keys(bytes: &[u8]) -> impl Iterator<Item = u64> + '_ {
    bytes
        .chunks_exact(8)
        .map(|c| u64::from_le_bytes(c.try_into().unwrap_or([0; 8])))
}

/// The bucket map, from every document's band keys.
pub(super) fn load_buckets(db: &Database, path: &Path, band_count: usize) -> Result<BucketMap> {
    let tx = db.begin_read().map_err(|e| db_err(path, e))?;
    let bands = tx.open_table(BANDS).map_err(|e| db_err(path, e))?;
    // Streamed into the map, which sorts them by segment: a list of every
    // entry first would double the memory it takes to open.
    let mut failed = None;
    let entries = bands
        .iter()
        .map_err(|e| db_err(path, e))?
        .map_while(|r| match r {
            // A document's keys are 8 bytes for each band; any other length
            // is damage (`chunks_exact` would drop the rest silently).
            Ok((k, v)) if v.value().len() != band_count * 8 => {
                failed = Some(damaged(
                    path,
                    format!(
                        "damaged: document {} has {} bytes of band keys, not {}",
                        k.value(),
                        v.value().len(),
                        band_count * 8
                    ),
                ));
                None
            }
            Ok((k, v)) => Some((k.value(), unpack_keys(v.value()).collect::<Vec<_>>())),
            Err(e) => {
                failed = Some(db_err(path, e));
                None
            }
        })
        .flat_map(|(n, keys)| keys.into_iter().map(move |key| (key, n)));
    let map = BucketMap::from_entries(entries);
    match failed {
        Some(e) => Err(e),
        None => Ok(map),
    }
}
