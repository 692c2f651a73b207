//! Word tokenisation of normalised text.
//!
//! A *word* is a maximal run of word characters: letters, digits and
//! combining marks (so scripts that write vowels as marks, such as Devanagari,
//! keep their words whole). Everything else — spaces, punctuation, symbols —
//! separates words. Han ideographs, Hiragana and Katakana are each a word of
//! their own, since those scripts put no spaces between words: word n-grams
//! over them are character n-grams. Other scripts written without spaces
//! (Thai, Lao, Khmer, Myanmar) become long runs; use character shingles
//! ([`crate::shingle::Unit::Chars`]) for them.
//!
//! [`words`] is the fast path: it classifies ASCII bytes with a table and only
//! decodes and looks up non-ASCII characters. [`words_reference`] is the slow,
//! obvious definition; a property test checks they agree.

use icu_properties::CodePointMapData;
use icu_properties::props::GeneralCategory;

/// How one character takes part in words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CharClass {
    /// Part of a word.
    Word,
    /// A word by itself (ideographs and kana).
    Single,
    /// Separates words.
    Separator,
}

/// Classify a character (the definition both tokeniser paths follow).
pub fn classify(c: char) -> CharClass {
    if c.is_ascii() {
        return if c.is_ascii_alphanumeric() {
            CharClass::Word
        } else {
            CharClass::Separator
        };
    }
    if is_single_char_word(c) {
        return CharClass::Single;
    }
    if c.is_alphanumeric() {
        return CharClass::Word;
    }
    let gc = CodePointMapData::<GeneralCategory>::new().get(c);
    match gc {
        GeneralCategory::NonspacingMark
        | GeneralCategory::SpacingMark
        | GeneralCategory::EnclosingMark => CharClass::Word,
        _ => CharClass::Separator,
    }
}

fn is_single_char_word(c: char) -> bool {
    matches!(c,
        '\u{3040}'..='\u{30FF}'      // Hiragana, Katakana
        | '\u{31F0}'..='\u{31FF}'    // Katakana phonetic extensions
        | '\u{3400}'..='\u{4DBF}'    // CJK extension A
        | '\u{4E00}'..='\u{9FFF}'    // CJK unified ideographs
        | '\u{F900}'..='\u{FAFF}'    // CJK compatibility ideographs
        | '\u{20000}'..='\u{3FFFF}') // CJK extensions B and later
}

/// Iterate over the words of `text` (fast path).
///
/// ```
/// use lookalike::tokenize::words;
/// let w: Vec<&str> = words("that's al-assad's 42nd visit").collect();
/// assert_eq!(w, ["that", "s", "al", "assad", "s", "42nd", "visit"]);
/// ```
pub fn words(text: &str) -> Words<'_> {
    Words { text, pos: 0 }
}

/// Iterator returned by [`words`].
#[derive(Debug, Clone)]
pub struct Words<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> Words<'a> {
    /// The class of the character starting at byte `i` and its length.
    #[inline]
    fn class_at(&self, i: usize) -> (CharClass, usize) {
        let b = self.text.as_bytes()[i];
        if b < 0x80 {
            let class = if b.is_ascii_alphanumeric() {
                CharClass::Word
            } else {
                CharClass::Separator
            };
            return (class, 1);
        }
        // `i` is always on a character boundary: we only ever step by whole characters.
        match self.text[i..].chars().next() {
            Some(c) => (classify(c), c.len_utf8()),
            None => (CharClass::Separator, 1),
        }
    }
}

