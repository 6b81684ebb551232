//! The single-server connection's driver: the task that writes the queued
//! commands to the socket and hands the replies back, run so that commands
//! sent in the same turn of the scheduler leave in one write.
//!
//! Left to itself, the redis crate's driver is woken by the first request
//! that queues a command and tokio runs it next (its LIFO slot): under load
//! it writes one command per `writev`, one TCP segment each, and
//! `redis-server` reads and answers them one at a time. Every segment is a
//! wake-up on the other side and time under the socket's lock on both, and
//! which of the two regimes a run settles in (one command per read or
//! several) moved verify on Redis by up to a fifth. Here a woken driver
//! first steps to the back of the run queue once: the requests already
//! runnable queue their commands meanwhile, and one write carries them all
//! (what Redis clients call auto-pipelining). Alone, a command waits for one
//! pass through an otherwise empty run queue: a few microseconds at one
//! connection (README, Benchmarks, sixth round).
//!
//! `Multiplexed` is the connection with its driver's lifetime attached: the
//! driver is aborted once the last clone is dropped, as the redis crate does
//! for a driver it spawns itself. Left running, a driver with a command
//! unanswered (a frozen server) would keep its task and socket for as long as
//! the server stays silent, one each time the link gives a connection up.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use redis::aio::MultiplexedConnection;
use redis::{Client, RedisError};

/// A multiplexed connection whose driver (`Batched`) lives as long as it does.
#[derive(Clone)]
pub(super) struct Multiplexed {
    pub(super) conn: MultiplexedConnection,
    _driver: Arc<AbortOnDrop>,
}

struct AbortOnDrop(tokio::task::AbortHandle);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl Multiplexed {
    /// Connects (without a bound: the caller's) and spawns the driver. No
    /// response timeout: every store operation already runs under the store's
    /// deadline (`Deadlines`), and the redis crate's would register a timer for
    /// every command besides (a wake-up of a parked worker under load).
    pub(super) async fn connect(client: &Client) -> Result<Self, RedisError> {
        let (conn, driver) = client.create_multiplexed_tokio_connection().await?;
        let task = tokio::spawn(Batched::new(driver));
        Ok(Self { conn, _driver: Arc::new(AbortOnDrop(task.abort_handle())) })
    }
}

/// Polls `inner` only on every second wake-up: the first one re-queues the task.
struct Batched<F> {
    inner: Pin<Box<F>>,
    stepped_back: bool,
}

impl<F: Future> Batched<F> {
    fn new(inner: F) -> Self {
        Self { inner: Box::pin(inner), stepped_back: false }
    }
}

impl<F: Future> Future for Batched<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        if !self.stepped_back {
            self.stepped_back = true;
            // A task that wakes itself while it runs is put at the back of the
            // run queue (tokio's yield), not in the LIFO slot.
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        self.stepped_back = false;
        self.inner.as_mut().poll(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    /// The driver runs after the tasks that were runnable when it was woken.
    #[tokio::test(flavor = "current_thread")]
    async fn the_inner_future_runs_after_the_tasks_already_queued() {
        let order = Arc::new(std::sync::Mutex::new(Vec::new()));
        let polls = Arc::new(AtomicUsize::new(0));
        let (o, p) = (order.clone(), polls.clone());
        let driver = tokio::spawn(Batched::new(async move {
            p.fetch_add(1, Ordering::SeqCst);
            o.lock().unwrap().push("driver");
        }));
        let o = order.clone();
        let other = tokio::spawn(async move { o.lock().unwrap().push("other") });
        driver.await.unwrap();
        other.await.unwrap();
        assert_eq!(*order.lock().unwrap(), ["other", "driver"]);
        assert_eq!(polls.load(Ordering::SeqCst), 1);
    }

    /// The driver's task ends with the last clone of its guard, never before.
    #[tokio::test]
    async fn a_driver_is_aborted_with_the_last_clone() {
        let task = tokio::spawn(std::future::pending::<()>());
        let guard = Arc::new(AbortOnDrop(task.abort_handle()));
        let clone = guard.clone();
        drop(guard);
        tokio::task::yield_now().await;
        assert!(!task.is_finished(), "aborted while a clone was alive");
        drop(clone);
        assert!(task.await.unwrap_err().is_cancelled());
    }
}
