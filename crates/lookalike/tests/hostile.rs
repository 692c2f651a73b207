//! Hostile input: whatever the bytes, readers and stages return a value or an
//! error, and never panic.

use lookalike::align::AlignConfig;
use lookalike::corpus::{Document, Notice, ReadOptions, Sink, Utf8Policy, read_json_lines};
use lookalike::fingerprint::Fingerprinter;
use lookalike::reuse::ReuseConfig;
use proptest::prelude::*;

struct Count(usize, usize);

impl Sink for Count {
    fn document(&mut self, _: Document) -> lookalike::Result<()> {
        self.0 += 1;
        Ok(())
    }
    fn notice(&mut self, _: Notice) {
        self.1 += 1;
    }
}

fn json_lines_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..400),
        // Mostly well-formed lines with damage: cut strings, bad escapes, NULs.
        proptest::collection::vec(
            prop_oneof![
                Just(b"{\"id\":\"a\",\"text\":\"x y z\"}\n".to_vec()),
                Just(b"{\"text\":\"\\ud800\"}\n".to_vec()),
                Just(b"{\"text\":\"\xff\xfe\"}\n".to_vec()),
                Just(b"{\"text\":\"unterminated\n".to_vec()),
                Just(b"{\"text\":null,\"id\":[1]}\n".to_vec()),
                Just(b"\x00\x00\n".to_vec()),
                Just(b"[]\n\n   \n".to_vec()),
                Just(b"{\"text\":\"\\u0000 \\\"q\\\"\",\"id\":1e400}\n".to_vec()),
            ],
            0..12
        )
        .prop_map(|v| v.concat()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    #[test]
    fn json_lines_reader_never_panics(bytes in json_lines_bytes(), skip in any::<bool>(), policy in 0u8..3) {
        let opts = ReadOptions {
            skip_invalid: skip,
            invalid_utf8: [Utf8Policy::Replace, Utf8Policy::Skip, Utf8Policy::Fail][policy as usize],
            ..ReadOptions::default()
        };
        let mut c = Count(0, 0);
        let result = read_json_lines("fuzz.jsonl", &bytes[..], &opts, &mut c);
        if let Err(e) = result {
            // Every error names the place.
            prop_assert!(e.to_string().starts_with("fuzz.jsonl"), "{}", e);
        } else if skip {
            let lines = bytes.split(|&b| b == b'\n').filter(|l| !l.iter().all(u8::is_ascii_whitespace)).count();
            // Nothing lost: every non-blank line is a document or a notice.
            prop_assert!(c.0 + c.1 >= lines, "{} documents + {} notices < {} lines", c.0, c.1, lines);
        }
    }

    #[test]
    fn stages_never_panic_on_any_text(a in "\\PC{0,300}", b in "\\PC{0,300}") {
        let f = Fingerprinter::default();
        let _ = f.fingerprint(&a);
        let al = AlignConfig { min_passage_words: 1, min_run_words: 1, dp_cells: 50, ..AlignConfig::default() }.align(&a, &b);
        for p in &al.passages {
            prop_assert!(a.get(p.a.byte_start..p.a.byte_end).is_some());
            prop_assert!(b.get(p.b.byte_start..p.b.byte_end).is_some());
        }
        let _ = ReuseConfig { min_words: 1, ..ReuseConfig::default() }.find(&[a.as_str(), b.as_str(), a.as_str()]);
        let _ = lookalike::render::html("a", &a, "b", &b, &al);
    }
}
