//! The writer's half of the credential log (protocol §6.10–6.11): what a `credential` or
//! `credential_status` entry does against the log as the current group left it, the group's
//! staged records (so that a credential and its revocation in one group see each other), the
//! allocation of this node's status indexes and the issuing command that logs a credential
//! before anyone sees it.

use std::collections::HashMap;

use proto_types::body::{Body, CredentialId, CredentialV1, MAX_STATUS_INDEX};
use proto_types::entry::Entry;
use proto_types::keys::{PublicKey, SecretKey};
use serde_json::Value;

use super::effects::Effect;
use super::writer::{Staged, Writer};
use super::{IngestError, IngestOutcome, Refusal, Source};
use crate::credential_log::{self, CredentialRecord, CredentialRefusal, LogPosition};
use crate::storage::{StorageError, StoreBatch};

/// Builds and signs a credential once the writer has allocated its status index, with the key
/// the writer signs with at that moment (so that a rotation between the request and the write
/// cannot log a credential under another key than its issuer's): the signed document and the
/// `credential` body that logs it.
pub type IssueFn = Box<dyn FnOnce(u32, &SecretKey) -> Result<Issued, String> + Send>;

/// A credential built by an [`IssueFn`].
pub struct Issued {
    /// The signed credential, as the holder receives it.
    pub credential: Value,
    /// The `credential` body that logs it.
    pub body: CredentialV1,
}

/// Why an issued credential was not logged (and so not given out).
#[derive(Debug, thiserror::Error)]
pub enum IssueError {
    /// The entry was refused or not committed.
    #[error(transparent)]
    Ingest(#[from] IngestError),
    /// The credential could not be built or signed.
    #[error("building the credential failed: {0}")]
    Build(String),
}

/// The credential log as the current group left it, on top of the store.
#[derive(Default)]
pub(super) struct StagedCredentials {
    /// Records written by this group, by credential id.
    records: HashMap<CredentialId, CredentialRecord>,
    /// Status indexes taken by this group: (issuer, index) → credential.
    indexes: HashMap<(PublicKey, u32), CredentialId>,
    /// The highest status index this group gave each issuer key.
    highest: HashMap<PublicKey, u32>,
    /// Issuer keys' log versions as this group left them.
    versions: HashMap<PublicKey, u64>,
}

impl Writer {
    /// A credential's record as this group left it, or as stored.
    fn credential_record(
        &self,
        staged: &Staged,
        credential_id: &CredentialId,
    ) -> Result<Option<CredentialRecord>, StorageError> {
        if let Some(record) = staged.credentials.records.get(credential_id) {
            return Ok(Some(record.clone()));
        }
        self.store.credential(credential_id.as_str())
    }

    /// The rules of §6.10–6.11 for an entry at `position`: the record before (none for a new
    /// credential) and after, or why the entry changes nothing.
    fn credential_rules(
        &self,
        staged: &Staged,
        position: &LogPosition,
        body: &Body,
    ) -> Result<Result<(Option<CredentialRecord>, CredentialRecord), CredentialRefusal>, StorageError>
    {
        if let Some(compromised) =
            credential_log::compromised(&self.trust, &position.author, position.seq)
        {
            return Ok(Err(compromised));
        }
        match body {
            Body::Credential(body) => {
                let jurisdiction = body.right_id.jurisdiction();
                if !self.trust.office_for(&position.author, jurisdiction) {
                    return Ok(Err(CredentialRefusal::NotOffice(jurisdiction.clone())));
                }
                if let Some(logged) = self.credential_record(staged, &body.credential_id)? {
                    return Ok(Err(CredentialRefusal::DuplicateId {
                        credential_id: body.credential_id.clone(),
                        entry_id: logged.entry_id,
                    }));
                }
                let key = (position.author, body.status_index);
                let taken = match staged.credentials.indexes.get(&key) {
                    Some(taken) => Some(taken.clone()),
                    None => self
                        .store
                        .credential_at_index(&position.author, body.status_index)?
                        .and_then(|found| CredentialId::parse(&found.credential_id).ok()),
                };
                if let Some(taken_by) = taken {
                    return Ok(Err(CredentialRefusal::DuplicateIndex {
                        status_index: body.status_index,
                        taken_by,
                    }));
                }
                Ok(Ok((None, credential_log::logged(position, body))))
            }
            Body::CredentialStatus(body) => {
                let Some(record) = self.credential_record(staged, &body.credential_id)? else {
                    return Ok(Err(CredentialRefusal::NotLogged(
                        body.credential_id.clone(),
                    )));
                };
                Ok(credential_log::change_status(&record, position, body)
                    .map(|next| (Some(record), next)))
            }
            _ => unreachable!("credential_rules is called for credential log bodies only"),
        }
    }

