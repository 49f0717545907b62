//! A client-side rate budget: at most `requests` calls in any window of `per`, shared by every
//! client that holds a clone, and, through a [`SharedLedger`], by every replica of a service.
//!
//! Belvo's firewall answers 403 to more than about 80 requests in 30 seconds from one IP. The
//! budget counts calls in a [`Ledger`] of time buckets (a sixtieth of the window each): a call
//! is taken only if the buckets of the last window, and two more, hold fewer than `requests`,
//! so no window of `per`, wherever it starts, holds more. Memory is fixed whatever the budget.
//!
//! Calls of one process wait in [`Priority`] order (then first come, first served): one
//! waiter at a time asks the ledger, and sleeps until the ledger says there will be room, or
//! until a more urgent call arrives and takes its turn. Nothing is reserved ahead, so a call
//! that arrives later with a higher priority goes next.

use std::collections::{BTreeMap, VecDeque};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::{Notify, oneshot};
use tokio::time::Instant;

/// How urgent a call is; lower goes first within a process's budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum Priority {
    /// A user is waiting: widget tokens, registration, deletion, refresh.
    #[default]
    Interactive,
    /// A new link's first pull.
    FirstPull,
    /// A pull a webhook announced.
    Update,
    /// The freshness watchdog's reconciliation.
    Reconcile,
    /// An operator's resync.
    Resync,
}

impl Priority {
    /// Every priority, most urgent first.
    pub const ALL: [Self; 5] = [
        Self::Interactive,
        Self::FirstPull,
        Self::Update,
        Self::Reconcile,
        Self::Resync,
    ];

    /// Its rank, 0 the most urgent (as stored).
    pub fn rank(self) -> i32 {
        self as i32
    }

    /// The priority of a rank; the least urgent for a rank past them all.
    pub fn from_rank(rank: i32) -> Self {
        usize::try_from(rank)
            .ok()
            .and_then(|r| Self::ALL.get(r).copied())
            .unwrap_or(Self::Resync)
    }
}

/// A budget's size: `requests` calls in any window of `per`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub requests: u32,
    pub per: Duration,
}

/// Buckets per window.
const BUCKETS: u64 = 60;

impl Limits {
    /// A bucket's width in milliseconds.
    fn width_ms(self) -> i64 {
        (self.per.as_millis() as u64 / BUCKETS).max(1) as i64
    }

    /// Buckets a window covers.
    fn window_buckets(self) -> i64 {
        (self.per.as_millis() as u64)
            .div_ceil(self.width_ms() as u64)
            .max(1) as i64
    }
}

/// Calls taken per time bucket: the state a budget keeps, in memory or in a database row.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ledger {
    width_ms: i64,
    /// Bucket index (time / width) to the calls taken in it.
    taken: BTreeMap<i64, u32>,
}

impl Ledger {
    /// Takes one call at `now_ms` if the budget has room, or says how long until it may.
    pub fn take(&mut self, limits: Limits, now_ms: i64) -> Result<(), Duration> {
        let width = limits.width_ms();
        if self.width_ms != width {
            // A new budget size: start over (the old counts are of other buckets).
            *self = Self {
                width_ms: width,
                taken: BTreeMap::new(),
            };
        }
        // The `span` buckets ending at the current one must stay within the budget: a window
        // touches at most `window_buckets + 1` of them, and one more absorbs jitter between a
        // call's taking and its arrival at Belvo.
        let span = limits.window_buckets() + 2;
        let now = now_ms.div_euclid(width);
        self.taken = self.taken.split_off(&(now - span + 1));
        let used: u64 = self.taken.values().map(|&n| u64::from(n)).sum();
        if used < u64::from(limits.requests) {
            *self.taken.entry(now).or_default() += 1;
            return Ok(());
        }
        // Full: room comes when enough of the oldest buckets have left the span.
        let mut freed = 0;
        let mut at = now;
        for (&bucket, &n) in &self.taken {
            freed += u64::from(n);
            at = bucket + span;
            if used - freed < u64::from(limits.requests) {
                break;
            }
        }
        Err(Duration::from_millis((at * width - now_ms).max(1) as u64))
    }

