//! Screening against an index in memory built with [`mark_keys`] exactly as the store builds
//! it (the store's own implementation is tested in `storage/tests.rs` and end to end in the
//! API tests).

use std::collections::{BTreeMap, HashMap};

use proto_types::body::{Jurisdiction, RightId, RightStatus, RightType};
use proto_types::entry::EntryId;
use proto_types::timestamp::Date;

use super::*;

#[derive(Default)]
struct MemoryIndex {
    exact: BTreeMap<String, Vec<String>>,
    marks: std::sync::Arc<marks::MarkSet>,
    rights: HashMap<String, RightState>,
    /// One-edit lookups asked for.
    near_calls: usize,
}

impl MemoryIndex {
    fn add(&mut self, state: RightState) {
        let id = state.right_id.as_str().to_owned();
        if let Some(keys) = state.mark_text.as_deref().and_then(mark_keys) {
            self.marks.add([keys.exact.clone()]);
            self.exact.entry(keys.exact).or_default().push(id.clone());
        }
        self.rights.insert(id, state);
    }
}

impl ScreenIndex for MemoryIndex {
    fn exact(&mut self, key: &str, found: &mut dyn FnMut(&str)) -> Result<(), StorageError> {
        for id in self.exact.get(key).into_iter().flatten() {
            found(id);
        }
        Ok(())
    }

    fn near(&mut self, key: &str, found: &mut dyn FnMut(&str, &str)) -> Result<(), StorageError> {
        self.near_calls += 1;
        for mark in self.marks.snapshot().near_marks(key) {
            for id in self.exact.get(&mark).into_iter().flatten() {
                found(&mark, id);
            }
        }
        Ok(())
    }

    fn right(&mut self, right_id: &str) -> Result<Option<Arc<RightState>>, StorageError> {
        Ok(self.rights.get(right_id).cloned().map(Arc::new))
    }
}

fn right(id: &str, mark: &str, classes: &[u8], status: RightStatus) -> RightState {
    let date = |text: &str| Date::parse(text).expect("a date");
    let right_id = RightId::parse(id).expect("a right id");
    RightState {
        jurisdiction: right_id.jurisdiction().clone(),
        right_id,
        right_type: RightType::Trademark,
        number: id.rsplit('-').next().unwrap_or("1").to_owned(),
        application_number: None,
        mark_text: Some(mark.to_owned()),
        title: None,
        image_digest: None,
        nice_classes: classes.to_vec(),
        holder: serde_json::from_value(serde_json::json!({"name": "Holder", "country": "FR"}))
            .expect("a holder"),
        filing_date: date("2020-01-02"),
        registration_date: Some(date("2020-06-01")),
        expiry_date: Some(date("2040-01-02")),
        status,
        registered_by: proto_types::keys::SecretKey::from_seed(&[7; 32]).public_key(),
        last_entry: EntryId([3; 32]),
        history: Vec::new(),
    }
}

fn index() -> MemoryIndex {
    let mut index = MemoryIndex::default();
    let alive = RightStatus::Registered;
    index.add(right("US-TM-1", "Nike", &[25, 28], alive));
    index.add(right("FR-TM-2", "Gucci", &[18, 25], alive));
    index.add(right("DE-TM-3", "Adidas", &[25], alive));
    index.add(right("FR-TM-4", "Louis Vuitton", &[18], alive));
    index.add(right("US-TM-5", "Apple", &[9], alive));
    index.add(right("CN-TM-6", "耐克", &[25], alive));
    index.add(right("US-TM-7", "Amazon", &[35], alive));
    index.add(right("FR-TM-8", "Chanel", &[3, 25], RightStatus::Cancelled));
    index.add(right("EM-TM-9", "Hermès", &[18], alive));
    // Two words that squeeze to an ordinary one (`oooone` → `one`).
    index.add(right("FI-TM-10", "Ööö Onè", &[25], alive));
    index
}

fn screen_with(title: &str, class: Option<u8>, jurisdictions: Option<&[&str]>) -> ListingResult {
    screen_in(&mut index(), title, class, jurisdictions)
}

