//! The normalisation chain of screening, pure: a text becomes tokens of *skeleton* characters,
//! each remembering where it sits in the original text and which steps changed it.
//!
//! Per character of the original, in order:
//!
//! 1. default-ignorable code points (zero-width spaces and joiners, soft hyphens, bidi
//!    controls, variation selectors, …) are removed without separating tokens (step
//!    `separators`);
//! 2. NFKC (full-width and other compatibility forms to their plain letters), diacritics
//!    dropped (NFD, combining marks removed) and lower case (step `fold`);
//! 3. a character outside ASCII is replaced by its UTS #39 confusable prototype when that is
//!    plain ASCII (Cyrillic `і` → `i`, Greek `Ν` → `n`; step `confusable`). The mapping is taken
//!    before lower-casing, because lower-casing first loses the look (Greek `Ν` lower-cases to
//!    `ν`, whose prototype is `v`); an upper-case letter whose prototype is `l` looks like a
//!    capital `I` and becomes `i`;
//! 4. ASCII letters and digits, other letters, and the leetspeak symbols (`@ $ ! | € £ +`) are
//!    token characters; a Chinese, Japanese or Korean character is a token of its own (so that
//!    marks are found inside unspaced CJK text, character by character); anything else
//!    separates tokens.
//!
//! Leetspeak and multi-letter look-alikes (`rn` for `m`, `vv` for `w`) are applied later, as
//! alternatives of a token ([`Token::variants`]), never blindly: `2024` stays a number.

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// Most tokens read from one text; the rest of a longer text is not screened.
pub const MAX_TOKENS: usize = 400;
/// Most characters in one token; longer runs are cut (no mark is that long).
pub const MAX_TOKEN_CHARS: usize = 64;
/// Most alternatives of one token (leetspeak and look-alike letter pairs).
pub const MAX_VARIANTS: usize = 8;

/// Steps of the chain that changed a token, as bits.
pub mod step {
    /// NFKC, diacritics or case changed a character.
    pub const FOLD: u8 = 1;
    /// A character was replaced by its confusable prototype.
    pub const CONFUSABLE: u8 = 2;
    /// A zero-width or other format character was removed inside the token.
    pub const SEPARATORS: u8 = 4;
}

/// One token of a normalised text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    /// The skeleton characters.
    pub text: String,
    /// Byte range of the token in the original text.
    pub start: usize,
    /// End of that range (exclusive).
    pub end: usize,
    /// The [`step`] bits that changed it.
    pub steps: u8,
    /// A Chinese, Japanese or Korean character (a token of one character).
    pub cjk: bool,
}

impl Token {
    /// Whether the token has a letter and a leetspeak character (digit or symbol) mixed, or is
    /// one leetspeak character alone (`N 1 K E`): only such tokens get leetspeak alternatives.
    pub fn is_leet(&self) -> bool {
        let mut chars = self.text.chars();
        let lone_leet =
            matches!((chars.next(), chars.next()), (Some(c), None) if leet(c).is_some());
        let has_letter = self.text.chars().any(|c| c.is_ascii_lowercase());
        lone_leet || (has_letter && self.text.chars().any(|c| leet(c).is_some()))
    }

    /// The token's alternatives: itself first, then leetspeak readings and multi-letter
    /// look-alikes, each with the label of what it applied ("leet", "confusable"); at most
    /// [`MAX_VARIANTS`].
    pub fn variants(&self) -> Vec<(String, u8)> {
        let mut variants: Vec<(String, u8)> = vec![(self.text.clone(), 0)];
        if self.cjk {
            return variants;
        }
        if self.is_leet() {
            // Every combination of the characters' readings, breadth-first, bounded.
            let mut readings: Vec<String> = vec![String::new()];
            for c in self.text.chars() {
                let options: &[char] = match leet(c) {
                    Some(options) => options,
                    None => std::slice::from_ref(&c),
                };
                let mut next = Vec::with_capacity(readings.len() * options.len());
                for reading in &readings {
                    for option in options {
                        if next.len() == MAX_VARIANTS {
                            break;
                        }
                        let mut extended = reading.clone();
                        extended.push(*option);
                        next.push(extended);
                    }
                }
                readings = next;
            }
            for reading in readings {
                if reading != self.text && variants.len() < MAX_VARIANTS {
                    variants.push((reading, variant::LEET));
                }
            }
        }
        let base: Vec<(String, u8)> = variants.clone();
        for (text, label) in base {
            for (from, to) in LOOK_ALIKE_PAIRS {
                if variants.len() >= MAX_VARIANTS {
                    break;
                }
                if text.contains(from) {
                    variants.push((text.replace(from, to), label | variant::CONFUSABLE));
                }
            }
        }
        variants
    }
}