    /// The ledger as text (for a database row): `<width>;<bucket>:<count>,…`.
    pub fn encode(&self) -> String {
        let buckets: Vec<String> = self
            .taken
            .iter()
            .map(|(bucket, n)| format!("{bucket}:{n}"))
            .collect();
        format!("{};{}", self.width_ms, buckets.join(","))
    }

    /// A ledger [`Self::encode`] wrote; empty (a fresh budget) when the text is not one.
    pub fn decode(text: &str) -> Self {
        let parse = || -> Option<Self> {
            let (width, buckets) = text.split_once(';')?;
            let mut taken = BTreeMap::new();
            for pair in buckets.split(',').filter(|p| !p.is_empty()) {
                let (bucket, n) = pair.split_once(':')?;
                taken.insert(bucket.parse().ok()?, n.parse().ok()?);
            }
            Some(Self {
                width_ms: width.parse().ok()?,
                taken,
            })
        };
        parse().unwrap_or_default()
    }
}

/// Why a shared ledger could not be read or written.
pub type LedgerError = Box<dyn std::error::Error + Send + Sync>;

/// What [`SharedLedger::take`] answers: taken, or how long until there is room; or an error.
pub type Taking<'a> =
    Pin<Box<dyn Future<Output = Result<Result<(), Duration>, LedgerError>> + Send + 'a>>;

/// A [`Ledger`] kept outside the process (a database row), so that every replica of a service
/// shares one budget. [`SharedLedger::take`] takes a call or says how long until it may, as
/// [`Ledger::take`], atomically against every other taker.
pub trait SharedLedger: Send + Sync + fmt::Debug {
    fn take(&self, limits: Limits) -> Taking<'_>;
}

/// A shared budget. Clone it to share it between clients that use the same secret keys.
#[derive(Debug, Clone)]
pub struct RateBudget {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    limits: Limits,
    ledger: Store,
    queue: Queue,
}

#[derive(Debug)]
enum Store {
    Unlimited,
    Local {
        epoch: Instant,
        ledger: Mutex<Ledger>,
    },
    Shared(Arc<dyn SharedLedger>),
}

impl RateBudget {
    /// At most `requests` (at least 1) calls in any window of `per`, in this process.
    pub fn new(requests: u32, per: Duration) -> Self {
        Self::with_store(
            requests,
            per,
            Store::Local {
                epoch: Instant::now(),
                ledger: Mutex::new(Ledger::default()),
            },
        )
    }

    /// The same budget kept in `ledger`, shared with every process that uses it.
    pub fn shared(requests: u32, per: Duration, ledger: Arc<dyn SharedLedger>) -> Self {
        Self::with_store(requests, per, Store::Shared(ledger))
    }

    fn with_store(requests: u32, per: Duration, ledger: Store) -> Self {
        Self {
            inner: Arc::new(Inner {
                limits: Limits {
                    requests: requests.max(1),
                    per: per.max(Duration::from_millis(1)),
                },
                ledger,
                queue: Queue::default(),
            }),
        }
    }

    /// Belvo's firewall threshold with a margin: 70 requests per 30 seconds.
    pub fn belvo_default() -> Self {
        Self::new(70, Duration::from_secs(30))
    }

    /// No limit (for tests against the emulator).
    pub fn unlimited() -> Self {
        Self::with_store(u32::MAX, Duration::from_millis(1), Store::Unlimited)
    }

    /// The budget's size.
    pub fn limits(&self) -> Limits {
        self.inner.limits
    }

