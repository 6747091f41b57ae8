//! Text folding for search: case, diacritics and width folded, split into tokens.
//!
//! `Ｃａｆé` and `CAFE` fold to the same token `cafe`: compatibility decomposition (NFKD) maps
//! full-width and other compatibility forms to their plain letters, combining marks
//! (diacritics) are dropped, and the rest is lower-cased. Anything that is not a letter or a
//! digit separates tokens.

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// Longest folded text indexed; longer marks are indexed by their first tokens only.
pub const MAX_FOLDED_CHARS: usize = 256;
/// Most tokens indexed per mark.
pub const MAX_TOKENS: usize = 16;

/// Folds `text`: NFKD, diacritics removed, lower case, separators collapsed to single spaces.
pub fn fold(text: &str) -> String {
    let mut folded = String::with_capacity(text.len());
    let mut pending_space = false;
    for character in text.nfkd().filter(|c| !is_combining_mark(*c)) {
        if character.is_alphanumeric() {
            if pending_space && !folded.is_empty() {
                folded.push(' ');
            }
            pending_space = false;
            folded.extend(character.to_lowercase());
            if folded.chars().count() >= MAX_FOLDED_CHARS {
                break;
            }
        } else {
            pending_space = true;
        }
    }
    folded
}

/// The distinct tokens of the folded text, at most [`MAX_TOKENS`], in order of appearance.
pub fn tokens(text: &str) -> Vec<String> {
    let mut tokens: Vec<String> = Vec::new();
    for token in fold(text).split(' ').filter(|token| !token.is_empty()) {
        if !tokens.iter().any(|existing| existing == token) {
            tokens.push(token.to_owned());
            if tokens.len() == MAX_TOKENS {
                break;
            }
        }
    }
    tokens
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_case_diacritics_and_width() {
        assert_eq!(fold("Café"), "cafe");
        assert_eq!(fold("ＣＡＦＥ"), "cafe");
        assert_eq!(fold("  Maison-DU  Café! "), "maison du cafe");
        assert_eq!(fold("Ærø"), "ærø");
        assert_eq!(fold("北京 Duck"), "北京 duck");
    }

    #[test]
    fn tokens_are_distinct_and_bounded() {
        assert_eq!(tokens("la la LAND"), vec!["la", "land"]);
        let long = (0..100)
            .map(|i| format!("w{i}"))
            .collect::<Vec<_>>()
            .join(" ");
        assert_eq!(tokens(&long).len(), MAX_TOKENS);
        assert!(tokens("!!!").is_empty());
    }
}
