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
    let mut out = String::new();
    normalize_into(text, &mut out);
    out
}

/// [`normalize`] into `out` (cleared first), reusing its allocation: the
/// fingerprinter normalises millions of documents through one buffer per
/// thread.
///
/// Most text is ASCII with a few other characters (a curly quote, a dash).
/// Only *islands* around non-ASCII characters go through the Unicode steps;
/// the ASCII between them is lowercased. This is exact, not an approximation:
/// all of norm-v1's steps are per character except canonical composition,
/// and composition only ever joins a character to combining characters that
/// follow it, never to an ASCII one. So an island starts one character before
/// a non-ASCII run (that character may be the base of a combining mark) and
/// ends at the first ASCII character not followed by non-ASCII. White space is
/// collapsed while writing, in the same pass. Short islands repeat endlessly
/// (a letter and a curly apostrophe), so their results are remembered per
/// thread (`island_steps`). A property test checks the result against
/// [`normalize_unicode`] on the whole text.
pub fn normalize_into(text: &str, out: &mut String) {
    let mut w = Collapser::new(std::mem::take(out).into_bytes());
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let Some(off) = first_non_ascii(&bytes[i..]) else {
            w.push_ascii(&bytes[i..]);
            break;
        };
        let first = i + off;
        // Include the preceding ASCII character: it may take a combining mark.
        let start = if first > i { first - 1 } else { first };
        w.push_ascii(&bytes[i..start]);
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
        island_steps(&text[start..end], |folded| w.push_str(folded));
        i = end;
    }
    *out = w.finish();
}

/// Position of the first byte of `bytes` that is not ASCII, looking at
/// eight bytes at a time (their top bits).
fn first_non_ascii(bytes: &[u8]) -> Option<usize> {
    const TOP: u64 = 0x8080_8080_8080_8080;
    let mut words = bytes.chunks_exact(8);
    let mut at = 0;
    for w in &mut words {
        let mut eight = [0u8; 8];
        eight.copy_from_slice(w);
        let top = u64::from_le_bytes(eight) & TOP;
        if top != 0 {
            return Some(at + top.trailing_zeros() as usize / 8);
        }
        at += 8;
    }
    let rest = words.remainder();
    rest.iter().position(|&b| b >= 0x80).map(|p| at + p)
}

