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
///
/// Most text is ASCII with a few other characters (a curly quote, a dash).
/// Only *islands* around non-ASCII characters go through the Unicode steps;
/// the ASCII between them is lowercased. This is exact, not an approximation:
/// all of norm-v1's steps are per character except canonical composition,
/// and composition only ever joins a character to combining characters that
/// follow it, never to an ASCII one. So an island starts one character before
/// a non-ASCII run (that character may be the base of a combining mark) and
/// ends at the first ASCII character not followed by non-ASCII. White space is
/// collapsed over the whole result at the end. A property test checks the
/// result against [`normalize_unicode`] on the whole text.
pub fn normalize(text: &str) -> String {
    if text.is_ascii() {
        return normalize_ascii(text);
    }
    let bytes = text.as_bytes();
    let mut buf = String::with_capacity(text.len() + 16);
    let mut i = 0;
    while i < bytes.len() {
        let Some(off) = bytes[i..].iter().position(|&b| b >= 0x80) else {
            push_ascii_lowercase(&mut buf, &text[i..]);
            break;
        };
        let first = i + off;
        // Include the preceding ASCII character: it may take a combining mark.
        let start = if first > i { first - 1 } else { first };
        push_ascii_lowercase(&mut buf, &text[i..start]);
        let mut end = first;
        while end < bytes.len() {
            if bytes[end] >= 0x80 {
                end += 1;
            } else if end + 1 < bytes.len() && bytes[end + 1] >= 0x80 {
                // An ASCII character right before more non-ASCII: the base of
                // what follows, so the island goes on.
                end += 1;
            } else {
                break;
            }
        }
        // `start` and `end` are on character boundaries: each is either an
        // ASCII byte's position or the end of the text.
        buf.push_str(&unicode_steps(&text[start..end]));
        i = end;
    }
    collapse_whitespace(&buf)
}

/// The full policy, for any text. [`normalize`] gives the same result faster;
/// this is the obvious reference it is tested against.
pub fn normalize_unicode(text: &str) -> String {
    collapse_whitespace(&unicode_steps(text))
}

/// Steps 1–4 of the policy except the white-space collapse.
fn unicode_steps(text: &str) -> String {
    let folded = fold_table(text);
    let nfkc = ComposingNormalizerBorrowed::new_nfkc();
    let composed = nfkc.normalize(&folded);
    let cased = CaseMapper::new().fold_string(&composed);
    let recomposed = nfkc.normalize(&cased);
    fold_table(&recomposed)
}

fn push_ascii_lowercase(buf: &mut String, ascii: &str) {
    let start = buf.len();
    buf.push_str(ascii);
    // Lowercasing ASCII bytes in place keeps the string valid UTF-8.
    buf[start..].make_ascii_lowercase();
}

/// Turn every run of white space into one space, with none at either end.
/// Runs of ASCII that is not white space are copied in bulk.
fn collapse_whitespace(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut pending_space = false;
    let mut rest = text;
    while !rest.is_empty() {
        let plain = rest
            .bytes()
            .position(|b| b >= 0x80 || is_ascii_white_space(b))
            .unwrap_or(rest.len());
        let (c, len) = if plain > 0 {
            (None, plain)
        } else {
            match rest.chars().next() {
                Some(c) => (Some(c), c.len_utf8()),
                None => break,
            }
        };
        if c.is_some_and(char::is_whitespace) {
            pending_space = !out.is_empty();
        } else {
            if pending_space {
                out.push(' ');
                pending_space = false;
            }
            out.push_str(&rest[..len]);
        }
        rest = &rest[len..];
    }
    out
}

/// ASCII white space as Unicode's White_Space property defines it.
#[inline]
fn is_ascii_white_space(b: u8) -> bool {
    matches!(b, b'\t' | b'\n' | 0x0B | 0x0C | b'\r' | b' ')
}

/// The policy restricted to ASCII input: lowercase and collapse white space,
/// in one pass over the bytes (no intermediate lowercased copy, no per-character
/// decoding). Non-ASCII input falls back to the full policy.
pub fn normalize_ascii(text: &str) -> String {
    if !text.is_ascii() {
        return normalize_unicode(text);
    }
    let mut out: Vec<u8> = Vec::with_capacity(text.len());
    let mut pending_space = false;
    for &b in text.as_bytes() {
        if is_ascii_white_space(b) {
            pending_space = !out.is_empty();
        } else {
            if pending_space {
                out.push(b' ');
                pending_space = false;
            }
            out.push(b.to_ascii_lowercase());
        }
    }
    // Only ASCII bytes were pushed.
    String::from_utf8(out).unwrap_or_default()
}

/// Apply the fold table (white space is left for [`collapse_whitespace`]).
fn fold_table(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match fold_char(c) {
            Fold::Drop => {}
            Fold::To(r) => out.push(r),
            Fold::Keep | Fold::Space => out.push(c),
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
        #![proptest_config(ProptestConfig::with_cases(2000))]

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

        #[test]
        fn island_path_matches_full_policy(s in "\\PC*") {
            prop_assert_eq!(normalize(&s), normalize_unicode(&s));
        }

        #[test]
        fn island_path_matches_full_policy_on_mixed_text(
            s in proptest::collection::vec(prop_oneof![
                4 => proptest::char::range('a', 'e'),
                2 => Just(' '), 1 => Just('\n'), 1 => Just('A'), 1 => Just('.'),
                1 => Just('\u{0301}'), 1 => Just('\u{0323}'), 1 => Just('\u{200D}'),
                1 => Just('\u{00AD}'), 1 => Just('\u{2019}'), 1 => Just('\u{00A0}'),
                1 => Just('\u{3000}'), 1 => Just('\u{1680}'), 1 => Just('\u{0085}'),
                1 => Just('ẞ'), 1 => Just('ﬁ'), 1 => Just('\u{FE58}'), 1 => Just('Å'),
                1 => Just('\u{1100}'), 1 => Just('\u{1161}'), 1 => Just('\u{11A8}'),
                1 => Just('\u{0345}'), 1 => Just('Σ'),
            ], 0..40).prop_map(|v| v.into_iter().collect::<String>())
        ) {
            prop_assert_eq!(normalize(&s), normalize_unicode(&s));
        }
    }
}
