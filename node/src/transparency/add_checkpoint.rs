//! The C2SP tlog-witness `add-checkpoint` request (`c2sp.org/tlog-witness`): its body (`old N`,
//! up to 63 consistency proof lines, a blank line, the checkpoint note), parsed strictly, and the
//! checks of the old size and proof against this witness's record.

use proto_types::tlog::{self, TreeHash};

use super::receive::AddCheckpointError;
use super::witness::FeedView;

/// The `add-checkpoint` request's own part: the old size and the consistency proof.
pub(super) struct Submitted {
    pub(super) old: u64,
    pub(super) proof: Vec<TreeHash>,
}

/// The C2SP tlog-witness checks of the submitted old size and proof against the witness state.
pub(super) fn check_submitted(
    submitted: &Submitted,
    view: &FeedView,
    size: u64,
    root: &TreeHash,
) -> Result<(), AddCheckpointError> {
    let cosigned = view.state.map_or(0, |state| state.size);
    if submitted.old != cosigned {
        return Err(AddCheckpointError::Conflict(cosigned));
    }
    if submitted.old == 0 {
        if !submitted.proof.is_empty() {
            return Err(AddCheckpointError::Unprocessable(
                "a consistency proof from size 0 must be empty".to_owned(),
            ));
        }
        return Ok(());
    }
    let Some(state) = view.state else {
        return Ok(());
    };
    tlog::verify_consistency(state.size, &state.root, size, root, &submitted.proof)
        .map_err(|error| AddCheckpointError::Unprocessable(error.to_string()))
}

/// Most consistency proof lines in an `add-checkpoint` request (C2SP tlog-witness).
pub const MAX_ADD_CHECKPOINT_PROOF_LINES: usize = 63;

/// Splits an `add-checkpoint` body: `old N\n`, up to 63 base64 hash lines, `\n`, the note.
pub(super) fn parse_add_checkpoint(body: &[u8]) -> Result<(Submitted, String), AddCheckpointError> {
    let bad = |reason: &str| AddCheckpointError::BadRequest(reason.to_owned());
    let text = std::str::from_utf8(body).map_err(|_| bad("the body is not UTF-8"))?;
    let (old_line, mut rest) = text
        .split_once('\n')
        .ok_or_else(|| bad("no old size line"))?;
    let old = old_line
        .strip_prefix("old ")
        .filter(|digits| {
            !digits.is_empty()
                && digits.bytes().all(|byte| byte.is_ascii_digit())
                && (digits.len() == 1 || !digits.starts_with('0'))
        })
        .and_then(|digits| digits.parse::<u64>().ok())
        .ok_or_else(|| bad("the first line must be `old <size>`"))?;
    let mut proof = Vec::new();
    loop {
        let (line, after) = rest
            .split_once('\n')
            .ok_or_else(|| bad("no blank line before the checkpoint"))?;
        rest = after;
        if line.is_empty() {
            break;
        }
        if proof.len() >= MAX_ADD_CHECKPOINT_PROOF_LINES {
            return Err(bad("more than 63 consistency proof lines"));
        }
        proof.push(
            decode_proof_hash(line).ok_or_else(|| bad("a proof line is not base64 of 32 bytes"))?,
        );
    }
    Ok((Submitted { old, proof }, rest.to_owned()))
}

fn decode_proof_hash(line: &str) -> Option<TreeHash> {
    use base64::Engine;
    if line.len() != 44 {
        return None;
    }
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(line)
        .ok()?;
    Some(TreeHash(bytes.try_into().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn add_checkpoint_bodies_are_split_strictly() {
        let hash = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, [7u8; 32]);
        let (submitted, note) = parse_add_checkpoint(
            format!("old 3\n{hash}\n{hash}\n\norigin\n5\nroot\n\n— sig\n").as_bytes(),
        )
        .unwrap();
        assert_eq!(submitted.old, 3);
        assert_eq!(submitted.proof, vec![TreeHash([7; 32]); 2]);
        assert_eq!(note, "origin\n5\nroot\n\n— sig\n");
        let (submitted, _) = parse_add_checkpoint(b"old 0\n\nnote\n").unwrap();
        assert_eq!((submitted.old, submitted.proof.len()), (0, 0));
        for bad in [
            &b"old 01\n\nnote\n"[..],
            b"old -1\n\nnote\n",
            b"old 3",
            b"new 3\n\nnote\n",
            b"old 3\nnot-base64\n\nnote\n",
            b"old 3\nAAAA\n",
            b"\xff\xfe",
        ] {
            assert!(
                matches!(
                    parse_add_checkpoint(bad),
                    Err(AddCheckpointError::BadRequest(_))
                ),
                "{bad:?}"
            );
        }
        let many = format!("old 3\n{}\nnote\n", format!("{hash}\n").repeat(64));
        assert!(matches!(
            parse_add_checkpoint(many.as_bytes()),
            Err(AddCheckpointError::BadRequest(_))
        ));
    }
}