impl<'a> Iterator for Words<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let bytes = self.text.as_bytes();
        let len = bytes.len();
        // Skip separators: ASCII ones in a tight loop, others by class.
        loop {
            while self.pos < len
                && bytes[self.pos] < 0x80
                && !bytes[self.pos].is_ascii_alphanumeric()
            {
                self.pos += 1;
            }
            if self.pos >= len {
                return None;
            }
            if bytes[self.pos] < 0x80 {
                break;
            }
            let (class, n) = self.class_at(self.pos);
            match class {
                CharClass::Separator => self.pos += n,
                CharClass::Single => {
                    let start = self.pos;
                    self.pos += n;
                    return Some(&self.text[start..self.pos]);
                }
                CharClass::Word => break,
            }
        }
        let start = self.pos;
        loop {
            while self.pos < len && bytes[self.pos].is_ascii_alphanumeric() {
                self.pos += 1;
            }
            if self.pos >= len || bytes[self.pos] < 0x80 {
                break;
            }
            let (class, n) = self.class_at(self.pos);
            if class != CharClass::Word {
                break;
            }
            self.pos += n;
        }
        Some(&self.text[start..self.pos])
    }
}

/// Call `f` with each word of `text`, in order: the same words as [`words`],
/// found 64 bytes at a time.
///
/// ASCII punctuation and spaces always separate words, whatever surrounds
/// them, so the text splits at them into *runs*; a run of ASCII letters and
/// digits is one word, and only a run holding non-ASCII bytes needs the
/// character-by-character [`words`]. The separators of 64 bytes are found at
/// once as a bit mask (`BlockMasks`): on x86-64 with AVX2 (checked at run
/// time) by explicit vector comparisons and `movemask`, elsewhere by a
/// portable loop the compiler vectorises as it can. Tests check both copies
/// against [`words_reference`].
pub fn for_each_word<'a>(text: &'a str, f: impl FnMut(&'a str)) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        return for_each_word_avx2(text, f);
    }
    scan_runs::<Portable>(text, f)
}

/// [`scan_runs`] compiled for AVX2, with the masks of each block from
/// AVX2 comparisons and `movemask` ([`simd::block_masks_avx2`]).
#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)]
fn for_each_word_avx2<'a>(text: &'a str, f: impl FnMut(&'a str)) {
    #[target_feature(enable = "avx2")]
    unsafe fn avx2<'a>(text: &'a str, f: impl FnMut(&'a str)) {
        scan_runs::<simd::Avx2>(text, f)
    }
    // SAFETY: only called after `is_x86_feature_detected!("avx2")`; the
    // function itself is ordinary safe Rust, compiled with AVX2 enabled.
    unsafe { avx2(text, f) }
}

/// The portable copy of [`for_each_word`], with no run-time choice: the
/// scalar reference the AVX2 copy is tested against.
pub fn for_each_word_portable<'a>(text: &'a str, f: impl FnMut(&'a str)) {
    scan_runs::<Portable>(text, f)
}

/// How the masks of a 64-byte block are computed: bit `i` of the first
/// mask is set when byte `i` is an ASCII separator (not a letter or digit);
/// of the second, when byte `i` is not ASCII.
trait BlockMasks {
    fn block_masks(block: &[u8; 64]) -> (u64, u64);
}

/// Masks in plain Rust: one bit at a time.
struct Portable;

impl BlockMasks for Portable {
    #[inline(always)]
    fn block_masks(block: &[u8; 64]) -> (u64, u64) {
        let mut sep = 0u64;
        let mut high = 0u64;
        for (i, &b) in block.iter().enumerate() {
            let alpha = (b | 0x20).wrapping_sub(b'a') < 26;
            let digit = b.wrapping_sub(b'0') < 10;
            let hi = b >= 0x80;
            sep |= u64::from(!(alpha | digit | hi)) << i;
            high |= u64::from(hi) << i;
        }
        (sep, high)
    }
}

/// Explicit AVX2 for the masks. The compiler vectorises the portable loop,
/// but builds each mask by widening bytes to 64-bit lanes and shifting them
/// (about 200 instructions a block); `movemask` takes the top bit of 32
/// bytes at once (about 20).
#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code, unused_unsafe)]
mod simd {
    use std::arch::x86_64::*;

    /// Masks from [`block_masks_avx2`]; used only inside functions built
    /// for AVX2 after a run-time check.
    pub(super) struct Avx2;

