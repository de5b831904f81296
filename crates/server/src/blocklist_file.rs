//! `BLOCKED_DOMAINS_FILE` kept current on a running replica: the file is read again every
//! second, and a text that changed and parses replaces the link policy that creates, edits
//! and redirects use. A file that cannot be read, or holds a bad entry, leaves the policy
//! as it was and is logged once per distinct problem.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::time::MissedTickBehavior;
use tokio_util::sync::CancellationToken;

use shortener_domain::LinkPolicy;
use shortener_service::AppState;

/// How often each replica reads the file again.
pub const POLL_INTERVAL: Duration = Duration::from_secs(1);

/// A blocklist file and the policy its entries are added to.
#[derive(Debug, Clone)]
pub struct BlocklistFile {
    path: PathBuf,
    /// The policy of every other setting (`BLOCKED_DOMAINS`, `PUBLIC_HOSTS`,
    /// `ALLOW_PRIVATE_TARGETS`), without the file's entries.
    base: LinkPolicy,
    /// The text whose entries the starting policy holds.
    text: String,
}

impl BlocklistFile {
    /// Reads the file at start: the policy to start with, and the file to watch. The
    /// error is one line naming the setting.
    pub fn open(path: PathBuf, base: LinkPolicy) -> Result<(LinkPolicy, Self), String> {
        let text = read(&path)?;
        let policy = base
            .with_file_entries(&text)
            .map_err(|error| error.to_string())?;
        Ok((policy, Self { path, base, text }))
    }
}

/// The file as last applied to one replica's state.
pub(crate) struct Watcher {
    file: BlocklistFile,
    /// The text in force; a poll that reads the same text changes nothing.
    applied: Mutex<String>,
    state: AppState,
}

impl Watcher {
    pub(crate) fn new(file: BlocklistFile, state: AppState) -> Self {
        Self {
            applied: Mutex::new(file.text.clone()),
            file,
            state,
        }
    }

    /// Reads the file once; a changed text that parses replaces the policy. `Ok(true)`:
    /// replaced.
    pub(crate) async fn poll(&self) -> Result<bool, String> {
        let path = self.file.path.clone();
        let text = tokio::task::spawn_blocking(move || read(&path))
            .await
            .map_err(|error| format!("BLOCKED_DOMAINS_FILE: the read failed: {error}"))??;
        let mut applied = self.applied.lock().unwrap_or_else(PoisonError::into_inner);
        if *applied == text {
            return Ok(false);
        }
        let policy = self
            .file
            .base
            .with_file_entries(&text)
            .map_err(|error| error.to_string())?;
        self.state.replace_link_policy(policy);
        *applied = text;
        Ok(true)
    }
}

/// Polls the file every [`POLL_INTERVAL`] until `stop`.
pub(crate) async fn run(watcher: Arc<Watcher>, stop: CancellationToken) {
    let mut tick = tokio::time::interval(POLL_INTERVAL);
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut last_problem = None;
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            _ = tick.tick() => {}
        }
        match watcher.poll().await {
            Ok(replaced) => {
                if replaced {
                    let path = watcher.file.path.display();
                    tracing::info!(%path, "BLOCKED_DOMAINS_FILE changed: its new list is in force");
                }
                last_problem = None;
            }
            Err(problem) => {
                // Once per problem, not every second while it lasts.
                if last_problem.as_ref() != Some(&problem) {
                    tracing::error!(%problem, "BLOCKED_DOMAINS_FILE not reloaded: the list in force is kept");
                }
                last_problem = Some(problem);
            }
        }
    }
}

fn read(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|error| {
        format!(
            "BLOCKED_DOMAINS_FILE: cannot read {}: {error}",
            path.display()
        )
    })
}
