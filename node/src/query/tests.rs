//! Mark searches against a brute-force scan: the set, the ranking, the paging, the totals.

use super::*;
use proto_types::body::{RightId, RightStatus, RightType};
use proto_types::entry::EntryId;

const WORDS: [&str; 8] = [
    "alpha", "alpine", "beta", "bet", "gamma", "lumière", "lumen", "delta",
];

/// Rights in the fixture.
const RIGHTS: usize = 8_800;

/// Right `n`: a common word, and one to three words of [`WORDS`] picked by a fixed hash of `n`.
fn right(n: usize) -> RightState {
    let mut hash = (n as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0x5DEE_CE66;
    let mut pick = || {
        hash ^= hash >> 29;
        hash = hash.wrapping_mul(0xBF58_476D_1CE4_E5B9);
        (hash >> 33) as usize
    };
    let count = 1 + pick() % 3;
    let mut mark: Vec<&str> = (0..count).map(|_| WORDS[pick() % WORDS.len()]).collect();
    // Two common words, one the other's prefix: "commun" and "communal" are each under
    // half the rights, and both under the prefix "commun".
    let common = if n % 2 == 0 { "Commun" } else { "Communal" };
    mark.insert(pick() % (mark.len() + 1), common);
    // A word of its own in one right of 40: more distinct tokens under "zeta" than a join
    // takes as one range (MAX_PREFIX_TOKENS), so that last word is checked on each right.
    let own = format!("zeta{n}");
    if n % 40 == 0 {
        mark.push(&own);
    }
    let class = 1 + (pick() % 3) as u8;
    state(n, &mark.join(" "), class)
}

/// Right `FR-TM-n` with `mark` in `class`.
fn state(n: usize, mark: &str, class: u8) -> RightState {
    let right_id = RightId::parse(&format!("FR-TM-{n}")).expect("a right id");
    let date = |text: &str| Date::parse(text).expect("a date");
    RightState {
        jurisdiction: right_id.jurisdiction().clone(),
        right_id,
        right_type: RightType::Trademark,
        number: n.to_string(),
        application_number: None,
        mark_text: Some(mark.to_owned()),
        title: None,
        image_digest: None,
        nice_classes: vec![class],
        holder: serde_json::from_value(json!({"name": "Holder", "country": "FR"}))
            .expect("a holder"),
        filing_date: date("2020-01-02"),
        registration_date: Some(date("2020-06-01")),
        expiry_date: Some(date("2040-01-02")),
        status: RightStatus::Registered,
        registered_by: proto_types::keys::SecretKey::from_seed(&[7; 32]).public_key(),
        last_entry: EntryId([3; 32]),
        history: Vec::new(),
    }
}

/// The brute-force answer: every right whose mark has each whole word, and a word that
/// begins with the last one.
fn expected(rights: &[RightState], mark: &str, class: Option<u8>) -> Vec<String> {
    let words = text::tokens(mark);
    let (last, whole) = words.split_last().expect("words");
    let mut ids: Vec<String> = rights
        .iter()
        .filter(|right| {
            let tokens = text::tokens(right.mark_text.as_deref().unwrap_or_default());
            whole.iter().all(|word| tokens.contains(word))
                && tokens.iter().any(|token| token.starts_with(last.as_str()))
                && class.is_none_or(|class| right.nice_classes.contains(&class))
        })
        .map(|right| right.right_id.as_str().to_owned())
        .collect();
    ids.sort();
    ids
}

/// The tier a brute force puts a mark in for a query (written apart from `tier_of`).
fn brute_tier(mark: &str, query: &str) -> Option<MarkMatch> {
    if text::fold(mark) == text::fold(query) {
        return Some(MarkMatch::Exact);
    }
    let words = text::tokens(query);
    let tokens = text::tokens(mark);
    let (last, whole) = words.split_last()?;
    if !whole.iter().all(|word| tokens.contains(word)) {
        None
    } else if tokens.iter().any(|token| token == last) {
        Some(MarkMatch::Words)
    } else if tokens.iter().any(|token| token.starts_with(last.as_str())) {
        Some(MarkMatch::Prefix)
    } else {
        None
    }
}

/// Checks the order of a paged-through search against the brute force: tiers never go back,
/// each right is in its brute-force tier, and a join's tier (several words) is in right-id
/// order.
fn check_ranking(rights: &[RightState], mark: &str, found: &[(String, Option<MarkMatch>)]) {
    let several = text::tokens(mark).len() > 1;
    for pair in found.windows(2) {
        let ((first, first_tier), (second, second_tier)) = (&pair[0], &pair[1]);
        assert!(first_tier <= second_tier, "{mark}: {first} before {second}");
        if several && first_tier == second_tier && *first_tier != Some(MarkMatch::Exact) {
            assert!(first < second, "{mark}: a join out of right-id order");
        }
    }
    for (id, tier) in found {
        let right = rights
            .iter()
            .find(|right| right.right_id.as_str() == id)
            .expect("a right of the store");
        let wanted = brute_tier(right.mark_text.as_deref().unwrap_or_default(), mark);
        assert_eq!(*tier, wanted, "{mark}: the tier of {id}");
    }
}

/// Every right a mark search finds, with its tier, paging at `limit` rights and `budget` keys
/// a page until the cursor runs out, in the order found; and the first page's total.
fn page_through(
    store: &Store,
    mark: &str,
    class: Option<u8>,
    limit: usize,
    budget: usize,
) -> (Vec<(String, Option<MarkMatch>)>, Total) {
    let mut found: Vec<(String, Option<MarkMatch>)> = Vec::new();
    let mut total = None;
    let mut cursor: Option<String> = None;
    for page in 0.. {
        assert!(page < 100_000, "{mark}: the pages never end");
        let query = SearchQuery::new(
            Some(mark),
            false,
            class,
            None,
            None,
            limit,
            cursor.as_deref(),
        )
        .expect("a query");
        let answer = search_within(store, &query, budget).expect("searches");
        assert!(answer.rights.len() <= limit);
        assert_eq!(
            answer.total.is_some(),
            page == 0,
            "a total on the first page only"
        );
        total = total.or(answer.total);
        found.extend(
            answer
                .rights
                .iter()
                .map(|hit| (hit.right.right_id.as_str().to_owned(), hit.matched)),
        );
        cursor = answer.next_cursor;
        if cursor.is_none() {
            break;
        }
    }
    (found, total.expect("a first page"))
}

/// Checks a total against the number of rights a search finds.
fn check_total(mark: &str, total: Total, found: usize) {
    if total.exact {
        assert_eq!(total.value, found, "{mark}: an exact total");
    } else {
        assert!(
            total.value <= found,
            "{mark}: a lower bound above the count"
        );
        assert!(total.value <= MAX_COUNT);
    }
    // One word is a range of keys, one a right and token: few rights are few keys. (A join
    // may step through many keys to find few rights, and stop counting at MAX_COUNT_SCAN.)
    if found < 100 && text::tokens(mark).len() == 1 {
        assert!(total.exact, "{mark}: few rights, counted exactly");
    }
}

/// A multi-word search joins the words' ranges: across every page it finds exactly the rights a
/// scan of all of them finds, each once, whatever the budget of keys a page may examine (a
/// budget of 1 pauses the join after every round that moves it).
#[test]
fn multi_word_searches_find_what_a_full_scan_finds_across_pages() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let (store, writer) = Store::open(dir.path()).expect("opens");
    let mut rights: Vec<RightState> = (1..=RIGHTS).map(right).collect();
    // Marks that are a query whole (the exact tier), in other case, accents and punctuation.
    for (n, mark) in [
        "Alpha Beta",
        "alpha",
        "Commun",
        "ALPHA-béta",
        "beta alpha",
        "Lumière",
        "commun commun",
    ]
    .into_iter()
    .enumerate()
    {
        rights.push(state(RIGHTS + 1 + n, mark, 1 + (n % 2) as u8));
    }
    for chunk in rights.chunks(1000) {
        let mut batch = writer.batch();
        for state in chunk {
            batch.put_right(None, state).expect("encodes");
        }
        writer.commit(batch, false).expect("commits");
    }
    for (mark, class) in [
        ("alpha beta", None),
        ("beta alpha", None),
        ("COMMUN alp", None),
        ("alp commun", None),
        ("commun commun", None),
        ("commun", None),
        ("alpha", None),
        ("Alpha", Some(2)),
        ("alp", None),
        ("lumiere", None),
        ("zeta", None),
        ("zeta1", Some(1)),
        ("communa", None),
        ("bet bet", None),
        ("Lumiere LUM", None),
        ("gamma delta alpha", None),
        ("alpha commun", Some(2)),
        ("delta be", Some(1)),
        ("commun nothing", None),
        ("nothing commun", None),
        ("communal commun", None),
        ("alpha comm", Some(2)),
        ("communal alpha", None),
        ("commun zeta", None),
        ("alpha zeta", Some(1)),
        ("zeta commun", None),
        ("commun zeta12", None),
        ("commun zeta1200", None),
    ] {
        let wanted = expected(&rights, mark, class);
        // One right a page only where the pages stay few.
        let runs: &[(usize, usize)] = if wanted.len() < 200 {
            &[
                (1, MAX_SCAN),
                (7, MAX_SCAN),
                (500, MAX_SCAN),
                (7, 1),
                (500, 40),
            ]
        } else {
            &[(97, MAX_SCAN), (500, MAX_SCAN), (500, 300), (97, 1)]
        };
        for &(limit, budget) in runs {
            let (ranked, total) = page_through(&store, mark, class, limit, budget);
            check_ranking(&rights, mark, &ranked);
            check_total(mark, total, wanted.len());
            let mut found: Vec<String> = ranked.into_iter().map(|(id, _)| id).collect();
            let count = found.len();
            found.sort();
            found.dedup();
            assert_eq!(found.len(), count, "{mark} (limit {limit}): a right twice");
            assert_eq!(
                found, wanted,
                "{mark} (limit {limit}, budget {budget}, class {class:?})"
            );
        }
    }
    // The tokens under a prefix, one seek each, and the point check of a right's key.
    let tokens = |prefix: &str, max: usize| {
        store
            .mark_tokens_with_prefix(prefix, max)
            .expect("reads")
            .map(|tokens| {
                tokens
                    .into_iter()
                    .map(|token| String::from_utf8(token).expect("text"))
                    .collect::<Vec<_>>()
            })
    };
    assert_eq!(tokens("al", 64).expect("two"), ["alpha", "alpine"]);
    assert_eq!(tokens("commun", 2).expect("two"), ["commun", "communal"]);
    assert_eq!(tokens("commun", 1), None);
    assert_eq!(tokens("zzz", 1).expect("none"), Vec::<String>::new());
    assert_eq!(tokens("", 1000).expect("all").len(), 10 + RIGHTS / 40);
    assert_eq!(
        tokens("zeta", MAX_PREFIX_TOKENS),
        None,
        "checked on each right"
    );
    // A token's range in right-id order: steps, seeks at and between ids, the end, against
    // the fixture's ids under "commun" (the even ones) in byte order.
    let mut under: Vec<String> = (2..=RIGHTS)
        .step_by(2)
        .map(|n| format!("FR-TM-{n}"))
        .collect();
    under.sort();
    let first_at = |target: &str| under.iter().find(|id| id.as_str() >= target).cloned();
    {
        let mut range = store.token_range(b"commun");
        assert_eq!(range.current(), None, "not positioned before a move");
        let mut previous = String::new();
        for target in [
            "",
            "FR-TM-1",
            "FR-TM-10",
            "FR-TM-1000",
            "FR-TM-1000",
            "FR-TM-1001",
        ]
        .into_iter()
        .chain(["FR-TM-2", "FR-TM-3", "FR-TM-4321", "FR-TM-4322", "FR-TM-99"])
        {
            let target = target.max(previous.as_str()).to_owned();
            let got = range.seek(target.as_bytes()).expect("reads");
            let got = got.map(|id| String::from_utf8(id.to_vec()).expect("text"));
            assert_eq!(got, first_at(&target), "seek to {target}");
            previous = target;
        }
        let at = range.current().map(<[u8]>::to_vec).expect("on a key");
        let next = range.step().expect("reads").map(<[u8]>::to_vec);
        let position = under
            .iter()
            .position(|id| id.as_bytes() == at.as_slice())
            .expect("an id under the word");
        assert_eq!(
            next.as_deref(),
            under.get(position + 1).map(String::as_bytes)
        );
        let last = under.last().expect("ids").clone();
        assert_eq!(
            range.seek(last.as_bytes()).expect("reads"),
            Some(last.as_bytes())
        );
        assert_eq!(range.step().expect("reads"), None, "past the last");
        assert_eq!(range.seek(b"FR-TM-999999").expect("reads"), None);
        assert!(range.visited() >= 5);
    }
    assert_eq!(
        store.token_range(b"comm").seek(b"").expect("reads"),
        None,
        "no whole token comm"
    );
    // Cursors a client made up, or kept from another search, are refused or start a page
    // somewhere, but never fail or loop.
    for mark in ["commun alpha", "commun", "alp"] {
        for cursor in [
            "",
            "00",
            "ff",
            "74",
            "45",
            "57",
            "50",
            "5700",
            "50ff",
            "4574",
            "5774636f6d6d756e00",
            "50746c756d00ffff",
            "5046522d544d2d3130",
        ] {
            let Ok(query) = SearchQuery::new(Some(mark), false, None, None, None, 10, Some(cursor))
            else {
                assert!(
                    !cursor.starts_with("45")
                        && !cursor.starts_with("57")
                        && !cursor.starts_with("50"),
                    "{mark}: the cursor {cursor} names a tier"
                );
                continue;
            };
            search(&store, &query).expect("searches");
        }
    }
    drop((store, writer));
}