/// Labels of a token variant, as bits.
pub mod variant {
    /// Leetspeak characters read as letters.
    pub const LEET: u8 = 1;
    /// A multi-letter look-alike replaced.
    pub const CONFUSABLE: u8 = 2;
}

/// Letter pairs that read as one letter at a glance.
const LOOK_ALIKE_PAIRS: [(&str, &str); 3] = [("rn", "m"), ("vv", "w"), ("cl", "d")];

/// The letters a leetspeak character stands for, most likely first.
pub fn leet(c: char) -> Option<&'static [char]> {
    Some(match c {
        '0' => &['o'],
        '1' => &['i', 'l'],
        '2' => &['z'],
        '3' => &['e'],
        '4' => &['a'],
        '5' => &['s'],
        '6' => &['g', 'b'],
        '7' => &['t'],
        '8' => &['b'],
        '9' => &['g'],
        '@' => &['a'],
        '$' => &['s'],
        '!' => &['i'],
        '|' => &['l', 'i'],
        '€' => &['e'],
        '£' => &['l'],
        '+' => &['t'],
        _ => return None,
    })
}

/// Whether `c` is a Chinese, Japanese or Korean character (Han, kana, Hangul).
pub fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x3040..=0x30FF      // Hiragana, Katakana
        | 0x31F0..=0x31FF    // Katakana phonetic extensions
        | 0x3400..=0x4DBF    // Han extension A
        | 0x4E00..=0x9FFF    // Han
        | 0xAC00..=0xD7AF    // Hangul syllables
        | 0x1100..=0x11FF    // Hangul jamo
        | 0x3130..=0x318F    // Hangul compatibility jamo
        | 0xF900..=0xFAFF    // Han compatibility
        | 0x20000..=0x3134F  // Han extensions B–H
    )
}

/// Whether `c` is a default-ignorable code point (Unicode `DerivedCoreProperties.txt`,
/// `Default_Ignorable_Code_Point`): invisible, so removed without separating.
pub fn is_default_ignorable(c: char) -> bool {
    matches!(c as u32,
        0x00AD | 0x034F | 0x061C | 0x115F..=0x1160 | 0x17B4..=0x17B5 | 0x180B..=0x180F
        | 0x200B..=0x200F | 0x202A..=0x202E | 0x2060..=0x206F | 0x3164 | 0xFE00..=0xFE0F
        | 0xFEFF | 0xFFA0 | 0xFFF0..=0xFFF8 | 0x1BCA0..=0x1BCA3 | 0x1D173..=0x1D17A
        | 0xE0000..=0xE0FFF
    )
}

/// Whether a skeleton character belongs in a token.
fn is_token_char(c: char) -> bool {
    c.is_alphanumeric() || leet(c).is_some()
}

/// The characters one original character becomes, with the steps that changed it.
fn skeleton_of(c: char, out: &mut Vec<char>) -> u8 {
    out.clear();
    let mut steps = 0;
    let mut buffer = [0u8; 4];
    let text: &str = c.encode_utf8(&mut buffer);
    for compatible in text.nfkc() {
        for plain in std::iter::once(compatible)
            .nfd()
            .filter(|d| !is_combining_mark(*d))
        {
            if plain != c {
                steps |= step::FOLD;
            }
            if plain.is_ascii() {
                if plain.is_ascii_uppercase() {
                    steps |= step::FOLD;
                }
                out.push(plain.to_ascii_lowercase());
                continue;
            }
            // UTS #39 prototype of a non-ASCII character, taken before lower-casing.
            let mut inner = [0u8; 4];
            let prototype: Vec<char> =
                unicode_security::skeleton(plain.encode_utf8(&mut inner)).collect();
            if !prototype.is_empty()
                && prototype.iter().all(|p| p.is_ascii_alphanumeric())
                && prototype != [plain]
            {
                steps |= step::CONFUSABLE;
                let looks_like_capital_i = prototype == ['l'] && plain.is_uppercase();
                if looks_like_capital_i {
                    out.push('i');
                } else {
                    out.extend(prototype.iter().map(|p| p.to_ascii_lowercase()));
                }
            } else {
                if plain.is_uppercase() {
                    steps |= step::FOLD;
                }
                out.extend(plain.to_lowercase());
            }
        }
    }
    steps
}

