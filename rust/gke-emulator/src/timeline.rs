//! When a long-running operation is pending, running or finished, computed from persisted wall-clock
//! timestamps so that a restarted emulator carries on where it stopped.

use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// Share of an operation's duration it spends PENDING before it starts RUNNING.
const PENDING_SHARE: f64 = 0.1;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Timeline {
    pub start_ms: u64,
    pub duration_ms: u64,
    /// A held operation stays RUNNING until an admin call releases it.
    pub held: bool,
    /// When a held operation was released; it finishes no earlier than this.
    pub released_ms: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Pending,
    Running,
    Finished,
}

impl Timeline {
    pub fn new(start_ms: u64, duration_ms: u64, held: bool) -> Self {
        Timeline {
            start_ms,
            duration_ms,
            held,
            released_ms: None,
        }
    }

    /// The moment the operation completes, unless it is held.
    pub fn end_ms(&self) -> Option<u64> {
        if self.held {
            return None;
        }
        let planned = self.start_ms + self.duration_ms;
        Some(self.released_ms.map_or(planned, |r| r.max(planned)))
    }

    pub fn phase(&self, now_ms: u64) -> Phase {
        let elapsed = now_ms.saturating_sub(self.start_ms) as f64;
        if self.end_ms().is_some_and(|end| now_ms >= end) {
            Phase::Finished
        } else if elapsed < self.duration_ms as f64 * PENDING_SHARE {
            Phase::Pending
        } else {
            Phase::Running
        }
    }

    /// Progress in [0, 1]; a held operation never reports complete.
    pub fn fraction(&self, now_ms: u64) -> f64 {
        if self.phase(now_ms) == Phase::Finished {
            return 1.0;
        }
        let elapsed = now_ms.saturating_sub(self.start_ms) as f64;
        (elapsed / self.duration_ms.max(1) as f64).min(0.99)
    }

    pub fn release(&mut self, now_ms: u64) {
        if self.held {
            self.held = false;
            self.released_ms = Some(now_ms);
        }
    }
}

pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// RFC 3339 with milliseconds and `Z`, the form Google's APIs use for timestamps.
pub fn rfc3339(ms: u64) -> String {
    let at = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    let format = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    );
    at.format(&format).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phases_follow_the_clock() {
        let t = Timeline::new(1000, 1000, false);
        assert_eq!(t.phase(1050), Phase::Pending);
        assert_eq!(t.phase(1500), Phase::Running);
        assert_eq!(t.phase(2000), Phase::Finished);
    }

    #[test]
    fn a_held_operation_runs_until_released() {
        let mut t = Timeline::new(1000, 100, true);
        assert_eq!(t.phase(9000), Phase::Running);
        t.release(9000);
        assert_eq!(t.phase(9000), Phase::Finished);
        assert_eq!(t.end_ms(), Some(9000));
    }

    #[test]
    fn timestamps_are_rfc3339_utc() {
        assert_eq!(rfc3339(1_700_000_000_123), "2023-11-14T22:13:20.123Z");
    }
}
