//! The shared token of one credential.
//!
//! One [`TokenCache`] per credential. Every caller asks it for the token; the first caller
//! authenticates while the others wait on the same lock and then reuse its result (success or
//! failure), so a burst of calls — or a burst of 401s after a revocation — costs one token
//! request, not one per caller.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use tokio::sync::Mutex;

use super::Token;
use crate::error::CloudError;

/// The shared token of one credential, with single-flight renewal.
#[derive(Default)]
pub(crate) struct TokenCache {
    state: Mutex<CacheState>,
    /// Authentication attempts finished so far. A caller that saw N before queueing for the lock
    /// and finds more after getting it knows someone authenticated for it meanwhile.
    attempts: AtomicU64,
    /// Tokens issued so far, for tests and diagnostics.
    issued: AtomicU64,
}

#[derive(Default)]
struct CacheState {
    token: Option<Arc<Token>>,
    last_error: Option<CloudError>,
}

impl TokenCache {
    /// The current token, authenticating with `issue` if there is none or it is due for renewal.
    /// If renewal fails while the current token has not expired yet, the current token is used
    /// (a short Keystone outage near the end of a token's life costs nothing).
    pub async fn get<F, Fut>(&self, issue: F) -> Result<Arc<Token>, CloudError>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<Token, CloudError>>,
    {
        let seen = self.attempts.load(Ordering::SeqCst);
        let mut state = self.state.lock().await;
        if let Some(token) = &state.token
            && Instant::now() < token.refresh_at
        {
            return Ok(token.clone());
        }
        if self.attempts.load(Ordering::SeqCst) != seen
            && let Some(e) = &state.last_error
        {
            // The attempt we waited for failed; failing alike beats a queue of doomed retries.
            return still_valid(&state.token).ok_or_else(|| e.clone());
        }
        let result = issue().await;
        self.attempts.fetch_add(1, Ordering::SeqCst);
        match result {
            Ok(token) => {
                self.issued.fetch_add(1, Ordering::SeqCst);
                let token = Arc::new(token);
                state.token = Some(token.clone());
                state.last_error = None;
                Ok(token)
            }
            Err(e) => {
                state.last_error = Some(e.clone());
                match still_valid(&state.token) {
                    Some(token) => {
                        tracing::warn!(error = %e, "could not renew the token; using the current one until it expires");
                        Ok(token)
                    }
                    None => {
                        state.token = None;
                        Err(e)
                    }
                }
            }
        }
    }

    /// Forgets `stale` (a token the cloud refused), unless it has been replaced already.
    pub async fn invalidate(&self, stale: &Arc<Token>) {
        let mut state = self.state.lock().await;
        if state.token.as_ref().is_some_and(|t| Arc::ptr_eq(t, stale)) {
            state.token = None;
        }
    }

    pub fn issued(&self) -> u64 {
        self.issued.load(Ordering::SeqCst)
    }
}

fn still_valid(token: &Option<Arc<Token>>) -> Option<Arc<Token>> {
    token
        .as_ref()
        .filter(|t| Instant::now() < t.expires)
        .cloned()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::catalog::Catalog;
    use crate::keystone::TokenInfo;
    use crate::secret::Secret;

    fn token(life: Duration) -> Token {
        token_expiring(life, life)
    }

    fn token_expiring(refresh_in: Duration, expires_in: Duration) -> Token {
        Token {
            id: Secret::new("t"),
            refresh_at: Instant::now() + refresh_in,
            expires: Instant::now() + expires_in,
            info: Arc::new(TokenInfo {
                project_id: "p".into(),
                project_name: String::new(),
                user_id: String::new(),
                roles: vec![],
                expires_at: jiff::Timestamp::now(),
                catalog: Catalog::default(),
            }),
        }
    }

    #[tokio::test]
    async fn single_flight_and_reuse() {
        let cache = Arc::new(TokenCache::default());
        let calls = Arc::new(AtomicU64::new(0));
        let mut tasks = Vec::new();
        for _ in 0..16 {
            let (cache, calls) = (cache.clone(), calls.clone());
            tasks.push(tokio::spawn(async move {
                cache
                    .get(|| async move {
                        calls.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        Ok(token(Duration::from_secs(60)))
                    })
                    .await
                    .unwrap()
            }));
        }
        let tokens: Vec<_> = futures::future::join_all(tasks)
            .await
            .into_iter()
            .map(Result::unwrap)
            .collect();
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        assert!(tokens.iter().all(|t| Arc::ptr_eq(t, &tokens[0])));

        // Invalidating twice with the same stale token renews once.
        cache.invalidate(&tokens[0]).await;
        let fresh = cache
            .get(|| async { Ok(token(Duration::from_secs(60))) })
            .await
            .unwrap();
        cache.invalidate(&tokens[0]).await;
        let again = cache.get(|| async { panic!("must reuse") }).await.unwrap();
        assert!(Arc::ptr_eq(&fresh, &again));
        assert_eq!(cache.issued(), 2);

        // A token due for renewal is replaced.
        let cache = TokenCache::default();
        cache
            .get(|| async { Ok(token(Duration::ZERO)) })
            .await
            .unwrap();
        cache
            .get(|| async { Ok(token(Duration::from_secs(60))) })
            .await
            .unwrap();
        assert_eq!(cache.issued(), 2);
    }

    #[tokio::test]
    async fn waiters_share_a_failure() {
        let cache = Arc::new(TokenCache::default());
        let calls = Arc::new(AtomicU64::new(0));
        let mut tasks = Vec::new();
        for _ in 0..8 {
            let (cache, calls) = (cache.clone(), calls.clone());
            tasks.push(tokio::spawn(async move {
                cache
                    .get(|| async move {
                        calls.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        Err(CloudError::Unauthorized {
                            request: "r".into(),
                            message: "no".into(),
                        })
                    })
                    .await
            }));
        }
        for t in futures::future::join_all(tasks).await {
            assert!(matches!(t.unwrap(), Err(CloudError::Unauthorized { .. })));
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        // A later call tries again.
        assert!(
            cache
                .get(|| async { Ok(token(Duration::from_secs(60))) })
                .await
                .is_ok()
        );
    }

    #[tokio::test]
    async fn a_failed_renewal_keeps_a_token_that_has_not_expired() {
        let cache = TokenCache::default();
        let due = cache
            .get(|| async { Ok(token_expiring(Duration::ZERO, Duration::from_secs(60))) })
            .await
            .unwrap();
        let unavailable = || async {
            Err(CloudError::Unavailable {
                request: "r".into(),
                status: 503,
                message: "down".into(),
                retry_after: None,
            })
        };
        let kept = cache
            .get(unavailable)
            .await
            .expect("the due but unexpired token stands in");
        assert!(Arc::ptr_eq(&due, &kept));
        // Renewal is tried again on the next call, and succeeds when Keystone is back.
        let fresh = cache
            .get(|| async { Ok(token(Duration::from_secs(60))) })
            .await
            .unwrap();
        assert!(!Arc::ptr_eq(&due, &fresh));

        // A token the cloud refused is never brought back.
        cache.invalidate(&fresh).await;
        assert!(cache.get(unavailable).await.is_err());

        // Nor one that has expired.
        let cache = TokenCache::default();
        cache
            .get(|| async { Ok(token_expiring(Duration::ZERO, Duration::ZERO)) })
            .await
            .unwrap();
        assert!(cache.get(unavailable).await.is_err());
    }
}
