//! The trust store file, its validation and its changes, and changes of the live store.

use super::*;
use proto_types::keys::SecretKey;

#[test]
fn parses_checks_and_round_trips() {
    let office = SecretKey::generate().public_key();
    let market = SecretKey::generate().public_key();
    let text = format!(
        "[[authority]]\ndid = \"{office}\"\nname = \"INPI\"\nrole = \"office\"\njurisdictions = [\"FR\"]\n\n[[authority]]\ndid = \"{market}\"\nname = \"Shop\"\nrole = \"marketplace\"\n"
    );
    let store = TrustStore::from_toml(&text).unwrap();
    let france = Jurisdiction::parse("FR").unwrap();
    let china = Jurisdiction::parse("CN").unwrap();
    assert!(store.office_for(&office, &france));
    assert!(!store.office_for(&office, &china));
    assert!(!store.office_for(&market, &france));
    assert!(store.is_marketplace(&market));
    let again = TrustStore::from_toml(&store.to_toml()).unwrap();
    assert_eq!(again.len(), 2);
    assert!(TrustStore::from_toml(&format!("{text}\n[[authority]]\ndid = \"{office}\"\nname = \"x\"\nrole = \"office\"\njurisdictions = [\"DE\"]\n")).is_err());
    assert!(TrustStore::from_toml("[[authority]]\nbogus = 1\n").is_err());
}

fn office(did: PublicKey, codes: &[&str]) -> TrustedAuthority {
    TrustedAuthority {
        did,
        name: "Office".into(),
        role: AuthorityRole::Office,
        jurisdictions: codes
            .iter()
            .map(|c| Jurisdiction::parse(c).unwrap())
            .collect(),
    }
}

#[test]
fn changes_are_validated_like_the_file() {
    let listed = SecretKey::generate().public_key();
    let store = TrustStore::from_authorities(vec![office(listed, &["FR"])]).unwrap();
    let other = SecretKey::generate().public_key();
    assert!(matches!(
        store.with_added(office(listed, &["DE"])),
        Err(TrustError::Duplicate(_))
    ));
    assert!(matches!(
        store.with_added(office(other, &[])),
        Err(TrustError::OfficeWithoutJurisdiction(_))
    ));
    assert!(matches!(
        store.with_added(office(other, &["DE", "DE"])),
        Err(TrustError::Jurisdictions { .. })
    ));
    let many: Vec<&str> = proto_types::body::codes::ISO_3166_ALPHA2[..65].to_vec();
    assert!(matches!(
        store.with_added(office(other, &many)),
        Err(TrustError::Jurisdictions { .. })
    ));
    for name in [
        "",
        "  ",
        "two\nlines",
        "\u{85}",
        &"x".repeat(MAX_TRUSTED_NAME_CHARS + 1),
    ] {
        let mut named = office(other, &["DE"]);
        named.name = name.to_owned();
        assert!(
            matches!(store.with_added(named), Err(TrustError::Name { .. })),
            "{name:?}"
        );
    }
    // The same rules hold for the file.
    assert!(TrustStore::from_toml(&format!(
        "[[authority]]\ndid = \"{other}\"\nname = \"x\"\nrole = \"office\"\njurisdictions = [\"DE\", \"DE\"]\n"
    ))
    .is_err());
    let added = store.with_added(office(other, &["DE"])).unwrap();
    assert_eq!(added.len(), 2);
    assert_eq!(store.len(), 1, "a change makes a new store");
    assert!(matches!(
        added.with_jurisdictions(&other, Vec::new()),
        Err(TrustError::OfficeWithoutJurisdiction(_))
    ));
    let moved = added
        .with_jurisdictions(&other, vec![Jurisdiction::parse("AT").unwrap()])
        .unwrap();
    assert!(moved.office_for(&other, &Jurisdiction::parse("AT").unwrap()));
    assert!(!moved.office_for(&other, &Jurisdiction::parse("DE").unwrap()));
    let removed = moved.with_removed(&listed).unwrap();
    assert!(removed.get(&listed).is_none());
    assert!(matches!(
        removed.with_removed(&listed),
        Err(TrustError::NotListed(_))
    ));
    assert!(matches!(
        removed.with_jurisdictions(&listed, vec![Jurisdiction::parse("FR").unwrap()]),
        Err(TrustError::NotListed(_))
    ));
    let text = removed.to_toml_checked().unwrap();
    assert_eq!(
        TrustStore::from_toml(&text).unwrap().sorted(),
        removed.sorted()
    );
}

#[test]
fn a_change_takes_effect_only_once_persisted() {
    let listed = SecretKey::generate().public_key();
    let other = SecretKey::generate().public_key();
    let trust = Trust::new(
        TrustStore::from_authorities(vec![office(listed, &["FR"])]).unwrap(),
        &[],
    );
    let france = Jurisdiction::parse("FR").unwrap();
    assert_eq!(trust.view().source, TrustSource::ConfiguredFile);
    let failed = trust.change_store(
        |store| store.with_added(office(other, &["FR"])),
        |_| Err(anyhow::anyhow!("disk full")),
    );
    assert!(matches!(failed, Err(TrustChangeError::Persist(_))));
    assert!(trust.get(&other).is_none(), "nothing changed");
    let invalid = trust.change_store(|store| store.with_removed(&other), |_| Ok(()));
    assert!(matches!(
        invalid,
        Err(TrustChangeError::Invalid(TrustError::NotListed(_)))
    ));
    let mut persisted = None;
    trust
        .change_store(
            |store| store.with_added(office(other, &["FR"])),
            |store| {
                persisted = Some(store.to_toml_checked()?);
                Ok(())
            },
        )
        .unwrap();
    assert!(trust.office_for(&other, &france), "in effect at once");
    assert_eq!(trust.view().source, TrustSource::DataDirectory);
    let persisted = TrustStore::from_toml(&persisted.unwrap()).unwrap();
    assert_eq!(persisted.sorted(), trust.base().store().sorted());
    trust
        .change_store(|store| store.with_removed(&listed), |_| Ok(()))
        .unwrap();
    assert!(!trust.office_for(&listed, &france));
    assert!(trust.get(&listed).is_none());
}
