//! Demo data: a plan of registrations and status changes built from [`crate::catalog`], and
//! its submission over each office node's HTTP API by a few concurrent workers (the node
//! group-commits concurrent writes).
//!
//! The plan is deterministic for a given set of holder keys and year: a first run that stopped
//! while seeding is completed by the next one, and the node answers a repeated registration or
//! renewal with "unchanged". A repeated cancellation is refused (409), and so is a repeated
//! registration of a right whose holder, expiry or status the interrupted run already changed
//! (protocol §6.3); a resumed seeding accepts both.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use anyhow::{Context, bail};
use proto_types::body::{Jurisdiction, RightId, RightType};
use proto_types::keys::{KeyFile, SecretKey};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde::Serialize;
use serde_json::{Value, json};

use crate::catalog::{self, Catalog, HolderSpec, RegisteredHolder};
use crate::layout::{read_small, write_atomic};
use crate::{Interrupted, Stop};

/// Registrations each office's register gets.
pub const REGISTRATIONS_PER_JURISDICTION: usize = 80;
/// Requests in flight at once while seeding.
pub const SEED_WORKERS: usize = 8;
/// Attempts of one request that fails for a transient reason (no connection, 5xx, 429).
pub const MAX_ATTEMPTS: u32 = 4;
/// The holders' directory under the testnet directory.
pub const HOLDERS_DIR: &str = "holders";
/// The index of the holders' keys, in [`HOLDERS_DIR`].
pub const HOLDERS_INDEX: &str = "holders.json";

/// One request of the plan.
#[derive(Debug, Clone)]
pub struct SeedRequest {
    /// Index of the office (in the list given to [`plan`]) whose node takes the request.
    pub office: usize,
    /// The API path, e.g. `/v1/registrations`.
    pub path: String,
    /// The JSON body.
    pub body: Value,
}

/// The demo data of a network: registrations first, then each right's changes in order.
#[derive(Debug, Default)]
pub struct Plan {
    /// Every registration.
    pub registrations: Vec<SeedRequest>,
    /// The status changes of each changed right, in the order they must be applied.
    pub changes: Vec<Vec<SeedRequest>>,
    /// How many renewals, assignments and cancellations `changes` holds.
    pub renewed: usize,
    /// See `renewed`.
    pub assigned: usize,
    /// See `renewed`.
    pub cancelled: usize,
}

#[derive(Debug, Serialize)]
struct HolderIndexEntry<'a> {
    name: &'a str,
    country: &'a str,
    did: &'a str,
    key_file: String,
}

/// The `did:key` of every keyed holder the `jurisdictions` register, by holder slug; each key
/// is read from `DIR/holders/<slug>.json`, generated there first when missing. Also writes
/// `DIR/holders/holders.json`, an index of names, countries, dids and key files.
pub fn ensure_holder_keys(
    dir: &Path,
    jurisdictions: &[String],
) -> anyhow::Result<BTreeMap<&'static str, String>> {
    let holders_dir = dir.join(HOLDERS_DIR);
    std::fs::create_dir_all(&holders_dir)
        .with_context(|| format!("cannot create {}", holders_dir.display()))?;
    let mut keyed: BTreeMap<&'static str, &'static HolderSpec> = BTreeMap::new();
    for code in jurisdictions {
        for registered in catalog::for_jurisdiction(code).holders {
            if registered.holder.keyed {
                keyed.insert(registered.holder.slug, registered.holder);
            }
        }
    }
    let mut dids = BTreeMap::new();
    for slug in keyed.keys() {
        let path = holders_dir.join(format!("{slug}.json"));
        let did = if path.exists() {
            KeyFile::parse(read_small(&path)?.as_bytes())
                .with_context(|| format!("invalid holder key {}", path.display()))?
                .public_key()
                .to_did_key()
        } else {
            let key = SecretKey::generate();
            write_atomic(
                &path,
                KeyFile::from_secret(&key).to_json().as_bytes(),
                0o600,
            )?;
            key.public_key().to_did_key()
        };
        dids.insert(*slug, did);
    }
    let index: Vec<HolderIndexEntry<'_>> = keyed
        .iter()
        .filter_map(|(slug, holder)| {
            dids.get(slug).map(|did| HolderIndexEntry {
                name: holder.name,
                country: holder.country,
                did,
                key_file: holders_dir
                    .join(format!("{slug}.json"))
                    .to_string_lossy()
                    .into_owned(),
            })
        })
        .collect();
    let mut text = serde_json::to_string_pretty(&index).context("cannot encode the holders")?;
    text.push('\n');
    write_atomic(&holders_dir.join(HOLDERS_INDEX), text.as_bytes(), 0o644)?;
    Ok(dids)
}