/// The full policy, for any text. [`normalize`] gives the same result faster;
/// this is the obvious reference it is tested against.
pub fn normalize_unicode(text: &str) -> String {
    let mut w = Collapser::new(Vec::new());
    w.push_str(&unicode_steps(text));
    w.finish()
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

/// Islands up to this many bytes have their results remembered.
const ISLAND_CACHE_KEY_MAX: usize = 32;
/// Entries kept per thread before the memory is cleared (a few hundred KB).
const ISLAND_CACHE_ENTRIES: usize = 4096;

thread_local! {
    static ISLANDS: std::cell::RefCell<std::collections::HashMap<Box<str>, Box<str>, xxhash_rust::xxh3::Xxh3Builder>> =
        const { std::cell::RefCell::new(std::collections::HashMap::with_hasher(xxhash_rust::xxh3::Xxh3Builder::new())) };
}

/// [`unicode_steps`] of one island, handed to `f`; remembered for short
/// islands. The steps are a pure function of the island's text, so the
/// cache changes no result.
fn island_steps(island: &str, f: impl FnOnce(&str)) {
    if island.len() > ISLAND_CACHE_KEY_MAX {
        return f(&unicode_steps(island));
    }
    ISLANDS.with(|cache| {
        let mut cache = cache.borrow_mut();
        if let Some(done) = cache.get(island) {
            return f(done);
        }
        if cache.len() >= ISLAND_CACHE_ENTRIES {
            cache.clear();
        }
        let done: Box<str> = unicode_steps(island).into();
        f(&done);
        cache.insert(island.into(), done);
    })
}

/// Writes normalised text, collapsing every run of white space into one
/// space with none at either end, as it goes.
struct Collapser {
    out: Vec<u8>,
    /// The output is empty or ends with a space: white space adds nothing.
    at_gap: bool,
}

impl Collapser {
    fn new(mut out: Vec<u8>) -> Collapser {
        out.clear();
        Collapser { out, at_gap: true }
    }

    /// Lowercase and collapse ASCII bytes, 64 at a time: a block where no
    /// byte is dropped (no white space right after white space or a gap) is
    /// mapped byte for byte (white space to a space, capitals to small
    /// letters), which the compiler turns into vector instructions; only
    /// blocks with a drop take [`Collapser::push_ascii_scalar`].
    fn push_ascii(&mut self, ascii: &[u8]) {
        let mut chunks = ascii.chunks_exact(64);
        for block in &mut chunks {
            let Ok(block) = <&[u8; 64]>::try_from(block) else {
                continue;
            };
            let ws = white_space_mask(block);
            let dropped = ws & ((ws << 1) | u64::from(self.at_gap));
            if dropped == 0 {
                let mapped: [u8; 64] = std::array::from_fn(|i| ascii_fold(block[i]));
                self.out.extend_from_slice(&mapped);
                self.at_gap = ws >> 63 != 0;
            } else {
                self.push_ascii_scalar(block);
            }
        }
        self.push_ascii_scalar(chunks.remainder());
    }

    /// Lowercase and collapse ASCII bytes one at a time, without branches:
    /// every byte is written, and the write position advances unless the
    /// byte is white space following a gap.
    fn push_ascii_scalar(&mut self, ascii: &[u8]) {
        let start = self.out.len();
        self.out.resize(start + ascii.len(), 0);
        let buf = &mut self.out[start..];
        let mut w = 0;
        let mut gap = self.at_gap;
        for &b in ascii {
            let ws = is_ascii_white_space(b);
            buf[w] = ascii_fold(b);
            w += usize::from(!(ws && gap));
            gap = ws;
        }
        self.out.truncate(start + w);
        self.at_gap = gap;
    }

    /// Collapse already-normalised characters (an island's result).
    fn push_str(&mut self, s: &str) {
        for c in s.chars() {
            if c.is_whitespace() {
                if !self.at_gap {
                    self.out.push(b' ');
                    self.at_gap = true;
                }
            } else {
                let mut buf = [0u8; 4];
                self.out
                    .extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                self.at_gap = false;
            }
        }
    }

    fn finish(mut self) -> String {
        if self.out.last() == Some(&b' ') {
            self.out.pop();
        }
        // Only whole characters were written: ASCII bytes and encoded chars.
        String::from_utf8(self.out)
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
    }
}

/// An ASCII byte as norm-v1 writes it, before collapsing: white space
/// becomes a space, a capital its small letter.
#[inline(always)]
fn ascii_fold(b: u8) -> u8 {
    if is_ascii_white_space(b) {
        b' '
    } else {
        b.to_ascii_lowercase()
    }
}

/// Bit `i` is set when byte `i` of the block is ASCII white space.
#[inline(always)]
fn white_space_mask(block: &[u8; 64]) -> u64 {
    #[cfg(target_arch = "x86_64")]
    {
        sse2::white_space_mask(block)
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        white_space_mask_portable(block)
    }
}

/// [`white_space_mask`] one bit at a time: the reference the SSE2 copy is
/// tested against, and the copy used off x86-64. (The compiler vectorises
/// this loop, but assembles the mask by widening bytes to 64-bit lanes and
/// shifting them, several times the work of `movemask`.)
#[cfg_attr(target_arch = "x86_64", allow(dead_code))]
fn white_space_mask_portable(block: &[u8; 64]) -> u64 {
    let mut m = 0u64;
    for (i, &b) in block.iter().enumerate() {
        m |= u64::from(is_ascii_white_space(b)) << i;
    }
    m
}

/// SSE2 is part of every x86-64 CPU, so this needs no run-time check.
#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code, unused_unsafe)]
mod sse2 {
    use std::arch::x86_64::*;

    /// White space among 16 bytes as a bit mask: a space, or a byte from
    /// tab (9) to carriage return (13), tested as the unsigned
    /// `min(b - 9, 4) == b - 9`.
    #[inline(always)]
    fn white_bits(v: __m128i) -> u64 {
        // SAFETY: register-only SSE2 intrinsics, present on every x86-64
        // CPU. (They need no `unsafe` since Rust 1.87; our minimum is 1.85.)
        unsafe {
            let space = _mm_cmpeq_epi8(v, _mm_set1_epi8(b' ' as i8));
            let control = _mm_sub_epi8(v, _mm_set1_epi8(b'\t' as i8));
            let control = _mm_cmpeq_epi8(_mm_min_epu8(control, _mm_set1_epi8(4)), control);
            u64::from(_mm_movemask_epi8(_mm_or_si128(space, control)) as u16)
        }
    }

    #[inline(always)]
    pub(super) fn white_space_mask(block: &[u8; 64]) -> u64 {
        let mut m = 0u64;
        for k in 0..4 {
            // SAFETY: an unaligned 16-byte load inside the 64-byte block.
            let v = unsafe { _mm_loadu_si128(block.as_ptr().add(16 * k).cast()) };
            m |= white_bits(v) << (16 * k);
        }
        m
    }
}

/// ASCII white space as Unicode's White_Space property defines it.
#[inline]
fn is_ascii_white_space(b: u8) -> bool {
    b == b' ' || b.wrapping_sub(b'\t') < 5
}

/// The policy restricted to ASCII input: lowercase and collapse white space.
/// Non-ASCII input falls back to the full policy.
pub fn normalize_ascii(text: &str) -> String {
    if !text.is_ascii() {
        return normalize_unicode(text);
    }
    let mut w = Collapser::new(Vec::new());
    w.push_ascii(text.as_bytes());
    w.finish()
}

/// Apply the fold table (white space is left for the [`Collapser`]).
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
        fn white_space_mask_matches_the_portable_one(
            v in proptest::collection::vec(prop_oneof![
                4 => proptest::num::u8::ANY,
                1 => proptest::sample::select(vec![b' ', b'\t', b'\n', 0x0B, 0x0C, b'\r', 8, 14, 0x1F, 0x85, 0xA0]),
            ], 64)
        ) {
            let block: [u8; 64] = v.try_into().expect("64 bytes");
            prop_assert_eq!(white_space_mask(&block), white_space_mask_portable(&block));
        }

        #[test]
        fn first_non_ascii_matches_a_byte_scan(
            v in proptest::collection::vec(0u8..0x80, 0..80),
            high in proptest::option::of((0usize..80, 0x80u8..=0xFF)),
        ) {
            let mut v = v;
            if let Some((at, b)) = high {
                if at < v.len() {
                    v[at] = b;
                }
            }
            prop_assert_eq!(first_non_ascii(&v), v.iter().position(|&b| b >= 0x80));
        }

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