    /// Waits until a call of `priority` fits in the budget, and takes it. Calls of this
    /// process wait in priority order; a shared ledger that cannot be reached is asked again
    /// (the call waits rather than fails, or goes over the budget).
    pub async fn acquire(&self, priority: Priority) {
        if matches!(self.inner.ledger, Store::Unlimited) {
            return;
        }
        let queue = &self.inner.queue;
        let seq = queue.arrive();
        let mut turn = queue.turn(priority, seq).await;
        let mut failures = 0u32;
        loop {
            let wait = match &self.inner.ledger {
                Store::Unlimited => return,
                Store::Local { epoch, ledger } => {
                    let now_ms = epoch.elapsed().as_millis() as i64;
                    match ledger
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .take(self.inner.limits, now_ms)
                    {
                        Ok(()) => return,
                        Err(wait) => wait,
                    }
                }
                Store::Shared(ledger) => match ledger.take(self.inner.limits).await {
                    Ok(Ok(())) => return,
                    Ok(Err(wait)) => wait,
                    Err(error) => {
                        failures += 1;
                        tracing::warn!(%error, failures, "cannot reach the shared rate budget; waiting");
                        Duration::from_millis(250 * u64::from(failures.min(40)))
                    }
                },
            };
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                // A more urgent call arrived while this one waits for room: it goes first, and
                // this one waits again in its place.
                () = queue.outranked(priority) => {
                    drop(turn);
                    turn = queue.turn(priority, seq).await;
                }
            }
        }
    }
}

/// Who asks the ledger next: one waiter at a time, by priority, then arrival.
#[derive(Debug, Default)]
struct Queue {
    state: Mutex<QueueState>,
    /// Woken when a waiter is queued, so that a less urgent holder can give way.
    queued: Notify,
}

#[derive(Debug, Default)]
struct QueueState {
    busy: bool,
    next: u64,
    waiting: BTreeMap<(Priority, u64), oneshot::Sender<()>>,
}

/// The turn to ask the ledger; handed to the next waiter when dropped.
struct Turn<'a>(&'a Queue);

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        self.0.pass();
    }
}

/// A queued waiter; if it is dropped after being handed the turn, it passes the turn on.
struct Waiting<'a> {
    queue: &'a Queue,
    rx: oneshot::Receiver<()>,
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.rx.close();
        if self.rx.try_recv().is_ok() {
            self.queue.pass();
        }
    }
}

impl Queue {
    /// A call's place in arrival order, kept when it gives way and queues again.
    fn arrive(&self) -> u64 {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.next += 1;
        state.next
    }

    async fn turn(&self, priority: Priority, seq: u64) -> Turn<'_> {
        let rx = {
            let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
            if !state.busy {
                state.busy = true;
                return Turn(self);
            }
            let (tx, rx) = oneshot::channel();
            state.waiting.insert((priority, seq), tx);
            rx
        };
        self.queued.notify_waiters();
        let mut waiting = Waiting { queue: self, rx };
        // Our sender is only dropped by `pass`, after it sent: the turn is ours (and, received,
        // no longer passed on by `Waiting`'s drop).
        let _ = (&mut waiting.rx).await;
        Turn(self)
    }

    /// Resolves once a call more urgent than `priority` waits for the turn.
    async fn outranked(&self, priority: Priority) {
        loop {
            let queued = self.queued.notified();
            tokio::pin!(queued);
            // Registered before looking, so that a waiter queued meanwhile wakes us.
            queued.as_mut().enable();
            if self.more_urgent_waits(priority) {
                return;
            }
            queued.await;
        }
    }

    fn more_urgent_waits(&self, priority: Priority) -> bool {
        let state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state
            .waiting
            .first_key_value()
            .is_some_and(|((first, _), _)| *first < priority)
    }

    /// Hands the turn to the most urgent live waiter, or frees it.
    fn pass(&self) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        while let Some((_, tx)) = state.waiting.pop_first() {
            if tx.send(()).is_ok() {
                return;
            }
        }
        state.busy = false;
    }
}