/// A calendar date as the API writes it.
fn date(year: i32, month: u32, day: u32) -> String {
    format!("{year:04}-{month:02}-{day:02}")
}

/// `(year, month)` plus `months` months.
fn add_months(year: i32, month: u32, months: u32) -> (i32, u32) {
    let total = month - 1 + months;
    (year + (total / 12) as i32, total % 12 + 1)
}

fn holder_json(holder: &HolderSpec, dids: &BTreeMap<&'static str, String>) -> Value {
    let mut value = json!({"name": holder.name, "country": holder.country});
    if let Some(did) = dids.get(holder.slug) {
        value["key"] = Value::from(did.as_str());
    }
    value
}

/// A right's facts that its status changes depend on.
struct Planned {
    right_id: String,
    right_type: RightType,
    holder: &'static HolderSpec,
    registration_year: i32,
    month: u32,
    day: u32,
    expiry_year: Option<i32>,
}

/// The demo data for offices whose jurisdictions are `offices[i]`, with the holders' `dids`,
/// as of `this_year`. Deterministic for equal arguments.
pub fn plan(
    offices: &[Vec<String>],
    dids: &BTreeMap<&'static str, String>,
    this_year: i32,
) -> anyhow::Result<Plan> {
    let mut plan = Plan::default();
    for (office, jurisdictions) in offices.iter().enumerate() {
        for code in jurisdictions {
            plan_jurisdiction(&mut plan, office, code, dids, this_year)?;
        }
    }
    Ok(plan)
}

fn plan_jurisdiction(
    plan: &mut Plan,
    office: usize,
    code: &str,
    dids: &BTreeMap<&'static str, String>,
    this_year: i32,
) -> anyhow::Result<()> {
    let jurisdiction =
        Jurisdiction::parse(code).map_err(|error| anyhow::anyhow!("jurisdiction: {error}"))?;
    let catalog: Catalog = catalog::for_jurisdiction(code);
    let seed = code.bytes().fold(0x5eed_u64, |seed, byte| {
        seed.wrapping_mul(131).wrapping_add(u64::from(byte))
    });
    let mut rng = StdRng::seed_from_u64(seed);
    let mut rights = Vec::with_capacity(REGISTRATIONS_PER_JURISDICTION);
    for index in 0..REGISTRATIONS_PER_JURISDICTION {
        let registered: &RegisteredHolder = catalog
            .holders
            .choose(&mut rng)
            .context("a catalogue without holders")?;
        let holder = registered.holder;
        let stem = registered
            .stems
            .choose(&mut rng)
            .context("a holder without stems")?;
        let design = !catalog.design_objects.is_empty() && rng.gen_bool(0.1);
        // Most rights were filed years ago and are registered; a few recent ones are pending.
        let pending = rng.gen_bool(0.06);
        // Terms are 10 years for marks and 5 for designs; no right is older than two terms, so
        // one renewal keeps any of them alive.
        let oldest = if design { 9 } else { 19 };
        let filing_year = if pending {
            this_year - 1
        } else {
            this_year - rng.gen_range(2..=oldest)
        };
        let month = rng.gen_range(1..=12);
        let day = rng.gen_range(1..=28);
        let (right_type, number, mut body) = if design {
            let object = catalog
                .design_objects
                .choose(&mut rng)
                .context("no design objects")?;
            let number = format!("{filing_year}{index:04}");
            // "Théière Café Lumière", but "长城食品茶壶": the brand comes first in Chinese and
            // Japanese, which write no space between words.
            let title = if catalog.joiner.is_empty() {
                format!("{stem}{object}")
            } else {
                format!("{object} {stem}")
            };
            (
                RightType::Design,
                number,
                json!({"right_type": "design", "title": title}),
            )
        } else {
            let jitter = rng.gen_range(0..catalog.number_step);
            let value = catalog.number_base + index as u64 * catalog.number_step + jitter;
            let number = format!(
                "{}{value:0width$}",
                catalog.number_prefix,
                width = catalog.number_width
            );
            let word = catalog
                .product_words
                .choose(&mut rng)
                .copied()
                .unwrap_or("");
            let mark = if word.is_empty() {
                (*stem).to_owned()
            } else {
                format!("{stem}{}{word}", catalog.joiner)
            };
            let wanted = rng.gen_range(1..=holder.classes.len());
            let mut classes: Vec<u8> = holder
                .classes
                .choose_multiple(&mut rng, wanted)
                .copied()
                .collect();
            classes.sort_unstable();
            (
                RightType::Trademark,
                number,
                json!({"right_type": "trademark", "mark_text": mark, "nice_classes": classes}),
            )
        };
        let right_id = RightId::new(&jurisdiction, right_type, &number)
            .map_err(|error| anyhow::anyhow!("right id: {error}"))?;
        body["jurisdiction"] = Value::from(code);
        body["number"] = Value::from(number);
        body["holder"] = holder_json(holder, dids);
        body["filing_date"] = Value::from(date(filing_year, month, day));
        let term = if design { 5 } else { 10 };
        let mut planned = Planned {
            right_id: right_id.as_str().to_owned(),
            right_type,
            holder,
            registration_year: filing_year,
            month,
            day,
            expiry_year: None,
        };
        if pending {
            body["status"] = Value::from("filed");
        } else {
            let (registration_year, registration_month) =
                add_months(filing_year, month, rng.gen_range(4..=12));
            body["registration_date"] =
                Value::from(date(registration_year, registration_month, day));
            body["expiry_date"] = Value::from(date(filing_year + term, month, day));
            body["status"] = Value::from("registered");
            planned.registration_year = registration_year;
            planned.expiry_year = Some(filing_year + term);
            rights.push(planned);
        }
        plan.registrations.push(SeedRequest {
            office,
            path: "/v1/registrations".to_owned(),
            body,
        });
    }
    for right in &rights {
        let changes = plan_changes(plan, office, right, &catalog, this_year, &mut rng, dids);
        if !changes.is_empty() {
            plan.changes.push(changes);
        }
    }
    Ok(())
}