/// Screens one title against `index`, with the shipped lexicon, on 2026-12-01.
fn screen_in(
    index: &mut MemoryIndex,
    title: &str,
    class: Option<u8>,
    jurisdictions: Option<&[&str]>,
) -> ListingResult {
    let screener = Screener::new(Lexicon::shipped(), None);
    let listing = Listing {
        id: "l1".into(),
        title: title.into(),
        description: None,
        class,
        jurisdictions: jurisdictions.map(|codes| {
            codes
                .iter()
                .map(|code| Jurisdiction::parse(code).expect("a code"))
                .collect()
        }),
    };
    let today = Date::parse("2026-12-01").expect("a date");
    screener
        .screen(index, &listing, DEFAULT_LIMIT, &today)
        .expect("screens")
}

fn screen(title: &str) -> ListingResult {
    screen_with(title, None, None)
}

/// The first match's right and how, or panics with the whole result.
fn first(title: &str) -> (String, Vec<&'static str>) {
    let result = screen(title);
    let best = result
        .matches
        .first()
        .unwrap_or_else(|| panic!("no match in {title:?}: {result:?}"));
    (best.right_id.clone(), best.how.clone())
}

#[test]
fn every_technique_is_caught_and_named() {
    let cases: &[(&str, &str, &str)] = &[
        ("Nike Air Max 90", "US-TM-1", "exact"),
        ("NIKE running shoes", "US-TM-1", "fold"),
        ("Ｎｉｋｅ shoes", "US-TM-1", "fold"),
        ("Nïke shoes", "US-TM-1", "fold"),
        ("N\u{0456}ke shoes", "US-TM-1", "confusable"),
        ("ΝΙΚΕ shoes", "US-TM-1", "confusable"),
        ("N1KE shoes", "US-TM-1", "leet"),
        ("Gucc1 bag", "FR-TM-2", "leet"),
        ("G.u.c.c.i bag", "FR-TM-2", "separators"),
        ("Gu\u{200B}cci bag", "FR-TM-2", "separators"),
        ("N I K E shoes", "US-TM-1", "spacing"),
        ("LouisVuitton bag", "FR-TM-4", "spacing"),
        ("Guccci bag", "FR-TM-2", "doubled"),
        ("Guci bag", "FR-TM-2", "doubled"),
        ("Adidsa shoes", "DE-TM-3", "edit1"),
        ("Addidas shoes", "DE-TM-3", "doubled"),
        ("Adids shoes", "DE-TM-3", "edit1"),
        ("@dibas shoes", "DE-TM-3", "edit1"),
        ("Arnazon gift card", "US-TM-7", "confusable"),
        ("正品耐克运动鞋", "CN-TM-6", "exact"),
        ("Hermes bag", "EM-TM-9", "fold"),
    ];
    for (title, right_id, step) in cases {
        let (found, how) = first(title);
        assert_eq!(&found, right_id, "{title}");
        assert!(how.contains(step), "{title}: {how:?} lacks {step}");
    }
    assert_eq!(first("@dibas shoes").1, ["leet", "edit1"]);
}

#[test]
fn matched_text_is_the_original_span() {
    let result = screen("New N.I.K.E. shoes");
    assert_eq!(result.matches[0].matched_text, "N.I.K.E");
    let result = screen("正品耐克运动鞋");
    assert_eq!(result.matches[0].matched_text, "耐克");
}

#[test]
fn only_live_rights_in_class_and_territory() {
    assert!(screen("Chanel perfume").matches.is_empty(), "cancelled");
    assert!(screen_with("Nike shoes", Some(9), None).matches.is_empty());
    assert_eq!(screen_with("Nike shoes", Some(25), None).matches.len(), 1);
    assert!(
        screen_with("Nike shoes", None, Some(&["FR"]))
            .matches
            .is_empty()
    );
    assert_eq!(
        screen_with("Nike shoes", None, Some(&["US"])).matches.len(),
        1
    );
}