/// The tokens of `text`, at most [`MAX_TOKENS`].
pub fn tokenize(text: &str) -> Vec<Token> {
    let mut tokens: Vec<Token> = Vec::new();
    let mut current: Option<Token> = None;
    let mut chars = Vec::with_capacity(4);
    for (offset, c) in text.char_indices() {
        if tokens.len() >= MAX_TOKENS {
            break;
        }
        let end = offset + c.len_utf8();
        if is_default_ignorable(c) {
            if let Some(token) = current.as_mut() {
                token.steps |= step::SEPARATORS;
            }
            continue;
        }
        let steps = if c.is_ascii() {
            chars.clear();
            chars.push(c.to_ascii_lowercase());
            if c.is_ascii_uppercase() {
                step::FOLD
            } else {
                0
            }
        } else {
            skeleton_of(c, &mut chars)
        };
        for &skeleton in &chars {
            if is_cjk(skeleton) {
                if let Some(token) = current.take() {
                    tokens.push(token);
                }
                tokens.push(Token {
                    text: skeleton.to_string(),
                    start: offset,
                    end,
                    steps,
                    cjk: true,
                });
            } else if is_token_char(skeleton) {
                let token = current.get_or_insert_with(|| Token {
                    text: String::new(),
                    start: offset,
                    end,
                    steps: 0,
                    cjk: false,
                });
                if token.text.len() < MAX_TOKEN_CHARS {
                    token.text.push(skeleton);
                }
                token.end = end;
                token.steps |= steps;
            } else if let Some(token) = current.take() {
                tokens.push(token);
            }
        }
    }
    if let Some(token) = current.take() {
        if tokens.len() < MAX_TOKENS {
            tokens.push(token);
        }
    }
    tokens
}

/// `text` with runs of one repeated character collapsed to one (`gucccii` → `guci`): doubled
/// and dropped double letters meet in the same form.
pub fn squeeze(text: &str) -> String {
    let mut squeezed = String::with_capacity(text.len());
    let mut last = None;
    for c in text.chars() {
        if last != Some(c) {
            squeezed.push(c);
        }
        last = Some(c);
    }
    squeezed
}

/// The screening form of a mark: its tokens joined without spaces, not yet squeezed
/// (`Louis Vuitton` → `louisvuitton`); with leetspeak in the mark itself read as written.
pub fn mark_text(mark: &str) -> String {
    tokenize(mark).into_iter().map(|token| token.text).collect()
}

