//! Golden vectors: fixed texts → fixed fingerprints, pinned in
//! `tests/golden/fingerprints.json`. The Python package's tests read the same
//! file, so the fingerprints are the same in Rust, in Python and on Spark or
//! Ray. A change here is a change of the persisted format: it needs a new
//! fingerprint version, not an edited file. `UPDATE_SNAPSHOTS=1` rewrites the
//! file (only for a new, deliberate version).

use lookalike::fingerprint::Fingerprinter;
use lookalike::lsh::LshParams;
use serde_json::{Value, json};

const TEXTS: [&str; 4] = [
    "Kerry arrives in Moscow for talks on Syria with President Putin and Mr Lavrov.",
    "“Curly quotes” — dashes,\u{00A0}no-break spaces and ZERO\u{200B}width — fold away.",
    "Straße, café, 東京都 and ΣΊΣΥΦΟΣ: words beyond ASCII.",
    "short text",
];

fn vectors() -> Value {
    let fp = Fingerprinter::default();
    let cases: Vec<Value> = TEXTS
        .iter()
        .map(|text| {
            let f = fp.fingerprint(text);
            let sig = f.signature.as_ref().expect("every golden text has words");
            let bands = |t: f64| -> Vec<i64> {
                let p = LshParams::for_threshold(t, 128, 0.99).expect("valid threshold");
                (0..p.bands).map(|b| p.band_key(sig, b) as i64).collect()
            };
            json!({
                "text": text,
                "exact": format!("{:032x}", f.exact),
                "shingles": f.shingles.hashes.iter().map(|&h| h as i64).collect::<Vec<_>>(),
                "signature": sig.0.to_vec(),
                "band_hashes_0.4": bands(0.4),
                "band_hashes_0.8": bands(0.8),
            })
        })
        .collect();
    json!({ "settings": "defaults: norm-v1, word 5-grams, seed 0, 128 slots", "cases": cases })
}

#[test]
fn fingerprints_match_the_golden_file() {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/fingerprints.json");
    let now = vectors();
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        let text = serde_json::to_string_pretty(&now).expect("serialisable");
        std::fs::write(&path, text + "\n").expect("golden file writable");
        return;
    }
    let text = std::fs::read_to_string(&path).expect("golden file present");
    let pinned: Value = serde_json::from_str(&text).expect("golden file is JSON");
    assert_eq!(
        now, pinned,
        "fingerprints changed: this breaks every stored index and signature file"
    );
}