const CANCELLATION_REASONS: [&str; 4] = [
    "revoked for non-use during five consecutive years",
    "declared invalid: filed in bad faith",
    "surrendered by the holder",
    "declared invalid on the basis of an earlier right",
];

/// The status changes of one registered right: lapsed rights are mostly renewed; a few rights
/// change hands; a few are cancelled (last, since nothing follows a cancellation).
fn plan_changes(
    plan: &mut Plan,
    office: usize,
    right: &Planned,
    catalog: &Catalog,
    this_year: i32,
    rng: &mut StdRng,
    dids: &BTreeMap<&'static str, String>,
) -> Vec<SeedRequest> {
    let path = format!("/v1/rights/{}/status", right.right_id);
    let request = |body: Value| SeedRequest {
        office,
        path: path.clone(),
        body,
    };
    let mut changes = Vec::new();
    // The day after the registration year's end at the earliest, and before this year.
    let change_year = |rng: &mut StdRng| {
        let first = (right.registration_year + 1).min(this_year - 1);
        rng.gen_range(first..=this_year - 1)
    };
    let mut expiry_year = right.expiry_year;
    if let Some(expiry) = expiry_year.filter(|&year| year <= this_year) {
        if rng.gen_bool(0.7) {
            let term = if right.right_type == RightType::Design {
                5
            } else {
                10
            };
            changes.push(request(json!({
                "change": "renewed",
                "effective_date": date(expiry, right.month, right.day),
                "new_expiry_date": date(expiry + term, right.month, right.day),
            })));
            expiry_year = Some(expiry + term);
            plan.renewed += 1;
        }
    }
    let roll: f64 = rng.r#gen();
    let assign = roll < 0.12;
    let alive = expiry_year.is_some_and(|year| year > this_year);
    let cancel = alive && (roll < 0.03 || (0.12..0.19).contains(&roll));
    // When a right changes hands and is then cancelled, the assignment comes first in the
    // year as well as in the feed.
    let (assign_months, cancel_months) = if assign && cancel {
        (1..=6, 7..=12)
    } else {
        (1..=12, 1..=12)
    };
    if assign {
        let others: Vec<&RegisteredHolder> = catalog
            .holders
            .iter()
            .filter(|other| other.holder.slug != right.holder.slug)
            .collect();
        if let Some(new_holder) = others.choose(rng) {
            let year = change_year(rng);
            changes.push(request(json!({
                "change": "assigned",
                "effective_date": date(year, rng.gen_range(assign_months), rng.gen_range(1..=28)),
                "new_holder": holder_json(new_holder.holder, dids),
                "reference": format!("ASSIGN-{}", right.right_id),
            })));
            plan.assigned += 1;
        }
    }
    if cancel {
        let reason = CANCELLATION_REASONS
            .choose(rng)
            .copied()
            .unwrap_or_default();
        changes.push(request(json!({
            "change": "cancelled",
            "effective_date": date(this_year - 1, rng.gen_range(cancel_months), rng.gen_range(1..=28)),
            "reason": reason,
        })));
        plan.cancelled += 1;
    }
    changes
}