/// Whether `a` and `b` are within one edit (insertion, deletion, substitution, or a swap of
/// two adjacent characters) of each other.
pub fn within_one_edit<T: PartialEq>(a: &[T], b: &[T]) -> bool {
    // Called for every mark of a half bucket (hundreds per title): no allocation.
    let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    let prefix = short.iter().zip(long).take_while(|(x, y)| x == y).count();
    match long.len() - short.len() {
        0 => {
            if prefix == short.len() {
                return true;
            }
            // One substitution at `prefix`, or the letters at `prefix` and `prefix + 1`
            // swapped.
            short[prefix + 1..] == long[prefix + 1..]
                || (prefix + 1 < short.len()
                    && short[prefix] == long[prefix + 1]
                    && short[prefix + 1] == long[prefix]
                    && short[prefix + 2..] == long[prefix + 2..])
        }
        1 => short[prefix..] == long[prefix + 1..],
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(text: &str) -> Vec<String> {
        tokenize(text).into_iter().map(|token| token.text).collect()
    }

    #[test]
    fn folds_width_case_and_diacritics() {
        assert_eq!(texts("ＮＩＫＥ Café"), ["nike", "cafe"]);
        let tokens = tokenize("Nïke");
        assert_eq!(tokens[0].text, "nike");
        assert_ne!(tokens[0].steps & step::FOLD, 0);
    }

    #[test]
    fn maps_confusables_to_latin() {
        // Cyrillic і (U+0456), Greek capitals Ν Ι Κ Ε.
        assert_eq!(texts("N\u{0456}ke"), ["nike"]);
        assert_eq!(texts("ΝΙΚΕ"), ["nike"]);
        assert_eq!(texts("Аdidаs"), ["adidas"]); // Cyrillic А and а
        let tokens = tokenize("N\u{0456}ke");
        assert_ne!(tokens[0].steps & step::CONFUSABLE, 0);
    }

    #[test]
    fn removes_zero_width_characters_without_splitting() {
        let tokens = tokenize("Gu\u{200B}cc\u{200D}i bag");
        assert_eq!(tokens[0].text, "gucci");
        assert_ne!(tokens[0].steps & step::SEPARATORS, 0);
        assert_eq!(
            &"Gu\u{200B}cc\u{200D}i bag"[tokens[0].start..tokens[0].end],
            "Gu\u{200B}cc\u{200D}i"
        );
    }

    #[test]
    fn separators_split_and_offsets_point_into_the_original() {
        let text = "G.u.c.c.i – N I K E";
        let tokens = tokenize(text);
        assert_eq!(
            tokens.iter().map(|t| t.text.as_str()).collect::<Vec<_>>(),
            ["g", "u", "c", "c", "i", "n", "i", "k", "e"]
        );
        assert_eq!(&text[tokens[5].start..tokens[8].end], "N I K E");
    }

    #[test]
    fn cjk_characters_are_tokens_of_their_own() {
        assert_eq!(texts("正品耐克 shoes"), ["正", "品", "耐", "克", "shoes"]);
        assert!(tokenize("耐克")[0].cjk);
    }

    #[test]
    fn leet_variants_only_for_mixed_tokens() {
        let token = |text: &str| tokenize(text).remove(0);
        let variants: Vec<String> = token("N1KE").variants().into_iter().map(|v| v.0).collect();
        assert!(variants.contains(&"nike".to_owned()));
        assert!(variants.contains(&"nlke".to_owned()));
        let variants: Vec<String> = token("@dibas")
            .variants()
            .into_iter()
            .map(|v| v.0)
            .collect();
        assert!(variants.contains(&"adibas".to_owned()));
        assert_eq!(token("2024").variants().len(), 1);
        let variants: Vec<String> = token("Arnazon")
            .variants()
            .into_iter()
            .map(|v| v.0)
            .collect();
        assert!(variants.contains(&"amazon".to_owned()));
        assert!(token("G0000000000000ld").variants().len() <= MAX_VARIANTS);
    }

    #[test]
    fn squeezes_runs() {
        assert_eq!(squeeze("guccci"), "guci");
        assert_eq!(squeeze("gucci"), "guci");
        assert_eq!(squeeze(""), "");
    }

    #[test]
    fn one_edit() {
        let chars = |s: &str| s.chars().collect::<Vec<_>>();
        assert!(within_one_edit(&chars("adidas"), &chars("adibas")));
        assert!(within_one_edit(&chars("adidas"), &chars("adids")));
        assert!(within_one_edit(&chars("adidas"), &chars("addidas")));
        assert!(within_one_edit(&chars("adidas"), &chars("aiddas")));
        assert!(!within_one_edit(&chars("adidas"), &chars("abibas")));
        assert!(!within_one_edit(&chars("adidas"), &chars("adidasxx")));
    }

    /// Optimal string alignment distance (Levenshtein with adjacent swaps), by the textbook
    /// dynamic programme.
    fn osa(a: &[u8], b: &[u8]) -> usize {
        let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
        for (i, row) in d.iter_mut().enumerate() {
            row[0] = i;
        }
        for (j, cell) in d[0].iter_mut().enumerate() {
            *cell = j;
        }
        for i in 1..=a.len() {
            for j in 1..=b.len() {
                let cost = usize::from(a[i - 1] != b[j - 1]);
                d[i][j] = (d[i - 1][j] + 1)
                    .min(d[i][j - 1] + 1)
                    .min(d[i - 1][j - 1] + cost);
                if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                    d[i][j] = d[i][j].min(d[i - 2][j - 2] + 1);
                }
            }
        }
        d[a.len()][b.len()]
    }

    #[test]
    fn one_edit_agrees_with_the_distance_on_every_short_string() {
        // Every string of up to five letters over {a, b, c} against every other: 364 strings,
        // 132 496 pairs.
        let mut strings: Vec<Vec<u8>> = vec![Vec::new()];
        let mut last = vec![Vec::new()];
        for _ in 0..5 {
            let next: Vec<Vec<u8>> = last
                .iter()
                .flat_map(|s: &Vec<u8>| {
                    b"abc".iter().map(move |c| {
                        let mut t = s.clone();
                        t.push(*c);
                        t
                    })
                })
                .collect();
            strings.extend(next.iter().cloned());
            last = next;
        }
        for a in &strings {
            for b in &strings {
                assert_eq!(
                    within_one_edit(a, b),
                    osa(a, b) <= 1,
                    "{:?} {:?}",
                    String::from_utf8_lossy(a),
                    String::from_utf8_lossy(b)
                );
            }
        }
    }

    #[test]
    fn marks_join_their_tokens() {
        assert_eq!(mark_text("Louis Vuitton"), "louisvuitton");
        assert_eq!(mark_text("L'Oréal"), "loreal");
        assert_eq!(mark_text("耐克"), "耐克");
    }

    #[test]
    fn never_panics_on_odd_input() {
        for text in [
            "",
            "\u{200B}",
            "\u{0301}",
            "ﷺ",
            "𝕹𝖎𝖐𝖊",
            "\u{10FFFF}",
            "ß",
            "İ",
        ] {
            let _ = tokenize(text);
        }
        assert_eq!(texts("𝐍𝐢𝐤𝐞"), ["nike"]);
    }
}
