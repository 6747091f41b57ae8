//! The screening evaluation set (issue 16): real brand names (`data/screening/brands.tsv`, from
//! name-suggestion-index) registered as rights, listing titles that obfuscate them by each
//! technique sellers use, and generic titles that name no brand. Deterministic: the same
//! titles on every run.

use serde_json::{Value, json};

use crate::fixtures::{JURISDICTIONS, holder_dids, mix};

/// The brands: Wikidata id, name, Nice class, jurisdiction.
const BRANDS: &str = include_str!("../data/screening/brands.tsv");

/// One brand of the set.
#[derive(Debug, Clone)]
pub struct Brand {
    /// Wikidata id (`Q…`).
    pub wikidata: String,
    /// The name, as NSI writes it.
    pub name: String,
    /// The Nice class of its NSI category.
    pub class: u8,
    /// The jurisdiction it is registered in here (its country when the bench has an office
    /// for it, otherwise one picked from the brand's id).
    pub jurisdiction: &'static str,
    /// Its right id.
    pub right_id: String,
}

/// Every brand of the set, in file order.
pub fn brands() -> Vec<Brand> {
    BRANDS
        .lines()
        .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
        .enumerate()
        .filter_map(|(index, line)| {
            let mut fields = line.split('\t');
            let wikidata = fields.next()?.to_owned();
            let name = fields.next()?.to_owned();
            let class: u8 = fields.next()?.parse().ok()?;
            let country = fields.next()?.trim();
            let jurisdiction = JURISDICTIONS
                .iter()
                .find(|code| **code == country)
                .copied()
                .unwrap_or(
                    JURISDICTIONS[(mix(index as u64) % JURISDICTIONS.len() as u64) as usize],
                );
            let right_id = format!("{jurisdiction}-TM-9{index:07}");
            Some(Brand {
                wikidata,
                name,
                class,
                jurisdiction,
                right_id,
            })
        })
        .collect()
}

impl Brand {
    /// The registration body an office signs for the brand.
    pub fn body_json(&self, number: usize) -> Value {
        json!({
            "v": 1,
            "right_id": self.right_id,
            "right_type": "trademark",
            "jurisdiction": self.jurisdiction,
            "number": self.right_id.rsplit('-').next().unwrap_or_default(),
            "mark_text": self.name,
            "nice_classes": [self.class],
            "holder": {
                "name": format!("{} Holdings", self.name),
                "country": self.jurisdiction,
                "key": holder_dids()[number % holder_dids().len()],
            },
            "filing_date": "2015-03-02",
            "registration_date": "2015-09-02",
            "expiry_date": "2035-03-02",
            "status": "registered",
        })
    }
}

/// The techniques, in report order.
pub const TECHNIQUES: [&str; 10] = [
    "fold",
    "confusable",
    "leet",
    "separators",
    "zero_width",
    "spacing",
    "doubled",
    "dropped",
    "typo",
    "cjk",
];

/// Product words per Nice class, to build titles around a mark.
fn products(class: u8) -> &'static [&'static str] {
    match class {
        25 => &[
            "sneakers",
            "hoodie",
            "t-shirt",
            "running shoes",
            "jacket",
            "cap",
        ],
        18 => &["handbag", "wallet", "backpack", "leather belt bag"],
        14 => &["watch", "necklace", "bracelet", "ring"],
        3 => &["perfume 100ml", "lipstick", "face cream", "shampoo"],
        9 => &["phone case", "charger", "earbuds", "sunglasses"],
        28 => &["football", "yoga mat", "toy car", "tennis racket"],
        12 => &["car mats", "tyre", "bike helmet"],
        _ => &["gift card", "voucher", "mug", "tote bag", "keychain"],
    }
}

