//! The feeds' trees as the writer builds them (protocol §14.1): the same root as RFC 9162's
//! definition over the stored feed, whatever the grouping, order of arrival, failed commits and
//! restarts.

use proto_types::tlog::{self, TreeHash};

use super::*;

/// The root of `leaves` by proto-types' in-memory tree (itself checked against RFC 9162's
/// recursive definition).
fn reference_root(leaves: &[Vec<u8>]) -> TreeHash {
    tlog::MemoryTree::with_leaves(leaves.iter().map(Vec::as_slice)).root()
}

/// Checks every prefix root of `author`'s stored tree against the stored feed.
fn assert_tree_matches_feed(fixture: &Fixture, author: &PublicKey) {
    let store = &fixture.writer.store;
    let feed = store
        .feed(author, 1, usize::MAX, usize::MAX)
        .expect("the feed reads");
    let head = fixture.head_seq(author).unwrap_or(0);
    assert_eq!(feed.len() as u64, head);
    for size in 0..=feed.len() {
        assert_eq!(
            store
                .tree_root(author, size as u64)
                .expect("the root reads"),
            reference_root(&feed[..size]),
            "size {size} of {head}"
        );
    }
    // Nothing stored beyond the head: the first leaf after it is absent.
    assert_eq!(
        store
            .tree_nodes(author, &[tlog::NodeId::new(0, head)])
            .expect("reads"),
        vec![None]
    );
}

#[test]
fn the_tree_follows_the_feed_through_groups_gaps_failed_commits_and_restarts() {
    let mut fixture = Fixture::new();
    let foreign = foreign_key().public_key();
    let own = own_key().public_key();
    let entries = chain(&foreign_key(), (1..=40).map(registration));

    // One at a time, then several in one group, then out of order (held back, released).
    for entry in &entries[..3] {
        fixture.one(store(entry)).expect("stored");
    }
    fixture.group(entries[3..9].iter().map(store).collect());
    fixture.group(entries[9..20].iter().rev().map(store).collect());
    assert_eq!(fixture.head_seq(&foreign), Some(20));
    assert_tree_matches_feed(&fixture, &foreign);

    // A failed commit writes no node; the same entries go in afterwards.
    fixture.writer.store.fail_next_commits(1);
    let answers = fixture.group(entries[20..27].iter().map(store).collect());
    assert!(answers.iter().all(Result::is_err), "{answers:?}");
    assert_tree_matches_feed(&fixture, &foreign);
    fixture.group(entries[20..27].iter().map(store).collect());
    assert_eq!(fixture.head_seq(&foreign), Some(27));
    assert_tree_matches_feed(&fixture, &foreign);

    // Own appends build the own feed's tree the same way, mixed with foreign ones.
    let mut mixed: Vec<_> = (100..110)
        .map(|number| append(registration(number)))
        .collect();
    mixed.extend(entries[27..33].iter().map(store));
    fixture.group(mixed);
    assert_tree_matches_feed(&fixture, &own);

    // After a restart the writer goes on from the stored nodes.
    let mut fixture = fixture.reopen();
    fixture.group(entries[33..].iter().map(store).collect());
    fixture.one(append(registration(200))).expect("appended");
    assert_tree_matches_feed(&fixture, &foreign);
    assert_tree_matches_feed(&fixture, &own);
    assert_eq!(fixture.head_seq(&foreign), Some(40));
}