#[test]
fn ordinary_word_marks_need_the_class_and_the_whole_word() {
    assert!(screen("fresh apple pie").matches.is_empty());
    assert!(
        screen_with("fresh apple pie", Some(30), None)
            .matches
            .is_empty()
    );
    // An ordinary word written plainly is the word, in any case, unless an indicator says
    // otherwise; disguised, it is the mark.
    for plain in [
        "Apple iPhone case",
        "APPLE iPhone case",
        "apple phone charger",
    ] {
        assert!(
            screen_with(plain, Some(9), None).matches.is_empty(),
            "{plain}"
        );
    }
    for disguised in [
        "4pple iPhone case",
        "\u{0391}pple iPhone case",
        "A p p l e iPhone case",
        "Àpple iPhone case",
        "Ａｐｐｌｅ iPhone case",
        "Apple iPhone case 1:1 replica",
    ] {
        let result = screen_with(disguised, Some(9), None);
        assert_eq!(
            result.matches.first().map(|m| m.right_id.as_str()),
            Some("US-TM-5"),
            "{disguised}"
        );
        assert!(result.matches[0].score < 1.0 || disguised.contains("1:1"));
    }
    assert!(screen_with("4pple pie", Some(30), None).matches.is_empty());
}

#[test]
fn a_mark_that_squeezes_to_an_ordinary_word_is_weak() {
    for title in [
        "black cotton t-shirt one size",
        "kids summer dress ONE SIZE",
        "one",
    ] {
        assert!(
            screen_with(title, Some(25), None).matches.is_empty(),
            "{title}"
        );
    }
    for title in [
        "Ööö Onè hoodie",
        "ooo one hoodie",
        "0NE hoodie",
        "o n e hoodie",
    ] {
        assert_eq!(
            screen_with(title, Some(25), None)
                .matches
                .first()
                .map(|m| m.right_id.as_str()),
            Some("FI-TM-10"),
            "{title}"
        );
    }
    // Weak: never without the class.
    assert!(screen("Ööö Onè hoodie").matches.is_empty());
}

#[test]
fn dictionary_words_are_not_read_as_misspelt_marks() {
    // "adieus" is one edit from nothing here, but "nikes" is no dictionary word and "bike"
    // is: a dictionary word never matches within one edit.
    assert!(screen("bike helmet").matches.is_empty());
    assert!(screen("mountain bikes").matches.is_empty());
    assert!(
        screen("Adidaz")
            .matches
            .iter()
            .any(|m| m.right_id == "DE-TM-3")
    );
}

#[test]
fn indicators_are_reported_and_raise_the_score() {
    let plain = screen("N1ke shoes");
    let flagged = screen("N1ke shoes 1:1 mirror quality");
    assert_eq!(flagged.indicators, ["1:1", "mirror quality"]);
    assert!(flagged.matches[0].how.contains(&"indicator"));
    assert!(flagged.matches[0].score > plain.matches[0].score);
    let only = screen("AAA replica watch");
    assert!(only.matches.is_empty());
    assert_eq!(only.indicators, ["replica", "aaa"]);
}

#[test]
fn descriptions_are_screened_with_a_lower_score() {
    let screener = Screener::new(Lexicon::shipped(), None);
    let listing = Listing {
        id: "l2".into(),
        title: "Running shoes".into(),
        description: Some("Like the famous N1ke ones".into()),
        class: None,
        jurisdictions: None,
    };
    let today = Date::parse("2026-12-01").expect("a date");
    let result = screener
        .screen(&mut index(), &listing, DEFAULT_LIMIT, &today)
        .expect("screens");
    assert_eq!(result.matches[0].right_id, "US-TM-1");
    assert!(result.matches[0].how.contains(&"description"));
}

#[test]
fn generic_titles_do_not_match() {
    for title in [
        "Women's leather handbag black large",
        "Wireless bluetooth earbuds with charging case",
        "Men's running shoes size 10",
        "Stainless steel water bottle 750 ml",
        "Vintage denim jacket blue",
        "Kids puzzle 1000 pieces",
        "Organic green tea 100 bags",
    ] {
        let result = screen(title);
        assert!(result.matches.is_empty(), "{title}: {result:?}");
    }
}