/// Generic title parts.
const ADJECTIVES: [&str; 12] = [
    "new",
    "vintage",
    "women's",
    "men's",
    "kids",
    "premium",
    "handmade",
    "large",
    "small",
    "lightweight",
    "waterproof",
    "organic",
];
const COLOURS: [&str; 10] = [
    "black",
    "white",
    "red",
    "navy blue",
    "green",
    "beige",
    "pink",
    "grey",
    "brown",
    "yellow",
];
const NOUNS: [(&str, u8); 24] = [
    ("leather handbag", 18),
    ("running shoes", 25),
    ("cotton t-shirt", 25),
    ("denim jacket", 25),
    ("wool scarf", 25),
    ("summer dress", 25),
    ("hiking boots", 25),
    ("baseball cap", 25),
    ("travel backpack", 18),
    ("wallet", 18),
    ("wrist watch", 14),
    ("silver necklace", 14),
    ("phone case", 9),
    ("wireless earbuds", 9),
    ("usb charger", 9),
    ("face cream", 3),
    ("shampoo", 3),
    ("water bottle", 21),
    ("coffee mug", 21),
    ("yoga mat", 28),
    ("jigsaw puzzle", 28),
    ("green tea", 30),
    ("desk lamp", 11),
    ("notebook", 16),
];
const EXTRAS: [&str; 10] = [
    "size 10",
    "free shipping",
    "2 pack",
    "gift for her",
    "one size",
    "750 ml",
    "xl",
    "with box",
    "best seller",
    "eu 42",
];

/// One listing of the evaluation.
#[derive(Debug, Clone)]
pub struct EvalListing {
    /// Its id.
    pub id: String,
    /// The title.
    pub title: String,
    /// Its class.
    pub class: Option<u8>,
    /// The technique (`None` for a generic title).
    pub technique: Option<&'static str>,
    /// The right it must find (obfuscated titles).
    pub right_id: Option<String>,
}

/// Cyrillic and Greek look-alikes of Latin letters.
fn homoglyph(c: char) -> Option<char> {
    Some(match c {
        'a' => 'а',
        'e' => 'е',
        'o' => 'о',
        'p' => 'р',
        'c' => 'с',
        'x' => 'х',
        'y' => 'у',
        'i' => 'і',
        'A' => 'А',
        'B' => 'В',
        'E' => 'Е',
        'K' => 'К',
        'M' => 'М',
        'H' => 'Н',
        'O' => 'О',
        'P' => 'Р',
        'C' => 'С',
        'T' => 'Т',
        'X' => 'Х',
        'N' => 'Ν',
        'I' => 'Ι',
        'Z' => 'Ζ',
        _ => return None,
    })
}

fn leet(c: char) -> Option<char> {
    Some(match c.to_ascii_lowercase() {
        'a' => '4',
        'e' => '3',
        'i' => '1',
        'o' => '0',
        's' => '$',
        't' => '7',
        _ => return None,
    })
}

/// Positions of the ASCII letters of `chars`.
fn letters(chars: &[char]) -> Vec<usize> {
    (0..chars.len())
        .filter(|&i| chars[i].is_ascii_alphabetic())
        .collect()
}

