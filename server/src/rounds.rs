//! The loop every background worker runs (the outbox's mail delivery, the reassignment
//! jobs): a round now, then one every `poll`, until told to stop. A round under way
//! finishes before the loop ends, so a stop never cuts a transaction short.

use std::future::Future;
use std::time::Duration;

pub async fn repeat<R: Future<Output = ()>>(
    poll: Duration,
    stop: impl Future<Output = ()>,
    mut round: impl FnMut() -> R,
) {
    tokio::pin!(stop);
    loop {
        round().await;
        tokio::select! {
            () = &mut stop => break,
            () = tokio::time::sleep(poll) => {}
        }
    }
}
