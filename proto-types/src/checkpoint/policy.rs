//! Witness policies in the `c2sp.org/tlog-policy` text format (protocol.md §14.4): which logs
//! and witnesses are known, and which sets of witness cosignatures make a checkpoint trusted.
//!
//! ```text
//! # comments and blank lines are ignored
//! log <vkey> [<url>]
//! witness <name> <vkey> [<url>]
//! group <name> all|any|<k> <member>...
//! quorum <name>
//! ```
//!
//! Names are defined before use (so groups cannot be circular), each member appears at most
//! once in a group, the name `none` is predefined (`quorum none` requires no cosignature) and
//! cannot be a member, no two logs and no two witnesses share a public key, and there is
//! exactly one quorum line. Log keys are Ed25519 note keys (type `0x01`) and witness keys are
//! `cosignature/v1` keys (type `0x04`), the only types this crate verifies. Parsing is bounded
//! by [`MAX_POLICY_BYTES`] and the per-kind counts.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use super::VerifiedCheckpoint;
use super::cosignature::VerifiedCosignature;
use crate::note::{NoteError, NoteSignature, SignatureType, VerifierKey};

/// Longest policy text accepted, in bytes.
pub const MAX_POLICY_BYTES: usize = 64 * 1024;
/// Most `log` lines in a policy (the specification recommends supporting at least 32).
pub const MAX_POLICY_LOGS: usize = 64;
/// Most `witness` lines in a policy (at least 32 recommended).
pub const MAX_POLICY_WITNESSES: usize = 64;
/// Most `group` lines in a policy (at least 32 recommended).
pub const MAX_POLICY_GROUPS: usize = 64;
/// The predefined name of the empty quorum.
pub const NONE: &str = "none";

/// Why a policy text was refused. Line numbers start at 1.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    /// The text is longer than [`MAX_POLICY_BYTES`].
    #[error("policy longer than {MAX_POLICY_BYTES} bytes")]
    TooLarge,
    /// A control character other than tab and newline, or DEL.
    #[error("line {0}: control character")]
    ControlCharacter(usize),
    /// A line is not one of the four kinds, or has the wrong number of items.
    #[error("line {line}: {reason}")]
    Syntax {
        /// The line number.
        line: usize,
        /// What is wrong.
        reason: String,
    },
    /// A vkey does not parse, or is of the wrong signature type.
    #[error("line {line}: {error}")]
    Key {
        /// The line number.
        line: usize,
        /// Why the vkey was refused.
        error: NoteError,
    },
    /// Two logs or two witnesses share a public key.
    #[error("line {0}: duplicate public key")]
    DuplicateKey(usize),
    /// A name is defined twice, or is `none`.
    #[error("line {line}: name {name:?} is already defined")]
    DuplicateName {
        /// The line number.
        line: usize,
        /// The name.
        name: String,
    },
    /// A name is used before it is defined.
    #[error("line {line}: undefined name {name:?}")]
    UndefinedName {
        /// The line number.
        line: usize,
        /// The name.
        name: String,
    },
    /// More logs, witnesses or groups than the limits.
    #[error("line {0}: too many definitions")]
    TooMany(usize),
    /// No quorum line, or more than one.
    #[error("a policy has exactly one quorum line")]
    Quorum,
}

/// A log a policy accepts checkpoints from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyLog {
    /// Its Ed25519 note key; the key name is the log's origin.
    pub key: VerifierKey,
    /// Its URL, if given.
    pub url: Option<String>,
}

/// A witness a policy knows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyWitness {
    /// Its name within the policy.
    pub name: String,
    /// Its cosigner key.
    pub key: VerifierKey,
    /// Its URL, if given.
    pub url: Option<String>,
}

/// A member of a group: a witness or an earlier group, by index.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Member {
    Witness(usize),
    Group(usize),
}

/// A group: witnessed when at least `threshold` of its members are.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Group {
    name: String,
    /// How the threshold was written (`all`, `any` or a number), kept for formatting.
    written: String,
    threshold: usize,
    members: Vec<Member>,
}

