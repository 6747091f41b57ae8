//! The data screening reads besides the store: ordinary words (which make a one-word mark
//! weak), dictionary words (which are never read as misspelt marks) and counterfeit indicators.
//! All three are data files shipped with the node (`node/data/screening/`); a node adds
//! indicators of its own with `[screening] indicators_file`.

use std::collections::HashSet;
use std::path::Path;

use super::normalize::tokenize;

/// Ordinary English words (SCOWL levels 10 and 20).
const COMMON_WORDS: &str = include_str!("../../data/screening/common-words.txt");
/// Further dictionary words (SCOWL level 35).
const DICTIONARY_WORDS: &str = include_str!("../../data/screening/dictionary-words.txt");
/// The counterfeit indicators shipped with the node.
const INDICATORS: &str = include_str!("../../data/screening/indicators.txt");

/// Largest indicators file a node reads.
pub const MAX_INDICATORS_FILE_BYTES: u64 = 1024 * 1024;
/// Most indicator phrases in all.
pub const MAX_INDICATORS: usize = 10_000;
/// Most tokens in one indicator phrase.
pub const MAX_INDICATOR_TOKENS: usize = 8;

/// An indicator phrase: its text as listed and its tokens after the normalisation chain.
#[derive(Debug, Clone)]
pub struct Indicator {
    /// The phrase as written in the list.
    pub phrase: String,
    /// Its skeleton tokens.
    pub tokens: Vec<String>,
}

/// Ordinary words, dictionary words and indicators.
#[derive(Debug)]
pub struct Lexicon {
    common: HashSet<String>,
    dictionary: HashSet<String>,
    indicators: Vec<Indicator>,
}

/// An indicators file that could not be read.
#[derive(Debug, thiserror::Error)]
pub enum LexiconError {
    /// The file could not be read.
    #[error("indicators file {path}: {error}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        error: std::io::Error,
    },
    /// The file is too large or has a bad line.
    #[error("indicators file {path}: {reason}")]
    Invalid {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
}

fn words(text: &str) -> HashSet<String> {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(str::to_owned)
        .collect()
}

/// The phrases of an indicators text (one per line, `#` comments).
fn parse_indicators(text: &str, indicators: &mut Vec<Indicator>) -> Result<(), String> {
    for (number, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let tokens: Vec<String> = tokenize(line).into_iter().map(|token| token.text).collect();
        if tokens.is_empty() {
            return Err(format!(
                "line {}: {line:?} has no letters or digits",
                number + 1
            ));
        }
        if tokens.len() > MAX_INDICATOR_TOKENS {
            return Err(format!(
                "line {}: more than {MAX_INDICATOR_TOKENS} words",
                number + 1
            ));
        }
        if indicators.len() == MAX_INDICATORS {
            return Err(format!("more than {MAX_INDICATORS} indicators"));
        }
        if !indicators.iter().any(|known| known.tokens == tokens) {
            indicators.push(Indicator {
                phrase: line.to_owned(),
                tokens,
            });
        }
    }
    Ok(())
}

impl Lexicon {
    /// The shipped lists, with the indicators of `extra_indicators` added.
    pub fn load(extra_indicators: Option<&Path>) -> Result<Self, LexiconError> {
        let mut indicators = Vec::new();
        parse_indicators(INDICATORS, &mut indicators).map_err(|reason| LexiconError::Invalid {
            path: "(shipped)".into(),
            reason,
        })?;
        if let Some(path) = extra_indicators {
            let display = path.display().to_string();
            let metadata = std::fs::metadata(path).map_err(|error| LexiconError::Read {
                path: display.clone(),
                error,
            })?;
            if metadata.len() > MAX_INDICATORS_FILE_BYTES {
                return Err(LexiconError::Invalid {
                    path: display,
                    reason: format!("larger than {MAX_INDICATORS_FILE_BYTES} bytes"),
                });
            }
            let text = std::fs::read_to_string(path).map_err(|error| LexiconError::Read {
                path: display.clone(),
                error,
            })?;
            parse_indicators(&text, &mut indicators).map_err(|reason| LexiconError::Invalid {
                path: display,
                reason,
            })?;
        }
        Ok(Self {
            common: words(COMMON_WORDS),
            dictionary: words(DICTIONARY_WORDS),
            indicators,
        })
    }

    /// The shipped lists alone.
    pub fn shipped() -> Self {
        // The shipped indicators parse (a unit test checks it), so this cannot fail.
        Self::load(None).unwrap_or_else(|_| Self {
            common: words(COMMON_WORDS),
            dictionary: words(DICTIONARY_WORDS),
            indicators: Vec::new(),
        })
    }

    /// Whether `word` (a skeleton token) is an ordinary word.
    pub fn is_common(&self, word: &str) -> bool {
        self.common.contains(word)
    }

    /// Whether `word` is an ordinary or a dictionary word.
    pub fn is_dictionary(&self, word: &str) -> bool {
        self.common.contains(word) || self.dictionary.contains(word)
    }

    /// The indicators, shipped first.
    pub fn indicators(&self) -> &[Indicator] {
        &self.indicators
    }

    /// The indicator phrases found in `tokens` (whole tokens, in order), each once.
    pub fn indicators_in<'a>(&'a self, tokens: &[&str]) -> Vec<&'a str> {
        let mut found = Vec::new();
        for indicator in &self.indicators {
            let length = indicator.tokens.len();
            if length <= tokens.len()
                && tokens
                    .windows(length)
                    .any(|window| window.iter().zip(&indicator.tokens).all(|(a, b)| *a == b))
            {
                found.push(indicator.phrase.as_str());
            }
        }
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_lists_load() {
        let lexicon = Lexicon::load(None).unwrap();
        assert!(lexicon.is_common("apple"));
        assert!(!lexicon.is_common("gucci"));
        assert!(lexicon.is_dictionary("jaguar"));
        assert!(lexicon.indicators().len() > 40);
    }

    #[test]
    fn finds_indicators_as_whole_tokens() {
        let lexicon = Lexicon::shipped();
        let tokens: Vec<String> = tokenize("Sac 1:1 Mirror Quality, RÉPLIQUE 高仿")
            .into_iter()
            .map(|t| t.text)
            .collect();
        let tokens: Vec<&str> = tokens.iter().map(String::as_str).collect();
        let found = lexicon.indicators_in(&tokens);
        for phrase in ["1:1", "mirror quality", "réplique", "高仿"] {
            assert!(found.contains(&phrase), "{phrase} in {found:?}");
        }
        let tokens = ["replicant"];
        assert!(lexicon.indicators_in(&tokens).is_empty());
    }

    #[test]
    fn an_operator_file_adds_indicators_and_bad_files_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("indicators.txt");
        std::fs::write(&path, "# ours\nusine directe\n").unwrap();
        let lexicon = Lexicon::load(Some(&path)).unwrap();
        assert!(
            lexicon
                .indicators()
                .iter()
                .any(|i| i.phrase == "usine directe")
        );
        std::fs::write(&path, "-- ~~\n").unwrap();
        assert!(matches!(
            Lexicon::load(Some(&path)),
            Err(LexiconError::Invalid { .. })
        ));
        assert!(matches!(
            Lexicon::load(Some(&dir.path().join("missing"))),
            Err(LexiconError::Read { .. })
        ));
    }
}
