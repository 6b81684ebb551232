//! hyper's header-read timer, one per connection. hyper makes a new sleep for
//! every request head and drops it once the head is read; with hyper-util's
//! `TokioTimer` each of those registers a timer entry in tokio's wheel and
//! takes it out again (~1.2k instructions a request, a twentieth of a token
//! check). Here every sleep of a connection shares one tokio timer entry,
//! left at an earlier deadline and moved on only when it fires there (once
//! per timeout period).

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use hyper::rt::{Sleep, Timer};

/// A connection's timer (give each connection its own: its sleeps share one entry).
#[derive(Clone)]
pub struct ConnTimer {
    shared: Arc<Mutex<Pin<Box<tokio::time::Sleep>>>>,
}

impl ConnTimer {
    pub fn new() -> Self {
        // Not registered until first polled: a connection that never waits costs no entry.
        let idle = tokio::time::sleep(Duration::from_secs(3600));
        Self { shared: Arc::new(Mutex::new(Box::pin(idle))) }
    }
}

impl Timer for ConnTimer {
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn Sleep>> {
        self.sleep_until(self.now() + duration)
    }

    fn sleep_until(&self, deadline: Instant) -> Pin<Box<dyn Sleep>> {
        Box::pin(ConnSleep { shared: self.shared.clone(), deadline: deadline.into() })
    }

    /// tokio's clock, as hyper-util's timer reads it (so paused time in tests holds).
    fn now(&self) -> Instant {
        tokio::time::Instant::now().into_std()
    }
}

/// One of hyper's sleeps: ready once the shared timer has passed its deadline.
struct ConnSleep {
    shared: Arc<Mutex<Pin<Box<tokio::time::Sleep>>>>,
    deadline: tokio::time::Instant,
}

impl Future for ConnSleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        // Only this connection's task polls it: the lock is never contended.
        let mut sleep = self.shared.lock().unwrap_or_else(|e| e.into_inner());
        // A connection's deadlines only grow (now plus one timeout), so the shared
        // entry mostly stands at an earlier sleep's: it fires early and is moved
        // on then, once per timeout period, not once per request. A later one
        // (the idle placeholder) is moved back at once.
        if sleep.deadline() > self.deadline {
            sleep.as_mut().reset(self.deadline);
        }
        loop {
            match sleep.as_mut().poll(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(()) if sleep.deadline() >= self.deadline => return Poll::Ready(()),
                Poll::Ready(()) => sleep.as_mut().reset(self.deadline),
            }
        }
    }
}

impl Sleep for ConnSleep {}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each sleep of one timer fires at its own deadline: not before it, and
    /// not at an earlier sleep's (dropped or fired) deadline.
    #[tokio::test]
    async fn each_sleep_fires_at_its_deadline() {
        let timer = ConnTimer::new();
        let ms = Duration::from_millis;
        let start = Instant::now();
        timer.sleep(ms(40)).await;
        assert!(start.elapsed() >= ms(40), "{:?}", start.elapsed());
        // Polled (so registered), then dropped before its deadline.
        let early = tokio::time::timeout(ms(10), timer.sleep(ms(500))).await;
        assert!(early.is_err(), "fired before its deadline");
        // A later deadline than the dropped one's: it moves the shared entry.
        let start = Instant::now();
        timer.sleep(ms(700)).await;
        assert!(start.elapsed() >= ms(700), "{:?}", start.elapsed());
        // An earlier deadline than the entry's last: it holds too.
        let _dropped = tokio::time::timeout(ms(5), timer.sleep(ms(900))).await;
        let start = Instant::now();
        timer.sleep(ms(30)).await;
        let took = start.elapsed();
        assert!(took >= ms(30) && took < ms(800), "{took:?}");
    }
}
