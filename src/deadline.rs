//! Deadlines for many short operations of one kind (a Redis store's calls, a
//! request's body read), kept by one ticker instead of a timer per operation.
//! `tokio::time::timeout` registers an entry in tokio's timer wheel and removes
//! it again for each call (~0.8k instructions, and under load a wake-up of a
//! parked worker when the new entry is the earliest). Here an operation notes
//! its start; a task ticks `timeout / 20` apart and wakes the operations in
//! flight, and those past their deadline end. An operation thus ends at most a
//! twentieth of the timeout late (100 ms of 2 s).

use std::future::Future;
use std::pin::pin;
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use tokio::sync::Notify;

pub struct Deadlines {
    timeout: Duration,
    tick: Arc<Notify>,
}

impl Deadlines {
    /// Starts the ticker (it ends once these deadlines are dropped). Needs a runtime.
    pub fn new(timeout: Duration) -> Self {
        let tick = Arc::new(Notify::new());
        let period = (timeout / 20).max(Duration::from_millis(5));
        tokio::spawn(ticker(Arc::downgrade(&tick), period));
        Self { timeout, tick }
    }

    /// `fut`'s output, or None once it has run `timeout`.
    pub async fn run<T>(&self, fut: impl Future<Output = T>) -> Option<T> {
        let start = Instant::now();
        let mut fut = pin!(fut);
        loop {
            // Made before `fut` is polled: a tick while it runs is not missed.
            let tick = self.tick.notified();
            tokio::select! {
                biased;
                out = &mut fut => return Some(out),
                () = tick => {
                    if start.elapsed() >= self.timeout {
                        return None;
                    }
                }
            }
        }
    }
}

async fn ticker(tick: Weak<Notify>, period: Duration) {
    let mut every = tokio::time::interval(period);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        match tick.upgrade() {
            Some(t) => t.notify_waiters(),
            None => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_operation_ends_at_its_deadline_not_before() {
        let d = Deadlines::new(Duration::from_millis(200));
        assert_eq!(d.run(async { 7 }).await, Some(7));
        let quick = d.run(tokio::time::sleep(Duration::from_millis(50))).await;
        assert!(quick.is_some(), "ended before its deadline");
        let start = Instant::now();
        assert!(d.run(std::future::pending::<()>()).await.is_none());
        let took = start.elapsed();
        // Late by at most a tick (10 ms here), with room for a loaded machine.
        assert!(took >= Duration::from_millis(200) && took < Duration::from_millis(400), "{took:?}");
    }
}
