//! Retrying calls that failed for a passing reason (429, 5xx) with exponential backoff and jitter.

use std::future::Future;
use std::time::Duration;

use rand::Rng;

use crate::error::Result;

/// How often and how patiently a failed call is tried again.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Backoff {
    pub initial: Duration,
    pub max: Duration,
    pub multiplier: f64,
    /// Attempts in all, the first one included.
    pub attempts: u32,
}

impl Default for Backoff {
    /// About a minute of patience: enough for a 429 burst or a GKE front-end restart.
    fn default() -> Self {
        Self {
            initial: Duration::from_millis(500),
            max: Duration::from_secs(16),
            multiplier: 2.0,
            attempts: 8,
        }
    }
}

impl Backoff {
    /// The pause before retry number `retry` (0-based), with "full jitter" so that many
    /// clients throttled at once do not come back in step.
    pub fn delay(&self, retry: u32) -> Duration {
        let ceiling = self.ceiling(retry);
        let fraction: f64 = rand::rng().random_range(0.5..=1.0);
        ceiling.mul_f64(fraction)
    }

    fn ceiling(&self, retry: u32) -> Duration {
        let factor = self.multiplier.powi(retry.min(30) as i32);
        self.initial.mul_f64(factor).min(self.max)
    }

    /// This policy for the Google libraries' own retry loops (token requests): transient
    /// failures only, at most `attempts` tries.
    pub fn token_retry_policy(&self) -> impl google_cloud_gax::retry_policy::RetryPolicy {
        use google_cloud_gax::retry_policy::{Aip194Strict, RetryPolicyExt};
        Aip194Strict.with_attempt_limit(self.attempts)
    }

    /// The pauses of this policy for the Google libraries' retry loops.
    pub fn token_backoff_policy(
        &self,
    ) -> google_cloud_gax::exponential_backoff::ExponentialBackoff {
        google_cloud_gax::exponential_backoff::ExponentialBackoffBuilder::new()
            .with_initial_delay(self.initial)
            .with_maximum_delay(self.max)
            .with_scaling(self.multiplier)
            .build()
            .unwrap_or_default()
    }

    /// Runs `call` until it succeeds, fails for a reason retrying cannot fix, or the attempts run out.
    pub async fn retry<T, F, Fut>(&self, what: &str, mut call: F) -> Result<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        let mut retry = 0;
        loop {
            match call().await {
                Err(e) if e.is_retryable() && retry + 1 < self.attempts => {
                    let pause = self.delay(retry);
                    tracing::info!(
                        "{what} failed ({e}); retrying in {:.1}s",
                        pause.as_secs_f64()
                    );
                    tokio::time::sleep(pause).await;
                    retry += 1;
                }
                other => return other,
            }
        }
    }
}

/// A loop that looks at GKE again after each wait or refusal: at most `max` looks, `pause`
/// between two, so that a misbehaving answer never becomes a flood of calls.
#[derive(Debug, Clone, Copy)]
pub struct Rounds {
    pub max: u32,
    pub pause: Duration,
}

/// The rounds of create, delete and node-pool changes.
pub const CLUSTER_ROUNDS: Rounds = Rounds {
    max: 60,
    pause: Duration::from_secs(1),
};

impl Rounds {
    /// Sleeps before every round but the first.
    pub async fn pause_before(&self, round: u32) {
        if round > 0 {
            tokio::time::sleep(self.pause).await;
        }
    }

    /// The time the pauses alone take when every round is used.
    pub fn pauses(&self) -> Duration {
        self.pause * self.max.saturating_sub(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{ApiFailure, GkeError};
    use std::sync::atomic::{AtomicU32, Ordering};

    fn api(status: u16) -> GkeError {
        GkeError::Api(ApiFailure::from_response(status, "GET /x".into(), ""))
    }

    #[test]
    fn delays_grow_to_the_cap_with_jitter() {
        let b = Backoff::default();
        for retry in 0..12 {
            let d = b.delay(retry);
            assert!(d <= b.max, "{d:?}");
            assert!(d >= b.ceiling(retry) / 2, "{d:?}");
        }
        assert_eq!(b.ceiling(0), Duration::from_millis(500));
        assert_eq!(b.ceiling(3), Duration::from_secs(4));
        assert_eq!(b.ceiling(10), Duration::from_secs(16));
    }

    #[tokio::test(start_paused = true)]
    async fn retries_throttling_until_success() {
        let calls = AtomicU32::new(0);
        let out = Backoff::default()
            .retry("probe", || async {
                match calls.fetch_add(1, Ordering::SeqCst) {
                    0 => Err(api(429)),
                    1 => Err(api(503)),
                    _ => Ok(7),
                }
            })
            .await
            .unwrap();
        assert_eq!((out, calls.load(Ordering::SeqCst)), (7, 3));
    }

    #[tokio::test(start_paused = true)]
    async fn does_not_retry_what_retrying_cannot_fix() {
        let calls = AtomicU32::new(0);
        let err = Backoff::default()
            .retry("probe", || async {
                calls.fetch_add(1, Ordering::SeqCst);
                Err::<(), _>(api(403))
            })
            .await
            .unwrap_err();
        assert!(matches!(err, GkeError::Api(ref f) if f.status == 403));
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn gives_up_after_the_last_attempt() {
        let calls = AtomicU32::new(0);
        let b = Backoff {
            attempts: 3,
            ..Backoff::default()
        };
        let err = b
            .retry("probe", || async {
                calls.fetch_add(1, Ordering::SeqCst);
                Err::<(), _>(api(500))
            })
            .await
            .unwrap_err();
        assert!(err.is_retryable());
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }
}