/// The mark obfuscated by `technique`, or `None` when the technique does not apply to it.
pub fn obfuscate(name: &str, technique: &str, hash: u64) -> Option<String> {
    let chars: Vec<char> = name.chars().collect();
    let latin = chars.iter().filter(|c| c.is_ascii_alphabetic()).count();
    let has_cjk = chars.iter().any(|c| ('\u{4E00}'..='\u{9FFF}').contains(c));
    let pick = |list: &[usize], salt: u64| list[(mix(hash ^ salt) % list.len() as u64) as usize];
    // One edit is looked for in marks whose screening key (words joined, doubled letters
    // collapsed) has six characters or more (docs/SCREENING.md): the typo and dropped-letter
    // titles are made for those marks only.
    let key_length = rightsnet_node::screening::mark_keys(name)
        .filter(|keys| keys.halves.is_some())
        .map_or(0, |keys| keys.exact.chars().count());
    let out = match technique {
        "fold" if latin >= 2 => {
            if hash % 3 == 0 {
                chars
                    .iter()
                    .map(|c| {
                        if c.is_ascii_alphanumeric() {
                            char::from_u32(*c as u32 + 0xFEE0).unwrap_or(*c)
                        } else {
                            *c
                        }
                    })
                    .collect()
            } else if hash % 3 == 1 {
                name.to_uppercase()
            } else {
                let vowels: Vec<usize> = (0..chars.len())
                    .filter(|&i| "aeiou".contains(chars[i]))
                    .collect();
                if vowels.is_empty() {
                    name.to_lowercase()
                } else {
                    let at = pick(&vowels, 1);
                    chars
                        .iter()
                        .enumerate()
                        .map(|(i, c)| {
                            if i == at {
                                match c {
                                    'a' => 'á',
                                    'e' => 'é',
                                    'i' => 'ï',
                                    'o' => 'ô',
                                    _ => 'ü',
                                }
                            } else {
                                *c
                            }
                        })
                        .collect()
                }
            }
        }
        "confusable" => {
            let targets: Vec<usize> = (0..chars.len())
                .filter(|&i| homoglyph(chars[i]).is_some())
                .collect();
            if targets.is_empty() || latin < 3 {
                return None;
            }
            let first = pick(&targets, 2);
            let second = pick(&targets, 3);
            chars
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    if i == first || i == second {
                        homoglyph(*c).unwrap_or(*c)
                    } else {
                        *c
                    }
                })
                .collect()
        }
        "leet" => {
            let targets: Vec<usize> = (0..chars.len())
                .filter(|&i| leet(chars[i]).is_some())
                .collect();
            if targets.is_empty() || latin < 4 {
                return None;
            }
            let at = pick(&targets, 4);
            chars
                .iter()
                .enumerate()
                .map(|(i, c)| if i == at { leet(*c).unwrap_or(*c) } else { *c })
                .collect()
        }
        "separators" if latin >= 3 => {
            let separator = ['.', '-', '_', '*', '·'][(hash % 5) as usize];
            let mut out = String::new();
            for (i, c) in chars.iter().filter(|c| !c.is_whitespace()).enumerate() {
                if i > 0 {
                    out.push(separator);
                }
                out.push(*c);
            }
            out
        }
        "zero_width" if latin >= 3 => {
            let middle = chars.len() / 2;
            let invisible = ['\u{200B}', '\u{200D}', '\u{00AD}', '\u{2060}'][(hash % 4) as usize];
            chars[..middle]
                .iter()
                .chain(std::iter::once(&invisible))
                .chain(chars[middle..].iter())
                .collect()
        }
        "spacing" if latin >= 3 => {
            if chars.iter().any(|c| c.is_whitespace()) && hash % 2 == 0 {
                chars.iter().filter(|c| !c.is_whitespace()).collect()
            } else {
                let mut out = String::new();
                for c in chars.iter().filter(|c| !c.is_whitespace()) {
                    if !out.is_empty() {
                        out.push(' ');
                    }
                    out.push(*c);
                }
                out
            }
        }
        "doubled" if latin >= 3 => {
            let at = pick(&letters(&chars), 5);
            chars
                .iter()
                .enumerate()
                .flat_map(|(i, c)| if i == at { vec![*c, *c] } else { vec![*c] })
                .collect()
        }
        // A letter dropped: found within one edit, so only for marks of seven letters or
        // more (the rest keeps six).
        "dropped" if key_length >= 7 && chars.iter().all(char::is_ascii) => {
            let at = pick(&letters(&chars)[1..], 6);
            chars
                .iter()
                .enumerate()
                .filter(|(i, _)| *i != at)
                .map(|(_, c)| *c)
                .collect()
        }
        "typo" if key_length >= 6 && chars.iter().all(char::is_ascii) => {
            let positions = letters(&chars);
            let at = pick(&positions[1..positions.len() - 1], 7);
            let mut out = chars.clone();
            if hash % 2 == 0 && at + 1 < out.len() && out[at + 1].is_ascii_alphabetic() {
                out.swap(at, at + 1);
            } else {
                let c = out[at];
                let replacement = if c.is_ascii_lowercase() {
                    (b'a' + ((c as u8 - b'a' + 1 + (hash % 24) as u8) % 26)) as char
                } else {
                    (b'A' + ((c.to_ascii_uppercase() as u8 - b'A' + 1 + (hash % 24) as u8) % 26))
                        as char
                };
                out[at] = replacement;
            }
            out.into_iter().collect()
        }
        "cjk" if has_cjk => format!("正品{name}新款"),
        _ => return None,
    };
    (out != name || technique == "cjk").then_some(out)
}

