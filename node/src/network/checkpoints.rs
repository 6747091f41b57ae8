//! The checkpoints topic ([`CHECKPOINTS_TOPIC`](super::CHECKPOINTS_TOPIC), protocol §14.4):
//! publishing what the transparency service gives out (checkpoints with cosignatures,
//! split-view proofs) and validating what peers send, off the event loop, like entries: the
//! transparency service's verdict comes back as a `Validated` command. Only a message it
//! stored or held something new from is forwarded (*Accept*); a malformed or forged one
//! (*Reject*) is a strike against the sender.

use libp2p::PeerId;
use libp2p::gossipsub::{self, MessageAcceptance};

use super::Command;
use super::swarm::SwarmTask;
use crate::transparency::{Acceptance, OutgoingMessage};

impl SwarmTask {
    /// Gossips a checkpoint note or a split-view proof.
    pub(super) fn publish_checkpoint_message(&mut self, message: &OutgoingMessage) {
        match self
            .swarm
            .behaviour_mut()
            .gossipsub
            .publish(self.checkpoints_topic.clone(), message.to_vec())
        {
            Ok(_) => self.metrics.event("checkpoint_gossip_published"),
            Err(error) => {
                // Duplicates (the same note again) and no peers yet: the re-gossip makes up.
                tracing::debug!(%error, "checkpoint gossip publish failed");
            }
        }
    }

    /// Hands a checkpoints-topic message to the transparency service; the verdict comes back
    /// as [`Command::Validated`].
    pub(super) fn validate_checkpoint(
        &mut self,
        source: PeerId,
        message_id: gossipsub::MessageId,
        data: Vec<u8>,
    ) {
        let Some(permit) = self.validation_slot(source, &message_id) else {
            return;
        };
        let transparency = self.transparency.clone();
        let network = self.network.clone();
        tokio::spawn(async move {
            let acceptance = match transparency.receive_gossip(data).await {
                Acceptance::Accept => MessageAcceptance::Accept,
                Acceptance::Reject => MessageAcceptance::Reject,
                Acceptance::Ignore => MessageAcceptance::Ignore,
            };
            let _ = network
                .send(Command::Validated {
                    message_id,
                    source,
                    acceptance,
                })
                .await;
            drop(permit);
        });
    }
}
