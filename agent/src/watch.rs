//! `--watch INTERVAL`: run, wait, run again, until stopped. A first SIGINT or SIGTERM lets
//! the run in progress finish (an apply is never cut short by a polite stop) and then ends;
//! during the wait it ends at once. A second signal ends the process at once, which is safe
//! too: the next run reads the target as it is and converges.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;

use crate::cli::Command;
use crate::config::Settings;
use crate::{run_with, Exit};

/// A request to stop, shared by whoever asks (a signal, a test) and the loop.
#[derive(Debug, Clone, Default)]
pub struct Stop {
    requested: Arc<AtomicBool>,
    notify: Arc<Notify>,
}

impl Stop {
    pub fn new() -> Self {
        Self::default()
    }

    /// Asks the loop to stop after the run in progress.
    pub fn request(&self) {
        self.requested.store(true, Ordering::SeqCst);
        self.notify.notify_waiters();
    }

    pub fn is_requested(&self) -> bool {
        self.requested.load(Ordering::SeqCst)
    }

    async fn wait(&self) {
        let notified = self.notify.notified();
        if self.is_requested() {
            return;
        }
        notified.await;
    }

    /// Listens for SIGINT and SIGTERM: the first asks to stop, the second exits with code 1.
    pub fn on_signals(&self) {
        let stop = self.clone();
        tokio::spawn(async move {
            #[cfg(unix)]
            let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
            let mut signals = 0;
            loop {
                #[cfg(unix)]
                let got = match term.as_mut() {
                    Some(t) => tokio::select! {
                        r = tokio::signal::ctrl_c() => r.is_ok(),
                        r = t.recv() => r.is_some(),
                    },
                    None => tokio::signal::ctrl_c().await.is_ok(),
                };
                #[cfg(not(unix))]
                let got = tokio::signal::ctrl_c().await.is_ok();
                if !got {
                    return;
                }
                signals += 1;
                if signals > 1 {
                    eprintln!("Stopped at once; the next run will pick up where this one was.");
                    std::process::exit(i32::from(Exit::Failed.code()));
                }
                eprintln!("Stopping after this run (send the signal again to stop now).");
                stop.request();
            }
        });
    }
}

/// Runs every `interval` until `stop`; answers the exit code of the last run.
pub async fn watch(
    command: &Command,
    settings: &Settings,
    interval: Duration,
    stop: &Stop,
    out: &mut dyn Write,
) -> Exit {
    let mut run = 1u64;
    loop {
        let _ = writeln!(out, "[{}] run {run}", crate::state::now());
        let outcome = run_with(command, settings, out).await;
        let exit = outcome.exit;
        if stop.is_requested() {
            let _ = writeln!(out, "Stopped (exit code of the last run: {}).", exit.code());
            return exit;
        }
        let _ = writeln!(out, "Next run in {}s (exit code of this one: {}).", interval.as_secs(), exit.code());
        let _ = out.flush();
        tokio::select! {
            () = tokio::time::sleep(interval) => {}
            () = stop.wait() => {
                let _ = writeln!(out, "Stopped (exit code of the last run: {}).", exit.code());
                return exit;
            }
        }
        run += 1;
    }
}