    impl super::BlockMasks for Avx2 {
        #[inline(always)]
        fn block_masks(block: &[u8; 64]) -> (u64, u64) {
            // SAFETY: `Avx2` is only used by `for_each_word_avx2`'s inner
            // function, which runs after `is_x86_feature_detected!("avx2")`.
            unsafe { block_masks_avx2(block) }
        }
    }

    /// Letters and digits of 32 bytes as a bit mask: `b | 0x20` is a small
    /// letter exactly when `b` is a letter, and "unsigned `x - lo` ≤ span"
    /// is tested as `min(x - lo, span) == x - lo`.
    ///
    /// # Safety
    /// The CPU must support AVX2.
    #[target_feature(enable = "avx2")]
    #[inline]
    unsafe fn word_bits(v: __m256i) -> u32 {
        // SAFETY: register-only intrinsics; the caller guarantees AVX2.
        // (They need no `unsafe` since Rust 1.87; our minimum is 1.85.)
        unsafe {
            let small = _mm256_or_si256(v, _mm256_set1_epi8(0x20));
            let letter = _mm256_sub_epi8(small, _mm256_set1_epi8(b'a' as i8));
            let letter = _mm256_cmpeq_epi8(_mm256_min_epu8(letter, _mm256_set1_epi8(25)), letter);
            let digit = _mm256_sub_epi8(v, _mm256_set1_epi8(b'0' as i8));
            let digit = _mm256_cmpeq_epi8(_mm256_min_epu8(digit, _mm256_set1_epi8(9)), digit);
            _mm256_movemask_epi8(_mm256_or_si256(letter, digit)) as u32
        }
    }

    /// [`super::BlockMasks`] for one block with AVX2. A non-ASCII byte is
    /// never taken for a letter or digit: `(b | 0x20) - 'a'` is at least
    /// 0x3F and `b - '0'` at least 0x50 for `b` ≥ 0x80.
    ///
    /// # Safety
    /// The CPU must support AVX2.
    #[target_feature(enable = "avx2")]
    #[inline]
    pub(super) unsafe fn block_masks_avx2(block: &[u8; 64]) -> (u64, u64) {
        // SAFETY: both loads read 32 bytes inside the 64-byte block
        // (unaligned loads allow any address); the caller guarantees AVX2.
        unsafe {
            let lo = _mm256_loadu_si256(block.as_ptr().cast());
            let hi = _mm256_loadu_si256(block.as_ptr().add(32).cast());
            let word = u64::from(word_bits(lo)) | u64::from(word_bits(hi)) << 32;
            let high = u64::from(_mm256_movemask_epi8(lo) as u32)
                | u64::from(_mm256_movemask_epi8(hi) as u32) << 32;
            (!(word | high), high)
        }
    }
}

#[inline(always)]
fn scan_runs<'a, M: BlockMasks>(text: &'a str, mut f: impl FnMut(&'a str)) {
    let bytes = text.as_bytes();
    let mut emit = |start: usize, end: usize, ascii: bool| {
        if ascii {
            f(&text[start..end]);
        } else {
            // `start` and `end` sit at ASCII bytes or the ends of the text,
            // so they are character boundaries.
            words(&text[start..end]).for_each(&mut f);
        }
    };
    // Start of the run in progress (`None` between runs) and whether a
    // non-ASCII byte was seen in it.
    let mut run: Option<usize> = None;
    let mut run_high = false;
    let mut base = 0;
    while base < bytes.len() {
        let len = (bytes.len() - base).min(64);
        let mut block = [b' '; 64];
        block[..len].copy_from_slice(&bytes[base..base + len]);
        let (mut sep, high) = M::block_masks(&block);
        if len < 64 {
            // Bytes past the end count as separators: they end the last run.
            sep |= !0u64 << len;
        }
        let mut pos = 0u32;
        loop {
            match run {
                None => {
                    // Next byte that is not a separator starts a run.
                    let rest = !sep >> pos;
                    if rest == 0 {
                        break;
                    }
                    pos += rest.trailing_zeros();
                    run = Some(base + pos as usize);
                    run_high = false;
                }
                Some(start) => {
                    let rest = if pos == 64 { 0 } else { sep >> pos };
                    let stop = if rest == 0 {
                        64
                    } else {
                        pos + rest.trailing_zeros()
                    };
                    // Non-ASCII bytes of this run within this block.
                    let span = if stop == 64 {
                        !0u64
                    } else {
                        (1u64 << stop) - 1
                    };
                    run_high |= high & span & (!0u64 << pos) != 0;
                    if stop == 64 {
                        break;
                    }
                    emit(start, base + stop as usize, !run_high);
                    run = None;
                    pos = stop;
                }
            }
            if pos >= 64 {
                break;
            }
        }
        base += 64;
    }
    if let Some(start) = run {
        emit(start, bytes.len(), !run_high);
    }
}