    /// What a `credential` or `credential_status` entry does.
    pub(super) fn credential_effect(
        &self,
        staged: &Staged,
        entry: &Entry,
    ) -> Result<Effect, IngestError> {
        let position = LogPosition {
            entry_id: entry.id(),
            author: *entry.author(),
            authority: self.trust.root(entry.author()),
            seq: entry.seq(),
            timestamp: entry.timestamp().clone(),
        };
        Ok(
            match self.credential_rules(staged, &position, entry.body())? {
                Ok((previous, record)) => Effect::Credential { previous, record },
                Err(refusal) => Effect::Ineffective(refusal.to_string()),
            },
        )
    }

    /// Refuses, before it is signed, an own `credential` or `credential_status` entry at `seq`
    /// that would be ineffective.
    pub(super) fn check_own_credential(
        &self,
        staged: &Staged,
        author: &PublicKey,
        seq: u64,
        body: &Body,
    ) -> Result<(), IngestError> {
        let position = LogPosition {
            entry_id: proto_types::entry::EntryId([0; 32]),
            author: *author,
            authority: self.trust.root(author),
            seq,
            timestamp: proto_types::timestamp::Timestamp::from_unix_millis(0)
                .map_err(Refusal::Clock)?,
        };
        match self.credential_rules(staged, &position, body)? {
            Ok(_) => Ok(()),
            Err(refusal) => Err(Refusal::Credential(refusal).into()),
        }
    }

    /// Writes a credential's record in `batch` and keeps it for the rest of the group.
    pub(super) fn stage_credential(
        &mut self,
        batch: &mut StoreBatch,
        staged: &mut Staged,
        previous: Option<CredentialRecord>,
        record: CredentialRecord,
    ) -> Result<(), StorageError> {
        let issuer = record.issuer;
        let version = match staged.credentials.versions.get(&issuer) {
            Some(version) => *version,
            None => self.store.credential_log_version(&issuer)?,
        }
        .saturating_add(1);
        batch.put_credential(previous.as_ref(), &record, version)?;
        let credentials = &mut staged.credentials;
        credentials.versions.insert(issuer, version);
        if previous.is_none() {
            credentials
                .indexes
                .insert((issuer, record.status_index), record.credential_id.clone());
            let highest = credentials
                .highest
                .entry(issuer)
                .or_insert(record.status_index);
            *highest = (*highest).max(record.status_index);
        }
        credentials
            .records
            .insert(record.credential_id.clone(), record);
        Ok(())
    }

    /// The next status index of `issuer`: one more than the highest it logged (this group's
    /// included), from 0.
    fn next_status_index(&self, staged: &Staged, issuer: &PublicKey) -> Result<u32, IngestError> {
        let stored = self.store.highest_status_index(issuer)?;
        let staged_highest = staged.credentials.highest.get(issuer).copied();
        let next = match stored.max(staged_highest) {
            Some(highest) => highest
                .checked_add(1)
                .filter(|next| *next <= MAX_STATUS_INDEX),
            None => Some(0),
        };
        next.ok_or(IngestError::Refused(Refusal::StatusIndexesExhausted))
    }

    /// Issues a credential: allocates its status index, has `build` sign it, and appends the
    /// `credential` entry that logs it. The credential is given out only after the group
    /// commits (see `Answer::Issued`).
    pub(super) fn issue(
        &mut self,
        batch: &mut StoreBatch,
        staged: &mut Staged,
        build: IssueFn,
    ) -> Result<(Value, IngestOutcome), IssueError> {
        let author = self.key.public_key();
        if let Some(rotated_at) = self.rotated_at(staged, &author) {
            return Err(IngestError::OwnKeyRotated(rotated_at).into());
        }
        let status_index = self.next_status_index(staged, &author)?;
        let key = self.key.clone();
        let issued = build(status_index, &key).map_err(IssueError::Build)?;
        let outcome = self.append(batch, staged, Body::Credential(issued.body), Source::Local)?;
        Ok((issued.credential, outcome))
    }
}