/// Where one office's requests go.
#[derive(Debug, Clone)]
pub struct Target<'a> {
    /// The node's name, for messages.
    pub name: &'a str,
    /// Base URL of its API.
    pub api: &'a str,
    /// Its operator token.
    pub token: &'a str,
}

/// Submits the plan: every registration, then every right's changes, [`SEED_WORKERS`] requests
/// at a time. With `resuming`, a refused (409) request counts as already applied: a status
/// change applied by the interrupted run, or a registration whose right has changed since (a
/// second registration may not change the holder, expiry or status, protocol §6.3).
pub fn submit(
    http: &reqwest::blocking::Client,
    targets: &[Target<'_>],
    plan: &Plan,
    stop: &Stop,
    resuming: bool,
) -> anyhow::Result<()> {
    for_each_parallel(&plan.registrations, stop, |request| {
        send(http, targets, request, resuming)
    })?;
    for_each_parallel(&plan.changes, stop, |changes| {
        for request in changes {
            send(http, targets, request, resuming)?;
        }
        Ok(())
    })
}

/// Runs `work` on every item with [`SEED_WORKERS`] threads; stops at the first error (which it
/// returns) or when a stop is requested ([`Interrupted`]).
fn for_each_parallel<T: Sync>(
    items: &[T],
    stop: &Stop,
    work: impl Fn(&T) -> anyhow::Result<()> + Sync,
) -> anyhow::Result<()> {
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let first_error: Mutex<Option<anyhow::Error>> = Mutex::new(None);
    std::thread::scope(|scope| {
        for _ in 0..SEED_WORKERS.min(items.len()) {
            scope.spawn(|| {
                loop {
                    if failed.load(Ordering::SeqCst) {
                        return;
                    }
                    if stop.is_requested() {
                        failed.store(true, Ordering::SeqCst);
                        if let Ok(mut slot) = first_error.lock() {
                            slot.get_or_insert_with(|| anyhow::Error::new(Interrupted));
                        }
                        return;
                    }
                    let Some(item) = items.get(next.fetch_add(1, Ordering::SeqCst)) else {
                        return;
                    };
                    if let Err(error) = work(item) {
                        failed.store(true, Ordering::SeqCst);
                        if let Ok(mut slot) = first_error.lock() {
                            slot.get_or_insert(error);
                        }
                        return;
                    }
                }
            });
        }
    });
    match first_error.into_inner() {
        Ok(Some(error)) => Err(error),
        Ok(None) => Ok(()),
        Err(_) => bail!("a seeding worker panicked"),
    }
}

/// Sends one request, retrying transient failures; 200 and 201 are success, and 409 too when
/// `accept_conflict`.
fn send(
    http: &reqwest::blocking::Client,
    targets: &[Target<'_>],
    request: &SeedRequest,
    accept_conflict: bool,
) -> anyhow::Result<()> {
    let target = targets
        .get(request.office)
        .context("a seed request for an unknown office")?;
    let url = format!("{}{}", target.api, request.path);
    let mut attempt = 0;
    loop {
        attempt += 1;
        let result = http
            .post(&url)
            .bearer_auth(target.token)
            .json(&request.body)
            .send();
        let retry_reason = match result {
            Ok(response) => {
                let status = response.status().as_u16();
                if matches!(status, 200 | 201) || (accept_conflict && status == 409) {
                    return Ok(());
                }
                let text: String = response
                    .text()
                    .unwrap_or_default()
                    .chars()
                    .take(500)
                    .collect();
                if !(status == 429 || status >= 500) {
                    bail!(
                        "{} answered {status} to POST {}: {text}",
                        target.name,
                        request.path
                    );
                }
                format!("{status}: {text}")
            }
            Err(error) => error.to_string(),
        };
        if attempt >= MAX_ATTEMPTS {
            bail!(
                "POST {} to {} failed {attempt} times, last: {retry_reason}",
                request.path,
                target.name
            );
        }
        crate::pause(Duration::from_millis(100 << attempt));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proto_types::body::{Body, EntryKind};

    fn all_offices() -> Vec<Vec<String>> {
        ["FR", "CN", "US", "EM", "JP", "DE", "GB", "KR", "WO", "BX"]
            .iter()
            .map(|code| vec![(*code).to_owned()])
            .collect()
    }

    fn fake_dids() -> BTreeMap<&'static str, String> {
        let jurisdictions: Vec<String> = all_offices().into_iter().flatten().collect();
        let mut dids = BTreeMap::new();
        for code in &jurisdictions {
            for registered in catalog::for_jurisdiction(code).holders {
                if registered.holder.keyed {
                    dids.entry(registered.holder.slug)
                        .or_insert_with(|| SecretKey::generate().public_key().to_did_key());
                }
            }
        }
        dids
    }

    /// Every body of the plan is one the node accepts: it decodes and validates as a
    /// registration or status body once the API has added `v` and `right_id`.
    #[test]
    fn every_planned_body_is_valid() {
        let dids = fake_dids();
        let plan = plan(&all_offices(), &dids, 2026).unwrap();
        assert_eq!(
            plan.registrations.len(),
            all_offices().len() * REGISTRATIONS_PER_JURISDICTION
        );
        let mut ids = std::collections::BTreeSet::new();
        for request in &plan.registrations {
            let mut body = request.body.clone();
            let jurisdiction = Jurisdiction::parse(body["jurisdiction"].as_str().unwrap()).unwrap();
            let right_type: RightType = serde_json::from_value(body["right_type"].clone()).unwrap();
            let id =
                RightId::new(&jurisdiction, right_type, body["number"].as_str().unwrap()).unwrap();
            assert!(
                ids.insert(id.as_str().to_owned()),
                "duplicate {}",
                id.as_str()
            );
            body["v"] = Value::from(1);
            body["right_id"] = Value::from(id.as_str());
            Body::decode(EntryKind::Registration, &body)
                .unwrap_or_else(|error| panic!("{error}: {body}"));
        }
        assert!(plan.renewed > 0 && plan.assigned > 0 && plan.cancelled > 0);
        for changes in &plan.changes {
            for request in changes {
                let right_id = request
                    .path
                    .trim_start_matches("/v1/rights/")
                    .trim_end_matches("/status");
                assert!(ids.contains(right_id), "{right_id}");
                let mut body = request.body.clone();
                body["v"] = Value::from(1);
                body["right_id"] = Value::from(right_id);
                Body::decode(EntryKind::Status, &body)
                    .unwrap_or_else(|error| panic!("{error}: {body}"));
            }
            // Nothing follows a cancellation.
            let cancelled = changes
                .iter()
                .position(|request| request.body["change"] == "cancelled");
            assert!(cancelled.is_none_or(|index| index == changes.len() - 1));
        }
    }

    #[test]
    fn the_plan_is_deterministic() {
        let dids = fake_dids();
        let offices = all_offices();
        let first = plan(&offices, &dids, 2026).unwrap();
        let second = plan(&offices, &dids, 2026).unwrap();
        let bodies = |plan: &Plan| {
            plan.registrations
                .iter()
                .map(|request| request.body.to_string())
                .chain(
                    plan.changes
                        .iter()
                        .flatten()
                        .map(|request| request.body.to_string()),
                )
                .collect::<Vec<_>>()
        };
        assert_eq!(bodies(&first), bodies(&second));
    }
}