/// A parsed witness policy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WitnessPolicy {
    logs: Vec<PolicyLog>,
    witnesses: Vec<PolicyWitness>,
    groups: Vec<Group>,
    quorum: Option<Member>,
}

/// What a policy said of a set of cosignatures.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PolicyVerdict {
    satisfied: bool,
    counted: Vec<String>,
    invalid: Vec<NoteSignature>,
}

impl PolicyVerdict {
    /// Whether the quorum is met.
    pub fn satisfied(&self) -> bool {
        self.satisfied
    }

    /// The policy names of the witnesses whose valid cosignatures counted, in policy order.
    pub fn counted(&self) -> &[String] {
        &self.counted
    }

    /// Lines that named a policy witness but did not verify (see
    /// [`super::cosignature::CosignatureCheck::invalid`]); they did not count.
    pub fn invalid(&self) -> &[NoteSignature] {
        &self.invalid
    }
}

fn syntax(line: usize, reason: &str) -> PolicyError {
    PolicyError::Syntax {
        line,
        reason: reason.to_string(),
    }
}

impl WitnessPolicy {
    /// Parses a policy text.
    pub fn parse(text: &str) -> Result<Self, PolicyError> {
        if text.len() > MAX_POLICY_BYTES {
            return Err(PolicyError::TooLarge);
        }
        let mut policy = WitnessPolicy {
            logs: Vec::new(),
            witnesses: Vec::new(),
            groups: Vec::new(),
            quorum: None,
        };
        let mut quorum_lines = 0usize;
        for (number, line) in text.split('\n').enumerate() {
            let number = number + 1;
            if line
                .chars()
                .any(|character| (character < ' ' && character != '\t') || character == '\x7f')
            {
                return Err(PolicyError::ControlCharacter(number));
            }
            let items: Vec<&str> = line
                .split([' ', '\t'])
                .filter(|item| !item.is_empty())
                .collect();
            let Some((keyword, arguments)) = items.split_first() else {
                continue;
            };
            if keyword.starts_with('#') {
                continue;
            }
            match *keyword {
                "log" => policy.parse_log(number, arguments)?,
                "witness" => policy.parse_witness(number, arguments)?,
                "group" => policy.parse_group(number, arguments)?,
                "quorum" => {
                    quorum_lines += 1;
                    if quorum_lines > 1 {
                        return Err(PolicyError::Quorum);
                    }
                    let [name] = arguments else {
                        return Err(syntax(number, "quorum takes one name"));
                    };
                    policy.quorum = if *name == NONE {
                        None
                    } else {
                        Some(policy.lookup(number, name)?)
                    };
                }
                _ => return Err(syntax(number, "unknown keyword")),
            }
        }
        if quorum_lines != 1 {
            return Err(PolicyError::Quorum);
        }
        Ok(policy)
    }

    fn parse_key(
        number: usize,
        vkey: &str,
        signature_type: SignatureType,
    ) -> Result<VerifierKey, PolicyError> {
        let key = VerifierKey::parse(vkey).map_err(|error| PolicyError::Key {
            line: number,
            error,
        })?;
        if key.signature_type() != signature_type {
            return Err(PolicyError::Key {
                line: number,
                error: NoteError::UnsupportedSignatureType(key.signature_type().byte()),
            });
        }
        Ok(key)
    }

    fn parse_log(&mut self, number: usize, arguments: &[&str]) -> Result<(), PolicyError> {
        let (vkey, url) = match arguments {
            [vkey] => (vkey, None),
            [vkey, url] => (vkey, Some(url.to_string())),
            _ => return Err(syntax(number, "log takes a vkey and an optional url")),
        };
        if self.logs.len() == MAX_POLICY_LOGS {
            return Err(PolicyError::TooMany(number));
        }
        let key = Self::parse_key(number, vkey, SignatureType::Ed25519)?;
        if self
            .logs
            .iter()
            .any(|log| log.key.public_key() == key.public_key())
        {
            return Err(PolicyError::DuplicateKey(number));
        }
        self.logs.push(PolicyLog { key, url });
        Ok(())
    }

