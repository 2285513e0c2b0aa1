//! The line a batch of Bulk creates forms for the writer: every create of the batch is
//! prepared first (authorized, its body validated and normalized); then, once the batch
//! holds the writers' turn ([`WriterTurn`]), they ask for the writer one after the other,
//! in request order, and the next batch (of another request) lines up behind the last.
//!
//! Why, measured during `bulk-total` at 100,000 users (two requests of 1,000 at a time), when
//! each create asked for the writer as soon as it was prepared:
//! - the writer was idle 25-35% of the time;
//! - the first creates of a batch were granted the writer while their task was still
//!   preparing the rest, and held it unpolled: gaps of 1-5 ms after most commits;
//! - the two requests took turns create by create, so both finished together and the writer
//!   stood idle while both clients sent their next request and the server read it: a gap of
//!   20-30 ms every two requests. One batch at a time, a request is read and prepared while
//!   the other one writes.
//!
//! Order matters as much: of two creates of one request with the same userName, the first
//! must win. A create is called when the one before it has let go of its [`Place`], which
//! it does once nothing after it can overtake it: on SQLite as soon as it has asked for the
//! writer, which is taken in the order it is asked for (in the same poll, so the writer's
//! queue keeps request order and the writer always has the next create waiting); on
//! PostgreSQL once it holds its tenant's lock or its row in the unique indexes, which a later
//! create with the same name waits behind. (Letting go once asked on PostgreSQL too, as
//! before, let the next create overtake it in about one pair in five: a create reaches its
//! lock there over several round trips.) The writer's queue is joined in the lock's first
//! poll even when the task's cooperative budget is spent: tokio checks the budget only once
//! the permit is the waiter's.

use std::sync::{Arc, Mutex};

use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};

use crate::domain::store::Place;

/// Held by one batch at a time, from its first create's place in the writer's queue to its
/// last one's. Shared by every Bulk request of the server.
#[derive(Clone)]
pub struct WriterTurn(Arc<Semaphore>);

impl Default for WriterTurn {
    fn default() -> Self {
        Self(Arc::new(Semaphore::new(1)))
    }
}

/// One batch's line.
struct Line {
    state: Mutex<State>,
    /// Each create's call to take its place (a permit is kept if it is not waiting yet).
    turns: Vec<Notify>,
    writers: WriterTurn,
}

struct State {
    /// Creates prepared, or gone without reaching the writer.
    arrived: usize,
    /// The create whose turn it is.
    next: usize,
    /// The creates that have taken their place, or will never.
    done: Vec<bool>,
    /// The writers' turn, from the first place taken to the last.
    held: Option<OwnedSemaphorePermit>,
}