#[test]
fn the_territory_policy_restricts_matches() {
    let screener = Screener::new(
        Lexicon::shipped(),
        Some(vec![Jurisdiction::parse("FR").expect("FR")]),
    );
    let listing = Listing {
        id: "l".into(),
        title: "Nike Gucci".into(),
        description: None,
        class: None,
        jurisdictions: None,
    };
    let today = Date::parse("2026-12-01").expect("a date");
    let result = screener
        .screen(&mut index(), &listing, DEFAULT_LIMIT, &today)
        .expect("screens");
    let ids: Vec<&str> = result.matches.iter().map(|m| m.right_id.as_str()).collect();
    assert_eq!(ids, ["FR-TM-2"]);
}

#[test]
fn mark_keys_bound_short_and_long_marks() {
    assert!(mark_keys("GA").is_none());
    assert!(mark_keys("耐").is_none());
    assert!(mark_keys("耐克").is_some());
    assert_eq!(mark_keys("Gucci").unwrap().exact, "guci");
    assert!(mark_keys("Gucci").unwrap().halves.is_none());
    let keys = mark_keys("Adidas").unwrap();
    assert_eq!(keys.halves, Some((6, "adi".into(), "das".into())));
    assert!(mark_keys(&"x".repeat(200)).is_none());
    assert!(mark_keys(&"abcdefghij ".repeat(8)).is_none());
}

#[test]
fn hostile_titles_stay_bounded() {
    let long = "N 1 K E ".repeat(200);
    let result = screen(&long);
    assert!(result.matches.len() <= DEFAULT_LIMIT);
    let noise: String = (0..500)
        .map(|i| char::from_u32(0x4E00 + i).unwrap())
        .collect();
    let _ = screen(&noise);
    let _ = screen(&"\u{200B}".repeat(500));
}

/// A run of spaced-out letters is compared within one edit as a whole (and with the words
/// around it), never by its sub-runs: `B l a c k s t o r a` finds `Blackstore` within one
/// edit, and ten spaced letters ask for a handful of one-edit lookups, not one per sub-run
/// (64, the bound, before: the slowest titles at a million marks).
#[test]
fn spaced_out_runs_are_compared_within_one_edit_whole() {
    let screen_counting = |title: &str| {
        let mut index = index();
        index.add(right(
            "US-TM-11",
            "Blackstore",
            &[25],
            RightStatus::Registered,
        ));
        let result = screen_in(&mut index, title, Some(25), None);
        (result, index.near_calls)
    };
    let (result, _) = screen_counting("B l a c k s t o r a running shoes");
    let best = result.matches.first().expect("a match");
    assert_eq!(best.right_id, "US-TM-11");
    assert!(best.how.contains(&"edit1"), "{:?}", best.how);
    assert!(best.how.contains(&"spacing"), "{:?}", best.how);
    let (result, lookups) = screen_counting("B l a c k s t o r e running shoes");
    assert_eq!(
        result.matches.first().expect("a match").right_id,
        "US-TM-11"
    );
    assert!(lookups <= 4, "{lookups} one-edit lookups");
    // Still found exactly inside a longer run (`N I K E S H O E S`: the sub-run is looked up
    // exactly, only not within one edit).
    let (result, lookups) = screen_counting("N I K E S H O E S");
    assert_eq!(result.matches.first().expect("a match").right_id, "US-TM-1");
    assert!(lookups <= 2, "{lookups} one-edit lookups");
}

/// A weak mark (an ordinary word) spelled by part of a run of spaced-out letters is not the
/// mark: `s t o r e` inside `B l a c k s t o r e` is not `Store`, though `S t o r e` alone is.
#[test]
fn a_weak_mark_inside_a_spaced_run_is_not_reported() {
    let screener = Screener::new(Lexicon::shipped(), None);
    let screen_store = |title: &str| {
        let mut index = index();
        index.add(right("US-TM-12", "Store", &[25], RightStatus::Registered));
        screen_in(&mut index, title, Some(25), None)
            .matches
            .iter()
            .map(|found| found.right_id.clone())
            .collect::<Vec<_>>()
    };
    assert!(
        screener.lexicon().is_dictionary("store"),
        "the test needs a weak mark"
    );
    assert_eq!(screen_store("S t o r e hoodie"), ["US-TM-12"]);
    assert!(screen_store("B l a c k s t o r e hoodie").is_empty());
    assert!(screen_store("S t o r e b l a c k hoodie").is_empty());
}