    fn parse_witness(&mut self, number: usize, arguments: &[&str]) -> Result<(), PolicyError> {
        let (name, vkey, url) = match arguments {
            [name, vkey] => (name, vkey, None),
            [name, vkey, url] => (name, vkey, Some(url.to_string())),
            _ => {
                return Err(syntax(
                    number,
                    "witness takes a name, a vkey and an optional url",
                ));
            }
        };
        self.check_new_name(number, name)?;
        if self.witnesses.len() == MAX_POLICY_WITNESSES {
            return Err(PolicyError::TooMany(number));
        }
        let key = Self::parse_key(number, vkey, SignatureType::CosignatureV1)?;
        if self
            .witnesses
            .iter()
            .any(|witness| witness.key.public_key() == key.public_key())
        {
            return Err(PolicyError::DuplicateKey(number));
        }
        self.witnesses.push(PolicyWitness {
            name: name.to_string(),
            key,
            url,
        });
        Ok(())
    }

    fn parse_group(&mut self, number: usize, arguments: &[&str]) -> Result<(), PolicyError> {
        let [name, written, members @ ..] = arguments else {
            return Err(syntax(
                number,
                "group takes a name, a threshold and members",
            ));
        };
        if members.is_empty() {
            return Err(syntax(number, "a group has at least one member"));
        }
        self.check_new_name(number, name)?;
        if self.groups.len() == MAX_POLICY_GROUPS {
            return Err(PolicyError::TooMany(number));
        }
        let mut resolved = Vec::with_capacity(members.len());
        let mut seen = BTreeSet::new();
        for member in members {
            if *member == NONE {
                return Err(syntax(number, "none cannot be a group member"));
            }
            if !seen.insert(*member) {
                return Err(syntax(number, "a member is listed twice"));
            }
            resolved.push(self.lookup(number, member)?);
        }
        let threshold = match *written {
            "all" => resolved.len(),
            "any" => 1,
            number_text => super::parse_decimal(number_text)
                .and_then(|value| usize::try_from(value).ok())
                .filter(|value| (1..=resolved.len()).contains(value))
                .ok_or_else(|| {
                    syntax(
                        number,
                        "the threshold is all, any or a number from 1 to the member count",
                    )
                })?,
        };
        self.groups.push(Group {
            name: name.to_string(),
            written: written.to_string(),
            threshold,
            members: resolved,
        });
        Ok(())
    }

    fn check_new_name(&self, number: usize, name: &str) -> Result<(), PolicyError> {
        if name == NONE || self.lookup(number, name).is_ok() {
            return Err(PolicyError::DuplicateName {
                line: number,
                name: name.to_string(),
            });
        }
        Ok(())
    }

    fn lookup(&self, number: usize, name: &str) -> Result<Member, PolicyError> {
        if let Some(index) = self
            .witnesses
            .iter()
            .position(|witness| witness.name == name)
        {
            return Ok(Member::Witness(index));
        }
        if let Some(index) = self.groups.iter().position(|group| group.name == name) {
            return Ok(Member::Group(index));
        }
        Err(PolicyError::UndefinedName {
            line: number,
            name: name.to_string(),
        })
    }

    /// The logs, in policy order.
    pub fn logs(&self) -> &[PolicyLog] {
        &self.logs
    }

    /// The witnesses, in policy order.
    pub fn witnesses(&self) -> &[PolicyWitness] {
        &self.witnesses
    }

    /// The witnesses' cosigner keys, to check cosignatures with.
    pub fn witness_keys(&self) -> Vec<VerifierKey> {
        self.witnesses
            .iter()
            .map(|witness| witness.key.clone())
            .collect()
    }

    /// Whether the quorum is `none`.
    pub fn requires_no_cosignature(&self) -> bool {
        self.quorum.is_none()
    }