/// The send times of calls, for tests that check a budget held: the most calls any window
/// of `per` holds.
pub fn busiest_window(times: &[Duration], per: Duration) -> usize {
    let mut sorted = times.to_vec();
    sorted.sort();
    let mut window = VecDeque::new();
    let mut most = 0;
    for t in sorted {
        window.push_back(t);
        while window.front().is_some_and(|first| *first + per <= t) {
            window.pop_front();
        }
        most = most.max(window.len());
    }
    most
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn never_more_than_the_budget_in_any_window() {
        let budget = RateBudget::new(5, Duration::from_secs(10));
        let start = Instant::now();
        let mut times = Vec::new();
        for _ in 0..16 {
            budget.acquire(Priority::Update).await;
            times.push(start.elapsed());
        }
        // The first 5 go at once; the next 5 about a window later (a bucket's margin).
        assert_eq!(times[4], Duration::ZERO);
        assert!(
            times[5] >= Duration::from_secs(10) && times[5] <= Duration::from_millis(10_500),
            "{times:?}"
        );
        assert!(times[15] <= Duration::from_millis(31_500), "{times:?}");
        assert_eq!(busiest_window(&times, Duration::from_secs(10)), 5);
    }

    #[tokio::test(start_paused = true)]
    async fn clones_share_one_budget() {
        let a = RateBudget::new(2, Duration::from_secs(1));
        let b = a.clone();
        let start = Instant::now();
        a.acquire(Priority::Interactive).await;
        b.acquire(Priority::Interactive).await;
        a.acquire(Priority::Interactive).await;
        assert!(start.elapsed() >= Duration::from_secs(1));
    }

    #[tokio::test(start_paused = true)]
    async fn waiters_go_by_priority_then_arrival() {
        let budget = RateBudget::new(1, Duration::from_secs(1));
        budget.acquire(Priority::Update).await;
        let order = Arc::new(Mutex::new(Vec::new()));
        let mut tasks = Vec::new();
        // The first waiter holds the turn while it waits for room, and gives it to more urgent
        // ones as they come; equals keep their arrival order.
        for (n, priority) in [
            (0, Priority::Resync),
            (1, Priority::Update),
            (2, Priority::Resync),
            (3, Priority::FirstPull),
            (4, Priority::Update),
        ] {
            let (budget, order) = (budget.clone(), order.clone());
            tasks.push(tokio::spawn(async move {
                budget.acquire(priority).await;
                order.lock().unwrap().push(n);
            }));
            tokio::task::yield_now().await;
        }
        for task in tasks {
            task.await.unwrap();
        }
        assert_eq!(*order.lock().unwrap(), [3, 1, 4, 0, 2]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_waiter_that_gives_up_passes_its_turn_on() {
        let budget = RateBudget::new(1, Duration::from_secs(1));
        budget.acquire(Priority::Update).await;
        let holder = tokio::spawn({
            let budget = budget.clone();
            async move { budget.acquire(Priority::Update).await }
        });
        tokio::task::yield_now().await;
        let gave_up = tokio::spawn({
            let budget = budget.clone();
            async move { budget.acquire(Priority::FirstPull).await }
        });
        tokio::task::yield_now().await;
        gave_up.abort();
        holder.await.unwrap();
        // The turn was not lost with the aborted waiter.
        tokio::time::timeout(Duration::from_secs(5), budget.acquire(Priority::Update))
            .await
            .unwrap();
    }

    #[test]
    fn a_ledger_round_trips_as_text_and_a_new_size_starts_over() {
        let limits = Limits {
            requests: 3,
            per: Duration::from_secs(30),
        };
        let mut ledger = Ledger::default();
        for t in [0, 100, 900] {
            ledger.take(limits, t).unwrap();
        }
        let wait = ledger.take(limits, 1_000).unwrap_err();
        assert!(wait >= Duration::from_secs(29), "{wait:?}");
        let text = ledger.encode();
        assert_eq!(Ledger::decode(&text), ledger);
        assert_eq!(Ledger::decode("garbage"), Ledger::default());
        let bigger = Limits {
            requests: 10,
            per: Duration::from_secs(60),
        };
        assert!(ledger.take(bigger, 1_000).is_ok());
    }

    #[test]
    fn no_window_holds_more_than_the_budget_whatever_the_arrivals() {
        let limits = Limits {
            requests: 7,
            per: Duration::from_secs(3),
        };
        let mut ledger = Ledger::default();
        let mut sent = Vec::new();
        let mut now = 0i64;
        // Callers that retry as soon as they are told, at uneven times.
        for step in 0..2_000i64 {
            now += (step * 37) % 113;
            if ledger.take(limits, now).is_ok() {
                sent.push(Duration::from_millis(now as u64));
            }
        }
        assert!(sent.len() > 100, "{}", sent.len());
        assert_eq!(busiest_window(&sent, limits.per), 7);
    }
}
