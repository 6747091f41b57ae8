//! `verify-notice`: verdicts per second on `POST /v1/verify` at a marketplace node whose
//! registry holds the rights of a trusted office, with a realistic mix of notices: 60 % valid,
//! and 5 % each of a forged notice signature, a tampered credential, an untrusted issuer, a
//! stale notice, a listing class the right does not cover, a notice addressed to another
//! marketplace, an expired right, and a right the registry does not know. Every verdict is
//! checked against what the notice was built to get.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use proto_types::claims;
use proto_types::entry::EntryId;
use proto_types::keys::SecretKey;
use proto_types::timestamp::Timestamp;
use rightsnet_node::ingest::Source;
use serde_json::{Value, json};

use super::{Loader, Outcomes, runtime};
use crate::cluster::{ApiNode, NodeFiles, NodeMode, write_trust};
use crate::cpu::CpuSample;
use crate::fixtures::{
    Feed, Office, Registration, holder_key, marketplace_authority, mix, seed, trust_store,
};
use crate::load::{self, Check, Request};
use crate::report::{Reporter, round};
use crate::stats::per_second;

/// Parameters of the `verify-notice` scenario.
#[derive(Debug, Clone, clap::Args)]
pub struct Params {
    /// Rights in the marketplace's registry.
    #[arg(long, default_value_t = 5_000)]
    pub rights: usize,
    /// Distinct notices sent (in a cycle).
    #[arg(long, default_value_t = 2_000)]
    pub notices: usize,
    /// Seconds per client count.
    #[arg(long, default_value_t = 8.0)]
    pub seconds: f64,
    /// Concurrent clients for the throughput run (the latency run uses one).
    #[arg(long, default_value_t = 8)]
    pub workers: usize,
    /// At most this many requests per run (for tiny smoke runs).
    #[arg(long, default_value_t = u64::MAX)]
    pub max_requests: u64,
    /// Above 1, a third run sends batches of this many notices per request
    /// (`{"notices": [...]}`, at most 100) with the throughput run's clients.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=100))]
    pub batch: u64,
}

impl Default for Params {
    fn default() -> Self {
        Self {
            rights: 5_000,
            notices: 2_000,
            seconds: 8.0,
            workers: 8,
            max_requests: u64::MAX,
            batch: 1,
        }
    }
}

/// What a notice is built to get, out of every 20.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Accepted.
    Valid,
    /// Signed by another key than the holder it names.
    ForgedSignature,
    /// The credential was changed after the office signed it.
    TamperedCredential,
    /// The credential comes from an office the marketplace does not trust.
    UntrustedIssuer,
    /// Created four days ago (older than the 72 h policy).
    Stale,
    /// A listing in a class the right does not cover.
    WrongClass,
    /// Addressed to another marketplace.
    OtherMarketplace,
    /// The right expired.
    ExpiredRight,
    /// The registry does not know the right.
    UnknownRight,
}

impl Kind {
    fn of(index: usize) -> Self {
        match index % 20 {
            0..=11 => Kind::Valid,
            12 => Kind::ForgedSignature,
            13 => Kind::TamperedCredential,
            14 => Kind::UntrustedIssuer,
            15 => Kind::Stale,
            16 => Kind::WrongClass,
            17 => Kind::OtherMarketplace,
            18 => Kind::ExpiredRight,
            _ => Kind::UnknownRight,
        }
    }
}

struct Notice {
    body: Vec<u8>,
    accepted: bool,
}

fn credential(
    issuer: &SecretKey,
    registration: &Registration,
    entry: EntryId,
    now: &Timestamp,
) -> anyhow::Result<Value> {
    let claims = registration.claims(entry)?;
    let valid_until = Timestamp::parse(&format!("{}T23:59:59Z", registration.expiry_date()))?;
    let valid_from = Timestamp::from_unix_millis(now.unix_millis() - 86_400_000)?;
    let document = claims::credential_document(
        &format!("urn:rightsnet:credential:{}", &entry.to_hex()[..32]),
        &issuer.public_key(),
        &holder_key(registration.holder).public_key(),
        &claims,
        &valid_from,
        Some(&valid_until),
    );
    Ok(claims::sign_credential(&document, issuer, &valid_from)?)
}