    /// Whether `cosignatures` meet the quorum, and which policy witnesses counted. A
    /// cosignature counts for the witness with the same public key and signature type; the
    /// caller passes cosignatures of one checkpoint (those of [`VerifiedCheckpoint::cosignatures`]).
    pub fn satisfied_by(&self, cosignatures: &[VerifiedCosignature]) -> PolicyVerdict {
        let witnessed: Vec<bool> = self
            .witnesses
            .iter()
            .map(|witness| {
                cosignatures.iter().any(|cosignature| {
                    cosignature.witness().public_key() == witness.key.public_key()
                        && cosignature.witness().signature_type() == witness.key.signature_type()
                })
            })
            .collect();
        // Groups only name earlier groups, so one pass in definition order evaluates them all.
        let mut group_witnessed: Vec<bool> = Vec::with_capacity(self.groups.len());
        for group in &self.groups {
            let count = group
                .members
                .iter()
                .filter(|member| match member {
                    Member::Witness(index) => witnessed.get(*index).copied().unwrap_or(false),
                    Member::Group(index) => group_witnessed.get(*index).copied().unwrap_or(false),
                })
                .count();
            group_witnessed.push(count >= group.threshold);
        }
        let satisfied = match self.quorum {
            None => true,
            Some(Member::Witness(index)) => witnessed.get(index).copied().unwrap_or(false),
            Some(Member::Group(index)) => group_witnessed.get(index).copied().unwrap_or(false),
        };
        PolicyVerdict {
            satisfied,
            counted: self
                .witnesses
                .iter()
                .zip(&witnessed)
                .filter(|(_, witnessed)| **witnessed)
                .map(|(witness, _)| witness.name.clone())
                .collect(),
            invalid: Vec::new(),
        }
    }

    /// Whether the policy accepts the log of `checkpoint` (any log if the policy lists none;
    /// otherwise one of its logs has the checkpoint's key and its origin as key name).
    pub fn accepts_log(&self, checkpoint: &VerifiedCheckpoint) -> bool {
        self.logs.is_empty() || self.logs.iter().any(|log| log.key == *checkpoint.log_key())
    }

    /// Checks `checkpoint` against the policy: its cosignatures by policy witnesses are
    /// verified and counted. Not satisfied if the policy does not accept its log
    /// ([`WitnessPolicy::accepts_log`]).
    pub fn check(&self, checkpoint: &VerifiedCheckpoint) -> PolicyVerdict {
        let check = checkpoint.cosignatures(&self.witness_keys());
        let mut verdict = self.satisfied_by(check.valid());
        verdict.satisfied &= self.accepts_log(checkpoint);
        verdict.invalid = check.invalid().to_vec();
        verdict
    }

    /// The policy as text, one definition a line, without comments.
    pub fn to_text(&self) -> String {
        let mut text = String::new();
        for log in &self.logs {
            let _ = write!(text, "log {}", log.key);
            if let Some(url) = &log.url {
                let _ = write!(text, " {url}");
            }
            text.push('\n');
        }
        for witness in &self.witnesses {
            let _ = write!(text, "witness {} {}", witness.name, witness.key);
            if let Some(url) = &witness.url {
                let _ = write!(text, " {url}");
            }
            text.push('\n');
        }
        for group in &self.groups {
            let _ = write!(text, "group {} {}", group.name, group.written);
            for member in &group.members {
                text.push(' ');
                text.push_str(self.member_name(*member));
            }
            text.push('\n');
        }
        let _ = writeln!(
            text,
            "quorum {}",
            self.quorum.map_or(NONE, |member| self.member_name(member))
        );
        text
    }

    fn member_name(&self, member: Member) -> &str {
        match member {
            Member::Witness(index) => self
                .witnesses
                .get(index)
                .map_or(NONE, |witness| witness.name.as_str()),
            Member::Group(index) => self
                .groups
                .get(index)
                .map_or(NONE, |group| group.name.as_str()),
        }
    }
}
