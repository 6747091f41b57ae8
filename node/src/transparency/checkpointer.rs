//! The checkpointer: the task that checkpoints this node's own feed every
//! [`CHECKPOINT_INTERVAL`] while it writes (protocol §14.3), retries checkpoints held ahead of
//! their feed, and gossips the own latest checkpoint again when it gained cosignatures or every
//! [`REGOSSIP_INTERVAL`].

use std::sync::Arc;

use tokio::sync::watch;
use tokio::time::Instant;

use super::{CHECKPOINT_INTERVAL, REGOSSIP_INTERVAL, Transparency};

/// What the checkpointer last gossiped of the own feed: its size and how many cosignatures.
#[derive(Default, PartialEq, Eq, Clone, Copy)]
struct Gossiped {
    size: u64,
    cosignatures: usize,
}

impl Transparency {
    /// Runs the checkpointer until `shutdown` changes.
    pub async fn run(self: Arc<Self>, mut shutdown: watch::Receiver<bool>) {
        let mut tick = tokio::time::interval(CHECKPOINT_INTERVAL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut gossiped = Gossiped::default();
        let mut last_gossip = Instant::now();
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = shutdown.changed() => break,
            }
            self.tick(&mut gossiped, &mut last_gossip).await;
        }
    }

    /// One tick: the own checkpoint, held checkpoints, the re-gossip.
    pub async fn tick_once(self: &Arc<Self>) {
        let mut gossiped = Gossiped::default();
        let mut last_gossip = Instant::now();
        self.tick(&mut gossiped, &mut last_gossip).await;
    }

    async fn tick(self: &Arc<Self>, gossiped: &mut Gossiped, last_gossip: &mut Instant) {
        if let Err(error) = self.ingest.checkpoint_own().await {
            tracing::warn!(%error, "checkpointing the own feed failed");
        }
        self.retry_pending().await;
        let author = self.ingest.signing_key();
        let store = self.store.clone();
        let latest = tokio::task::spawn_blocking(move || store.latest_checkpoint(&author)).await;
        let Ok(Ok(Some(latest))) = latest else {
            return;
        };
        let now = Gossiped {
            size: latest.size,
            cosignatures: latest.cosignatures.len(),
        };
        if now != *gossiped || last_gossip.elapsed() >= REGOSSIP_INTERVAL {
            self.publish(latest.note_with_cosignatures().into_bytes());
            *gossiped = now;
            *last_gossip = Instant::now();
        }
    }
}
