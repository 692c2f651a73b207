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

    proptest! {
        #[test]
        fn fast_path_matches_reference(s in "\\PC*") {
            prop_assert_eq!(words(&s).collect::<Vec<_>>(), words_reference(&s));
        }

        #[test]
        fn fast_path_matches_reference_on_mixed_text(
            s in "([a-z0-9 .,'\"-]|é|ß|\u{0301}|\u{094D}|न|東|に|\u{00A0}|—){0,64}"
        ) {
            prop_assert_eq!(words(&s).collect::<Vec<_>>(), words_reference(&s));
        }
    }
}
