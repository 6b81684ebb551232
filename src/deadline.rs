//! Deadlines for many short operations of one kind (a Redis store's calls, a
//! request's body read), kept by one ticker instead of a timer per operation.
//! `tokio::time::timeout` registers an entry in tokio's timer wheel and removes
//! it again for each call (~0.8k instructions, and under load a wake-up of a
//! parked worker when the new entry is the earliest). Here a task ticks
//! `timeout / 40` apart, counting the ticks and waking the operations in
//! flight; an operation notes the count when it starts and ends once 42 more
//! have been counted: never before its timeout, at most two ticks — a
//! twentieth of it — late (100 ms of 2 s). Why 42, not 41: a tick whose time
//! has come may not be counted yet (the ticker task has not run), so the count
//! an operation reads may be one behind the clock. Reading the count instead
//! of the clock saves a clock read per operation. (Skipping the registration
//! for an operation done at its first poll was tried: none is, in practice. A
//! Redis call waits for its reply, and hyper hands a body over only once the
//! handler has asked for it.)

use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use tokio::sync::Notify;

/// Ticks per timeout.
const TICKS: u64 = 40;

pub struct Deadlines {
    ticker: Arc<Ticker>,
}

struct Ticker {
    /// Ticks since the ticker started.
    count: AtomicU64,
    tick: Notify,
}

impl Deadlines {
    /// Starts the ticker (it ends once these deadlines are dropped). Needs a runtime.
    pub fn new(timeout: Duration) -> Self {
        let ticker = Arc::new(Ticker { count: AtomicU64::new(0), tick: Notify::new() });
        let period = (timeout / TICKS as u32).max(Duration::from_millis(5));
        tokio::spawn(tick(Arc::downgrade(&ticker), period));
        Self { ticker }
    }

    /// `fut`'s output, or None once it has run its timeout.
    pub async fn run<T>(&self, fut: impl Future<Output = T>) -> Option<T> {
        let mut fut = pin!(fut);
        // The tick count now, before `fut` first runs. The next tick's time may
        // already have passed, uncounted (at most one: with `Delay`, the tick
        // after it is scheduled a period after it fires), so TICKS more after
        // that one, TICKS + 2 in all, are at least the timeout.
        let start = self.ticker.count.load(Ordering::Acquire);
        loop {
            // Registered before `fut` is polled: a tick while it runs is not missed.
            let mut tick = pin!(self.ticker.tick.notified());
            tick.as_mut().enable();
            if self.ticker.count.load(Ordering::Acquire) >= start + TICKS + 2 {
                return None;
            }
            tokio::select! {
                biased;
                out = &mut fut => return Some(out),
                () = tick => {}
            }
        }
    }
}

async fn tick(ticker: Weak<Ticker>, period: Duration) {
    let mut every = tokio::time::interval(period);
    // A late tick is not made up for: the next is scheduled a period after
    // it fires, so at most one tick is ever due and uncounted.
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    every.tick().await;
    loop {
        every.tick().await;
        match ticker.upgrade() {
            Some(t) => {
                t.count.fetch_add(1, Ordering::Release);
                t.tick.notify_waiters();
            }
            None => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    #[tokio::test]
    async fn an_operation_ends_at_its_deadline_not_before() {
        let d = Deadlines::new(Duration::from_millis(200));
        assert_eq!(d.run(async { 7 }).await, Some(7));
        // Pending at its first poll, then done.
        assert_eq!(
            d.run(async {
                tokio::task::yield_now().await;
                8
            })
            .await,
            Some(8)
        );
        let quick = d.run(tokio::time::sleep(Duration::from_millis(50))).await;
        assert!(quick.is_some(), "ended before its deadline");
        let start = Instant::now();
        assert!(d.run(std::future::pending::<()>()).await.is_none());
        let took = start.elapsed();
        // Late by at most two ticks (10 ms here), with room for a loaded machine.
        assert!(took >= Duration::from_millis(200) && took < Duration::from_millis(400), "{took:?}");
    }
}