/// Words of the random stores: tokens that begin one another (`ka`, `kar`, `karo`), so that a
/// last word's union and a whole word overlap.
const RANDOM_WORDS: [&str; 6] = ["ka", "kar", "karo", "mi", "mira", "z"];
/// Words of the random queries: those, and prefixes that are no mark's whole token.
const QUERY_WORDS: [&str; 8] = ["ka", "kar", "karo", "mi", "mira", "z", "k", "m"];

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(24))]

    /// On random small stores (ids that begin one another, `FR-TM-1` and `FR-TM-10`; marks of
    /// one to four words that begin one another), every mark query of one to three words paged
    /// through at any page size and key budget finds exactly the brute-force set, each right
    /// once, ranked (exact, then every word, then prefix; a join's tier in right-id order),
    /// with a first-page total that is exact or a lower bound.
    #[test]
    fn joins_agree_with_brute_force_on_random_stores(
        marks in proptest::collection::btree_map(
            1usize..3000,
            (proptest::collection::vec(0usize..RANDOM_WORDS.len(), 1..5), 1u8..3),
            1..150,
        ),
        query in proptest::collection::vec(0usize..QUERY_WORDS.len(), 1..4),
        class in proptest::option::of(1u8..3),
        limit in 1usize..9,
        budget in 1usize..80,
    ) {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let (store, writer) = Store::open(dir.path()).expect("opens");
        let rights: Vec<RightState> = marks
            .iter()
            .map(|(n, (words, class))| {
                let mark: Vec<&str> = words.iter().map(|word| RANDOM_WORDS[*word]).collect();
                state(*n, &mark.join(" "), *class)
            })
            .collect();
        let mut batch = writer.batch();
        for right in &rights {
            batch.put_right(None, right).expect("encodes");
        }
        writer.commit(batch, false).expect("commits");
        let mark: Vec<&str> = query.iter().map(|word| QUERY_WORDS[*word]).collect();
        let mark = mark.join(" ");
        let wanted = expected(&rights, &mark, class);
        let (ranked, total) = page_through(&store, &mark, class, limit, budget);
        check_ranking(&rights, &mark, &ranked);
        check_total(&mark, total, wanted.len());
        let mut sorted: Vec<String> = ranked.into_iter().map(|(id, _)| id).collect();
        sorted.sort();
        let mut once = sorted.clone();
        once.dedup();
        proptest::prop_assert_eq!(once.len(), sorted.len(), "a right twice");
        proptest::prop_assert_eq!(sorted, wanted, "{} (class {:?})", mark, class);
        drop((store, writer));
    }
}
