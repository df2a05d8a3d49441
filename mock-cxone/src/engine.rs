//! The discrete-event core: one time-ordered queue of due work.
//!
//! Everything that happens over time (a lifecycle run at midnight, a file expiring after 30 days,
//! a Faster SEA pass a few minutes after new recordings) is a [`Task`] due at an instant.
//! [`Engine::advance_to`] pops and runs every task due at or before the target, in time order,
//! moving the clock to each task's instant first, then sets the clock to the target. That is
//! why "30 days later" takes milliseconds and the same seed and steps give the same results.
//!
//! The queue itself is not persisted: every task is derivable from stored state, so start-up
//! rebuilds it ([`crate::app::App::schedule_from_state`]).

use std::collections::BTreeSet;
use std::sync::Mutex;

use crate::store::time::{from_us, to_us, Instant};

/// A unit of time-based work. Variant order breaks ties between tasks due at the same instant.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Task {
    /// A fault rule acts at its own instant (a KMS key rotation, F9), and fault firings decided
    /// inside another task's transaction are recorded (F7, F10). First, so that at one instant
    /// it runs before everything else due then.
    Fault {
        /// The rule.
        fault_id: String,
    },
    /// Delete SEA objects whose 30 days are over (S5). Reads already hide them from that instant.
    SeaSweep,
    /// The daily Life Cycle Management run for every tenant (S3, S7).
    LifecycleRun,
    /// A Faster SEA pass for one tenant's zero-day rules (S10).
    FasterSea {
        /// The tenant whose zero-day rules run.
        tenant_id: String,
    },
    /// A job reaches its planned end: write its files (D5, D6).
    JobFinish {
        /// The job.
        job_id: String,
    },
    /// A download's interval has ended: create its job (D5).
    DownloadNext {
        /// The download.
        download_id: String,
        /// Start of the interval (unix µs); stale when the download was re-planned.
        interval_start_us: i64,
    },
    /// A PENDING job's start time (D5, D7).
    JobStart {
        /// The job.
        job_id: String,
    },
    /// The daily retention run of export destinations (D9).
    RetentionRun,
}

/// The queue. Identical (instant, task) pairs collapse into one entry.
#[derive(Debug, Default)]
pub struct Engine {
    queue: Mutex<BTreeSet<(i64, Task)>>,
    /// Held for a whole advance so two advances (or a tick and an advance) never interleave.
    advancing: Mutex<()>,
}

impl Engine {
    fn queue(&self) -> std::sync::MutexGuard<'_, BTreeSet<(i64, Task)>> {
        self.queue.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Schedules `task` at `at`.
    pub fn schedule(&self, at: Instant, task: Task) {
        self.queue().insert((to_us(at), task));
    }

    /// Forgets every scheduled task (reset).
    pub fn clear(&self) {
        self.queue().clear();
    }

    /// Number of scheduled tasks (diagnostics).
    pub fn len(&self) -> usize {
        self.queue().len()
    }

    /// Whether nothing is scheduled.
    pub fn is_empty(&self) -> bool {
        self.queue().is_empty()
    }

    /// Instant of the earliest scheduled task.
    pub fn next_due(&self) -> Option<Instant> {
        self.queue().first().map(|(at, _)| from_us(*at))
    }

    /// Removes and returns the earliest task due at or before `target`.
    fn pop_due(&self, target: Instant) -> Option<(Instant, Task)> {
        let mut q = self.queue();
        let first = q.first()?;
        if first.0 > to_us(target) {
            return None;
        }
        q.pop_first().map(|(at, task)| (from_us(at), task))
    }

    /// Runs every task due at or before `target`, in order, with `run(at, task)`.
    /// `on_instant(at)` is called before each task so the clock can follow.
    /// Blocking: call it from a blocking thread.
    pub fn advance_to<E>(
        &self,
        target: Instant,
        mut on_instant: impl FnMut(Instant),
        mut run: impl FnMut(Instant, Task) -> Result<(), E>,
    ) -> Result<usize, E> {
        let _one_at_a_time = self.advancing.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut ran = 0;
        while let Some((at, task)) = self.pop_due(target) {
            on_instant(at);
            if let Err(e) = run(at, task.clone()) {
                // Put it back so a later advance retries it instead of silently losing work.
                self.schedule(at, task);
                return Err(e);
            }
            ran += 1;
        }
        on_instant(target);
        Ok(ran)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::time::parse_rfc3339;

    fn t(s: &str) -> Instant {
        parse_rfc3339(s).unwrap_or_default()
    }

    #[test]
    fn runs_due_tasks_in_time_order_and_dedupes() {
        let e = Engine::default();
        e.schedule(t("2026-01-03T00:00:00Z"), Task::LifecycleRun);
        e.schedule(t("2026-01-02T00:00:00Z"), Task::SeaSweep);
        e.schedule(t("2026-01-02T00:00:00Z"), Task::SeaSweep);
        e.schedule(t("2026-01-05T00:00:00Z"), Task::LifecycleRun);
        assert_eq!(e.len(), 3);
        let mut seen = vec![];
        let ran = e
            .advance_to(
                t("2026-01-03T00:00:00Z"),
                |_| {},
                |at, task| {
                    seen.push((at, task));
                    Ok::<_, ()>(())
                },
            )
            .unwrap_or_default();
        assert_eq!(ran, 2);
        assert_eq!(seen[0], (t("2026-01-02T00:00:00Z"), Task::SeaSweep));
        assert_eq!(seen[1], (t("2026-01-03T00:00:00Z"), Task::LifecycleRun));
        assert_eq!(e.next_due(), Some(t("2026-01-05T00:00:00Z")));
    }
}
