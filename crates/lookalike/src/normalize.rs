//! Text normalisation: the policy `norm-v1`.
//!
//! Two versions of one article differ in ways a reader does not notice: curly
//! against straight quotes, an en dash against a hyphen, hard-wrapped lines,
//! a no-break space, a zero-width joiner left by a CMS. `norm-v1` folds all of
//! these so that only words and their order remain:
//!
//! 1. a project-owned fold table ([`fold_char`]): quotes U+2018–U+201F to `'`
//!    and `"`, dashes U+2010–U+2015 and U+2212 to `-`, no-break and
//!    typographic spaces to a space, zero-width characters (U+200B–U+200D,
//!    U+2060, U+FEFF) and the soft hyphen removed;
//! 2. Unicode NFKC (compatibility composition: `ﬁ` → `fi`, full-width → ASCII);
//! 3. full Unicode case folding (`Straße` → `strasse`), then NFKC again, since
//!    folding may leave text that is not in NFKC;
//! 4. the fold table once more (NFKC itself produces some of its characters,
//!    e.g. U+FE58 → U+2014) and every run of white space collapsed into one
//!    space, with none at either end, so line wrapping never matters.
//!
//! The policy is versioned ([`NORM_VERSION`]): anything persisted records it,
//! and a change to this module's output is a new version, never a silent edit.
//! The result is idempotent: normalising normalised text changes nothing (a
//! property test checks it).
//!
//! Pure-ASCII text skips the Unicode machinery: NFKC is the identity on ASCII
//! and case folding is ASCII lowercasing, so [`normalize`] takes a fast path
//! that a test checks against the full one.

use icu_casemap::CaseMapper;
use icu_normalizer::ComposingNormalizerBorrowed;

/// Name of the normalisation policy implemented here. Persisted with every
/// fingerprint so data made under another policy is refused, not misread.
pub const NORM_VERSION: &str = "norm-v1";

/// What the fold table does with one character.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fold {
    /// Keep the character as it is.
    Keep,
    /// Replace it with this ASCII character.
    To(char),
    /// Remove it.
    Drop,
    /// It is white space: part of a run collapsed into one space.
    Space,
}

/// The `norm-v1` fold table for one character (step 1 and 4 of the policy).
pub fn fold_char(c: char) -> Fold {
    match c {
        '\u{2018}'..='\u{201B}' => Fold::To('\''),
        '\u{201C}'..='\u{201F}' => Fold::To('"'),
        '\u{2010}'..='\u{2015}' | '\u{2212}' => Fold::To('-'),
        '\u{200B}'..='\u{200D}' | '\u{2060}' | '\u{FEFF}' | '\u{00AD}' => Fold::Drop,
        c if c.is_whitespace() => Fold::Space,
        _ => Fold::Keep,
    }
}

/// Normalise `text` under `norm-v1` (see the module documentation).
///
/// ```
/// use lookalike::normalize::normalize;
/// assert_eq!(normalize("  “Arming the rebels – that’s\nan option”  "),
///            "\"arming the rebels - that's an option\"");
/// ```
pub fn normalize(text: &str) -> String {
    if text.is_ascii() {
        normalize_ascii(text)
    } else {
        normalize_unicode(text)
    }
}

/// The full policy, for any text. [`normalize`] uses it for non-ASCII text;
/// it is public so tests and benchmarks can compare the two paths.
pub fn normalize_unicode(text: &str) -> String {
    let folded = fold_and_collapse(text, false);
    let nfkc = ComposingNormalizerBorrowed::new_nfkc();
    let composed = nfkc.normalize(&folded);
    let cased = CaseMapper::new().fold_string(&composed);
    let recomposed = nfkc.normalize(&cased);
    fold_and_collapse(&recomposed, true)
}

/// The policy restricted to ASCII input: lowercase and collapse white space.
pub fn normalize_ascii(text: &str) -> String {
    debug_assert!(text.is_ascii());
    let mut out = String::with_capacity(text.len());
    let mut pending_space = false;
    for b in text.bytes() {
        // ASCII white space as Unicode's White_Space property defines it.
        if matches!(b, b'\t' | b'\n' | 0x0B | 0x0C | b'\r' | b' ') {
            pending_space = !out.is_empty();
        } else {
            if pending_space {
                out.push(' ');
                pending_space = false;
            }
            out.push(b.to_ascii_lowercase() as char);
        }
    }
    out
}

/// Apply the fold table; with `collapse`, also turn white-space runs into one
/// space and trim both ends (otherwise white space is kept as it is, so that
/// NFKC sees the text's own characters).
fn fold_and_collapse(text: &str, collapse: bool) -> String {
    let mut out = String::with_capacity(text.len());
    let mut pending_space = false;
    for c in text.chars() {
        match fold_char(c) {
            Fold::Drop => {}
            Fold::Space if collapse => pending_space = !out.is_empty(),
            fold => {
                if pending_space {
                    out.push(' ');
                    pending_space = false;
                }
                out.push(match fold {
                    Fold::To(r) => r,
                    _ => c,
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn folds_what_separates_two_editions_of_an_article() {
        let a = "Mr Kerry\u{2019}s visit \u{2013} \u{201C}an option\u{201D}";
        let b = "Mr Kerry's visit - \"an option\"";
        assert_eq!(normalize(a), normalize(b));
    }

    #[test]
    fn line_wrapping_and_invisible_characters_do_not_matter() {
        let wrapped = "US Secretary of State\nis to urge\r\n\tRussia";
        let flat = "us\u{00A0}secretary of\u{200B} state is to ur\u{00AD}ge russia";
        assert_eq!(normalize(wrapped), normalize(flat));
        assert_eq!(
            normalize(wrapped),
            "us secretary of state is to urge russia"
        );
    }

    #[test]
    fn compatibility_forms_and_case_fold() {
        assert_eq!(normalize("Straße ﬁle ＡＢＣ"), "strasse file abc");
        assert_eq!(normalize("ΣΊΣΥΦΟΣ"), normalize("σίσυφος"));
    }

    #[test]
    fn nfkc_output_is_folded_too() {
        // U+FE58 SMALL EM DASH becomes U+2014 under NFKC, which the table folds.
        assert_eq!(normalize("a\u{FE58}b"), "a-b");
    }

    #[test]
    fn empty_and_blank() {
        assert_eq!(normalize(""), "");
        assert_eq!(normalize(" \n\t "), "");
        assert_eq!(normalize("\u{200B}\u{3000}"), "");
    }

    proptest! {
        #[test]
        fn idempotent(s in "\\PC*") {
            let once = normalize(&s);
            prop_assert_eq!(normalize(&once), once.clone());
        }

        #[test]
        fn idempotent_on_tricky_characters(
            s in proptest::collection::vec(prop_oneof![
                Just('\u{200D}'), Just('\u{0301}'), Just('e'), Just(' '), Just('\u{00AD}'),
                Just('\u{FE58}'), Just('\u{2011}'), Just('ẞ'), Just('\u{0345}'), Just('ΐ'),
                Just('\u{3000}'), Just('ﬃ'), Just('\u{1E9B}'), Just('\u{0323}'),
            ], 0..24).prop_map(|v| v.into_iter().collect::<String>())
        ) {
            let once = normalize(&s);
            prop_assert_eq!(normalize(&once), once.clone());
        }

        #[test]
        fn ascii_fast_path_matches_full_policy(s in "[ -~\t\n\r\x0B\x0C]*") {
            prop_assert_eq!(normalize_ascii(&s), normalize_unicode(&s));
        }
    }
}