/// Runs the scenario with the node in `mode`.
pub fn run(params: &Params, mode: &NodeMode, reporter: &mut Reporter<'_>) -> anyhow::Result<()> {
    let runtime = runtime()?;
    let directory = tempfile::tempdir()?;
    let marketplace_key = SecretKey::from_seed(&seed("verify-marketplace", 0));
    let office = Office::new("verify-office", 0);
    let rogue = Office::new("verify-rogue-office", 0);
    let other_marketplace = SecretKey::from_seed(&seed("verify-other-marketplace", 0)).public_key();
    let trust = || -> anyhow::Result<_> {
        trust_store(vec![
            office.authority()?,
            marketplace_authority(marketplace_key.public_key(), "Bench marketplace"),
        ])
    };
    let trust_path = directory.path().join("trust.toml");
    write_trust(&trust_path, &trust()?)?;
    let files = NodeFiles::create(directory.path().join("marketplace"), &marketplace_key)?;

    // The registry: the office's registrations, through the ingest path.
    let mut feed = Feed::new(Office::new("verify-office", 0));
    let signed = feed.registrations(params.rights.max(20))?;
    let ids: Vec<EntryId> = signed.iter().map(|(_, id)| *id).collect();
    let loader = Loader::open(&files.data_dir(), trust()?, true)?;
    let results = runtime.block_on(loader.ingest.submit_many_bytes(
        signed.into_iter().map(|(bytes, _)| bytes).collect(),
        Source::Sync,
    ));
    let mut outcomes = Outcomes::default();
    outcomes.add(&results);
    outcomes.ensure_accepted(ids.len() as u64)?;
    loader.close()?;

    // The notices.
    let now = rightsnet_node::clock::now();
    let today = now.date();
    let marketplace_did = marketplace_key.public_key().to_did_key();
    let rights = ids.len() as u64;
    let registrations = |alive: bool, start: u64| -> Option<(Registration, EntryId)> {
        (0..rights).find_map(|step| {
            let seq = 1 + (start + step) % rights;
            let registration = Registration::new(&office, seq);
            let is_alive = registration.expiry_date().as_str() > today.as_str();
            (is_alive == alive).then(|| (registration, ids[(seq - 1) as usize]))
        })
    };
    let mut notices = Vec::with_capacity(params.notices);
    let mut kinds = [0usize; 2];
    for index in 0..params.notices.max(20) {
        let kind = Kind::of(index);
        let start = mix(index as u64);
        let (mut registration, entry) = registrations(kind != Kind::ExpiredRight, start)
            .context("the registry has no right of the needed kind; load more rights")?;
        let issuer = match kind {
            Kind::UntrustedIssuer => &rogue.key,
            _ => &office.key,
        };
        if kind == Kind::UnknownRight {
            registration.number = format!("9{}", registration.number);
            registration.right_id = format!("FR-TM-{}", registration.number);
        }
        let mut credential = credential(issuer, &registration, entry, &now)?;
        if kind == Kind::TamperedCredential {
            credential["credentialSubject"]["right"]["mark"] = json!("TAMPERED");
        }
        let class = if kind == Kind::WrongClass {
            (1..=45)
                .find(|class| !registration.nice_classes.contains(class))
                .unwrap_or(45)
        } else {
            registration.nice_classes[0]
        };
        let created = if kind == Kind::Stale {
            now.unix_millis() - 4 * 86_400_000
        } else {
            now.unix_millis() - 60_000
        };
        let holder = holder_key(registration.holder);
        let unsigned = json!({
            "v": 1,
            "marketplace": if kind == Kind::OtherMarketplace { other_marketplace.to_did_key() } else { marketplace_did.clone() },
            "right_id": registration.right_id,
            "holder": holder.public_key().to_did_key(),
            "listings": [{"id": format!("listing-{index}"), "url": format!("https://shop.example/item/{index}"), "class": class}],
            "reason": "counterfeit",
            "evidence": [{
                "kind": "test_purchase",
                "digest": format!("sha256:{}", hex::encode(seed("evidence", index as u64))),
                "result": "counterfeit: wrong hologram, no serial number",
            }],
            "good_faith_statement": "I believe in good faith that the listed goods infringe the right.",
            "nonce": hex::encode(seed("nonce", index as u64)),
            "created": Timestamp::from_unix_millis(created)?.as_str(),
            "credential": credential,
        });
        let signer = if kind == Kind::ForgedSignature {
            SecretKey::from_seed(&seed("forger", index as u64))
        } else {
            holder
        };
        let notice = claims::sign_notice(&unsigned, &signer)?;
        let accepted = kind == Kind::Valid;
        kinds[usize::from(accepted)] += 1;
        notices.push(Notice {
            body: serde_json::to_vec(&notice)?,
            accepted,
        });
    }
    let notices = Arc::new(notices);
    let mean_bytes = notices
        .iter()
        .map(|notice| notice.body.len())
        .sum::<usize>()
        / notices.len().max(1);

    reporter.say(format!(
        "verify-notice: {} distinct notices (mean {mean_bytes} bytes; {} built valid, {} invalid in 8 ways) against {} registered rights",
        notices.len(),
        kinds[1],
        kinds[0],
        rights
    ));
    let node = ApiNode::start(
        mode,
        files.config(&trust_path, &[], true, Some(&["FR", "EM", "WO"]))?,
        super::cores(),
    )?;
    let base = node.base_url();
    let mut figures = json!({});
    let mut outcome_error = None;
    let mut runs = vec![
        ("one_client", 1, 1u64),
        ("loaded", params.workers.max(1), 1),
    ];
    if params.batch > 1 {
        runs.push(("batched", params.workers.max(1), params.batch));
    }
    for (label, workers, batch) in runs {
        let make_notices = notices.clone();
        let check_notices = notices.clone();
        let cpu_sample = CpuSample::now(&node.pids());
        // Request `number` carries notices `number × batch` onwards, in a cycle; a batch is
        // right when every verdict in it is as built.
        let at = move |number: u64, offset: u64, len: usize| {
            ((number * batch + offset) % len as u64) as usize
        };
        let outcome = runtime.block_on(load::run(
            &base,
            workers,
            Duration::from_secs_f64(params.seconds),
            params.max_requests,
            Arc::new(move |number| {
                if batch == 1 {
                    let notice = &make_notices[at(number, 0, make_notices.len())];
                    return Request::post("/v1/verify", notice.body.clone());
                }
                let mut body = b"{\"notices\":[".to_vec();
                for offset in 0..batch {
                    if offset > 0 {
                        body.push(b',');
                    }
                    body.extend_from_slice(
                        &make_notices[at(number, offset, make_notices.len())].body,
                    );
                }
                body.extend_from_slice(b"]}");
                Request::post("/v1/verify", body)
            }),
            Arc::new(move |number, status, body| {
                let Ok(value) = serde_json::from_slice::<Value>(body) else {
                    return Check::Wrong;
                };
                let verdicts: Vec<&Value> = if batch == 1 {
                    vec![&value["verdict"]]
                } else {
                    match value["verdicts"].as_array() {
                        Some(items) if items.len() as u64 == batch => {
                            items.iter().map(|item| &item["verdict"]).collect()
                        }
                        _ => return Check::Wrong,
                    }
                };
                let mut all_accepted = true;
                for (offset, verdict) in verdicts.into_iter().enumerate() {
                    let notice = &check_notices[at(number, offset as u64, check_notices.len())];
                    match (status, verdict["accepted"].as_bool()) {
                        (200, Some(accepted)) if accepted == notice.accepted => {
                            all_accepted &= accepted;
                        }
                        _ => return Check::Wrong,
                    }
                }
                if all_accepted {
                    Check::Hit
                } else {
                    Check::Miss
                }
            }),
        ));
        let outcome = match outcome {
            Ok(outcome) => outcome,
            Err(error) => {
                outcome_error = Some(error);
                break;
            }
        };
        let cpu = cpu_sample.elapsed();
        let summary = outcome.latencies.summary();
        let per_s = per_second(outcome.requests * batch, outcome.elapsed);
        reporter.say(format!(
            "  {label:<10} ({workers:>2} clients, {batch:>3} a request): {per_s:>7.0} verdicts/s, {summary} a request; {} requests all as built and all accepted, {} as built with a rejection, {} wrong; {:.2} busy cores, others {:.0} %",
            outcome.hits,
            outcome.misses,
            outcome.wrong,
            cpu.busy_cores(),
            100.0 * cpu.others_share()
        ));
        if let Some(wrong) = &outcome.first_wrong {
            reporter.say(format!("    first wrong verdict: {wrong}"));
        }
        figures[label] = json!({
            "clients": workers,
            "batch": batch,
            "requests": outcome.requests,
            "verdicts": outcome.requests * batch,
            "verdicts_per_s": round(per_s, 1),
            "latency": summary.to_json(),
            "accepted": outcome.hits,
            "rejected": outcome.misses,
            "wrong": outcome.wrong,
            "busy_cores": round(cpu.busy_cores(), 2),
            "others_cpu_share": round(cpu.others_share(), 3),
        });
    }
    let stopped = node.stop();
    if let Some(error) = outcome_error {
        return Err(error);
    }
    stopped?;
    reporter.result(
        "verify-notice",
        json!({
            "rights": rights,
            "notices": notices.len(),
            "valid_share": round(kinds[1] as f64 / notices.len().max(1) as f64, 3),
            "seconds": params.seconds,
            "workers": params.workers,
        }),
        {
            figures["mean_notice_bytes"] = json!(mean_bytes);
            figures
        },
    )?;
    Ok(())
}