/// Obfuscated titles: for each of the first `count` brands (spread over the set) every
/// technique that applies, the title built around the obfuscated mark, with the brand's class
/// when `with_class`.
pub fn obfuscated_listings(brands: &[Brand], count: usize, with_class: bool) -> Vec<EvalListing> {
    let step = (brands.len() / count.max(1)).max(1);
    let mut listings = Vec::new();
    for (number, brand) in brands.iter().step_by(step).take(count).enumerate() {
        let hash = mix(number as u64 ^ 0x5c7e);
        for technique in TECHNIQUES {
            let Some(obfuscated) = obfuscate(&brand.name, technique, hash) else {
                continue;
            };
            let product = products(brand.class);
            let product = product[(hash % product.len() as u64) as usize];
            let title = match (technique, hash % 3) {
                ("cjk", _) => obfuscated,
                (_, 0) => format!("{obfuscated} {product}"),
                (_, 1) => format!(
                    "New {obfuscated} {product} {}",
                    EXTRAS[(hash >> 8) as usize % EXTRAS.len()]
                ),
                _ => format!(
                    "{} {product} {obfuscated} style",
                    ADJECTIVES[(hash >> 4) as usize % ADJECTIVES.len()]
                ),
            };
            listings.push(EvalListing {
                id: format!("pos-{number}-{technique}"),
                title,
                class: with_class.then_some(brand.class),
                technique: Some(technique),
                right_id: Some(brand.right_id.clone()),
            });
        }
    }
    listings
}

/// Generic titles that name no brand, with the class of their product.
pub fn generic_listings(count: usize) -> Vec<EvalListing> {
    (0..count)
        .map(|number| {
            let hash = mix(number as u64 ^ 0x9e9e);
            let (noun, class) = NOUNS[(hash % NOUNS.len() as u64) as usize];
            let adjective = ADJECTIVES[(hash >> 8) as usize % ADJECTIVES.len()];
            let colour = COLOURS[(hash >> 16) as usize % COLOURS.len()];
            let extra = EXTRAS[(hash >> 24) as usize % EXTRAS.len()];
            let title = match hash % 4 {
                0 => format!("{adjective} {colour} {noun}"),
                1 => format!("{adjective} {noun} {extra}"),
                2 => format!("{colour} {noun} {extra}"),
                _ => format!("{adjective} {colour} {noun} {extra}"),
            };
            EvalListing {
                id: format!("neg-{number}"),
                title,
                class: ((hash >> 32) % 4 != 0).then_some(class),
                technique: None,
                right_id: None,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_set_is_real_and_deterministic() {
        let brands = brands();
        assert!(brands.len() > 10_000, "{}", brands.len());
        assert!(brands.iter().any(|b| b.name == "Adidas"));
        let one = obfuscated_listings(&brands, 200, true);
        let two = obfuscated_listings(&brands, 200, true);
        assert_eq!(
            one.iter().map(|l| &l.title).collect::<Vec<_>>(),
            two.iter().map(|l| &l.title).collect::<Vec<_>>()
        );
        for technique in TECHNIQUES {
            assert!(
                one.iter().any(|l| l.technique == Some(technique)),
                "{technique} applies to some brand"
            );
        }
    }

    #[test]
    fn techniques_change_the_mark() {
        assert_eq!(obfuscate("Nike", "spacing", 1).as_deref(), Some("N i k e"));
        assert!(obfuscate("Adidas Originals", "dropped", 3).is_some());
        assert!(obfuscate("Gap", "typo", 3).is_none());
        let confusable = obfuscate("Chanel", "confusable", 9).unwrap();
        assert_ne!(confusable, "Chanel");
        assert!(!confusable.is_ascii());
    }
}