impl Line {
    /// Calls the next create once the whole batch is prepared, skipping those that are done;
    /// lets go of the writers' turn once none is left.
    fn advance(&self, state: &mut State) {
        while state.next < state.done.len() && state.done[state.next] {
            state.next += 1;
        }
        if state.next == state.done.len() {
            state.held = None;
        } else if state.arrived == state.done.len() {
            self.turns[state.next].notify_one();
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// One create's place in its batch's line. Dropped before it took its place (the create
/// failed, or its request went away), it lets the others go on without it.
pub struct Ticket {
    line: Arc<Line>,
    index: usize,
    arrived: bool,
}

/// The tickets of a batch of `n` creates, in request order.
pub fn tickets(n: usize, writers: &WriterTurn) -> Vec<Ticket> {
    let line = Arc::new(Line {
        state: Mutex::new(State { arrived: 0, next: 0, done: vec![false; n], held: None }),
        turns: (0..n).map(|_| Notify::new()).collect(),
        writers: writers.clone(),
    });
    (0..n).map(|index| Ticket { line: line.clone(), index, arrived: false }).collect()
}

impl Ticket {
    /// Waits until the whole batch is prepared, holds the writers' turn, and every create
    /// before this one is ordered; answers this one's place, to be let go of once it is.
    pub async fn wait(mut self) -> Place {
        {
            let mut state = self.line.state();
            state.arrived += 1;
            self.arrived = true;
            self.line.advance(&mut state);
        }
        self.line.turns[self.index].notified().await;
        if self.line.state().held.is_none() {
            // The first of the batch to go. The semaphore is never closed.
            let permit = self.line.writers.0.clone().acquire_owned().await.ok();
            self.line.state().held = permit;
        }
        // Dropped, the place (the ticket) calls the next one.
        Place::new(self)
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        let mut state = self.line.state();
        if !self.arrived {
            state.arrived += 1;
        }
        state.done[self.index] = true;
        self.line.advance(&mut state);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::future::join_all;
    use std::sync::Mutex as StdMutex;

    /// Creates that finish preparing in any order still take their places in request order,
    /// and only once all of them are prepared.
    #[tokio::test]
    async fn places_are_taken_in_request_order_after_the_whole_batch_is_prepared() {
        let order = Arc::new(StdMutex::new(Vec::new()));
        let prepared = Arc::new(StdMutex::new(0usize));
        let n = 6;
        let runs = tickets(n, &WriterTurn::default()).into_iter().enumerate().map(|(i, ticket)| {
            let order = order.clone();
            let prepared = prepared.clone();
            async move {
                // Later creates finish preparing first.
                for _ in 0..(n - i) {
                    tokio::task::yield_now().await;
                }
                *prepared.lock().unwrap() += 1;
                ticket.wait().await;
                assert_eq!(*prepared.lock().unwrap(), n, "a create went ahead before the batch was prepared");
                order.lock().unwrap().push(i);
            }
        });
        join_all(runs).await;
        assert_eq!(*order.lock().unwrap(), (0..n).collect::<Vec<_>>());
    }

    /// The next create is called only once this one lets go of its place (once it is
    /// ordered: once it has asked for SQLite's writer, or holds its lock on PostgreSQL),
    /// however many round trips that takes.
    #[tokio::test]
    async fn the_next_create_waits_until_the_place_is_let_go_of() {
        let order = Arc::new(StdMutex::new(Vec::new()));
        let runs = tickets(3, &WriterTurn::default()).into_iter().enumerate().map(|(i, ticket)| {
            let order = order.clone();
            async move {
                let place = ticket.wait().await;
                order.lock().unwrap().push(format!("placed {i}"));
                for _ in 0..3 {
                    tokio::task::yield_now().await;
                }
                order.lock().unwrap().push(format!("ordered {i}"));
                drop(place);
            }
        });
        join_all(runs).await;
        let order = order.lock().unwrap().clone();
        assert_eq!(order, ["placed 0", "ordered 0", "placed 1", "ordered 1", "placed 2", "ordered 2"]);
    }

    /// A create that fails before it takes its place (its ticket dropped) holds nobody up,
    /// and the batch lets go of the writers' turn once it is through.
    #[tokio::test]
    async fn a_dropped_ticket_lets_the_others_go_on() {
        let writers = WriterTurn::default();
        let order = Arc::new(StdMutex::new(Vec::new()));
        let runs = tickets(4, &writers).into_iter().enumerate().map(|(i, ticket)| {
            let order = order.clone();
            async move {
                if i == 1 {
                    drop(ticket);
                    return;
                }
                ticket.wait().await;
                order.lock().unwrap().push(i);
            }
        });
        join_all(runs).await;
        assert_eq!(*order.lock().unwrap(), vec![0, 2, 3]);
        assert_eq!(writers.0.available_permits(), 1);
    }

    /// Two batches do not mix: the second takes its first place only after the first batch
    /// has taken its last.
    #[tokio::test]
    async fn one_batch_at_a_time_holds_the_writers_turn() {
        let writers = WriterTurn::default();
        let order = Arc::new(StdMutex::new(Vec::new()));
        let batch = |name: &'static str| {
            let order = order.clone();
            tickets(3, &writers).into_iter().enumerate().map(move |(i, ticket)| {
                let order = order.clone();
                async move {
                    ticket.wait().await;
                    order.lock().unwrap().push(format!("{name}{i}"));
                    // Suspend after taking a place, as a create waiting for its commit does.
                    tokio::task::yield_now().await;
                }
            })
        };
        let first = tokio::spawn(join_all(batch("a")));
        let second = tokio::spawn(join_all(batch("b")));
        first.await.unwrap();
        second.await.unwrap();
        let order = order.lock().unwrap().clone();
        let a: Vec<_> = order.iter().filter(|s| s.starts_with('a')).cloned().collect();
        let b: Vec<_> = order.iter().filter(|s| s.starts_with('b')).cloned().collect();
        assert_eq!(a, ["a0", "a1", "a2"]);
        assert_eq!(b, ["b0", "b1", "b2"]);
        let a_first = order[0].starts_with('a');
        let expected: Vec<_> = if a_first { [a, b].concat() } else { [b, a].concat() };
        assert_eq!(order, expected, "the batches mixed");
        assert_eq!(writers.0.available_permits(), 1);
    }
}
