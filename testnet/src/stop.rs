//! [`Stop`]: the request to shut the testnet down, set by SIGINT or SIGTERM (or by a caller),
//! polled by every loop of the testnet.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use anyhow::Context;

/// A shared stop request. Cloning gives another handle on the same request.
#[derive(Debug, Clone, Default)]
pub struct Stop {
    requested: Arc<AtomicBool>,
    reason: Arc<Mutex<Option<String>>>,
}

impl Stop {
    /// A stop request that nothing has made yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// A stop request made when the process receives SIGINT or SIGTERM. From this call on,
    /// those signals no longer end the process by themselves: the testnet must poll
    /// [`Stop::is_requested`] and shut its nodes down.
    pub fn on_signals() -> anyhow::Result<Self> {
        let stop = Self::new();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .build()
            .context("cannot start the signal listener")?;
        // Register the handlers here, before returning, so that no signal arriving after this
        // call is missed (or kills the process and leaves its children running).
        let listener = {
            let _context = runtime.enter();
            SignalListener::new()?
        };
        let handle = stop.clone();
        std::thread::Builder::new()
            .name("testnet-signals".to_owned())
            .spawn(move || {
                runtime.block_on(async move {
                    let mut listener = listener;
                    loop {
                        let name = listener.next().await;
                        handle.request(name);
                    }
                });
            })
            .context("cannot start the signal listener thread")?;
        Ok(stop)
    }

    /// Requests the stop, recording why (the first reason is kept).
    pub fn request(&self, reason: &str) {
        if let Ok(mut current) = self.reason.lock() {
            current.get_or_insert_with(|| reason.to_owned());
        }
        self.requested.store(true, Ordering::SeqCst);
    }

    /// Whether the stop was requested.
    pub fn is_requested(&self) -> bool {
        self.requested.load(Ordering::SeqCst)
    }

    /// Why the stop was requested (e.g. `SIGINT`), once it was.
    pub fn reason(&self) -> Option<String> {
        self.reason.lock().ok().and_then(|reason| reason.clone())
    }
}

/// SIGINT and SIGTERM, as a stream of signal names.
#[cfg(unix)]
struct SignalListener {
    interrupt: tokio::signal::unix::Signal,
    terminate: tokio::signal::unix::Signal,
}

#[cfg(unix)]
impl SignalListener {
    /// Installs the handlers; must run inside the listener's runtime.
    fn new() -> anyhow::Result<Self> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Self {
            interrupt: signal(SignalKind::interrupt()).context("cannot listen for SIGINT")?,
            terminate: signal(SignalKind::terminate()).context("cannot listen for SIGTERM")?,
        })
    }

    async fn next(&mut self) -> &'static str {
        tokio::select! {
            Some(()) = self.interrupt.recv() => "SIGINT",
            Some(()) = self.terminate.recv() => "SIGTERM",
            // Both streams ended (the runtime is going away): nothing more will arrive.
            else => std::future::pending().await,
        }
    }
}

/// Ctrl-C, where there are no Unix signals.
#[cfg(not(unix))]
struct SignalListener;

#[cfg(not(unix))]
impl SignalListener {
    fn new() -> anyhow::Result<Self> {
        Ok(Self)
    }

    async fn next(&mut self) -> &'static str {
        let _ = tokio::signal::ctrl_c().await;
        "Ctrl-C"
    }
}