/// The obvious tokeniser: walk characters, classify each. Reference for tests.
pub fn words_reference(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start: Option<usize> = None;
    for (i, c) in text.char_indices() {
        match classify(c) {
            CharClass::Word => {
                start.get_or_insert(i);
            }
            class => {
                if let Some(s) = start.take() {
                    out.push(&text[s..i]);
                }
                if class == CharClass::Single {
                    out.push(&text[i..i + c.len_utf8()]);
                }
            }
        }
    }
    if let Some(s) = start {
        out.push(&text[s..]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn scripts() {
        assert_eq!(words("नमस्ते दुनिया").collect::<Vec<_>>(), ["नमस्ते", "दुनिया"]);
        assert_eq!(
            words("東京都に住む").collect::<Vec<_>>(),
            ["東", "京", "都", "に", "住", "む"]
        );
        assert_eq!(
            words("naïve café, 3.14!").collect::<Vec<_>>(),
            ["naïve", "café", "3", "14"]
        );
        assert_eq!(words("").count(), 0);
        assert_eq!(words(" -- ").count(), 0);
    }

    /// The AVX2 (when the CPU has it) and portable block scanners each give
    /// the reference's words.
    fn both_copies_match_reference(s: &str) -> Result<(), TestCaseError> {
        let mut fast = Vec::new();
        for_each_word(s, |w| fast.push(w));
        let mut portable = Vec::new();
        for_each_word_portable(s, |w| portable.push(w));
        let reference = words_reference(s);
        prop_assert_eq!(&fast, &reference);
        prop_assert_eq!(&portable, &reference);
        Ok(())
    }

    proptest! {
        #[test]
        fn fast_path_matches_reference(s in "\\PC*") {
            prop_assert_eq!(words(&s).collect::<Vec<_>>(), words_reference(&s));
        }

        #[test]
        fn block_scanner_matches_reference(
            s in "([a-zA-Z0-9 .,'\"-]|é|ß|\u{0301}|\u{094D}|न|東|に|\u{00A0}|—|\n){0,300}"
        ) {
            both_copies_match_reference(&s)?;
        }

        #[test]
        fn block_scanner_matches_reference_on_long_words(
            // Runs of up to 200 letters cross one or two block boundaries.
            s in "([a-z]{0,200}(é|\u{0301})?[a-z]{0,70}[ .,\n—]{1,3}){0,6}"
        ) {
            both_copies_match_reference(&s)?;
        }

        #[test]
        fn block_scanner_matches_reference_on_any_text(s in "\\PC{0,200}") {
            let mut fast = Vec::new();
            for_each_word(&s, |w| fast.push(w));
            prop_assert_eq!(fast, words_reference(&s));
        }

        #[test]
        fn fast_path_matches_reference_on_mixed_text(
            s in "([a-z0-9 .,'\"-]|é|ß|\u{0301}|\u{094D}|न|東|に|\u{00A0}|—){0,64}"
        ) {
            prop_assert_eq!(words(&s).collect::<Vec<_>>(), words_reference(&s));
        }
    }
}
