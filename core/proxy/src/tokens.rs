//! The gateway token a proxy holds: reused while fresh, renewed when 80% of its lifetime has
//! passed, renewed at once when the gateway refuses it, and never fetched twice at a time.
//!
//! Where tokens come from is not this crate's business: a [`Source`] fetches one (through the
//! gateway leg's auth provider, built-in or plugin) and stores a renewed one (the credentials
//! file), so the proxy knows neither targets nor providers.

use mcpkit_workspace::secret::Secret;
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokio::sync::Mutex;

/// A token and the span it is valid in.
#[derive(Clone)]
pub struct Fresh {
    pub token: Secret,
    pub issued_at: SystemTime,
    pub expires_at: SystemTime,
}

impl Fresh {
    /// A token issued now that is valid for `lifetime`.
    pub fn issued_now(token: Secret, lifetime: Duration) -> Fresh {
        let now = SystemTime::now();
        Fresh { token, issued_at: now, expires_at: now + lifetime }
    }

    /// When to stop handing this token out: at 80% of its lifetime. For a token of an hour
    /// that is 12 minutes before it expires (AgentCore's clock and ours may disagree by a
    /// little, and a request may be slow); for the 2-second tokens of the tests, 0.4 s.
    pub fn renew_at(&self) -> SystemTime {
        let lifetime = self.expires_at.duration_since(self.issued_at).unwrap_or_default();
        self.issued_at + lifetime.mul_f64(0.8)
    }

    fn usable(&self) -> bool {
        SystemTime::now() < self.renew_at()
    }
}

/// Where tokens come from.
pub trait Source: Send + Sync + 'static {
    /// A new token. Blocking work (a plugin's `token`, an SDK call) is the source's to move
    /// off the async runtime.
    fn fetch(&self) -> futures::future::BoxFuture<'static, Result<Fresh, String>>;
    /// Keeps a renewed token where the next proxy (or `mcpkit`) finds it; failures are the
    /// source's to report, never the caller's problem.
    fn store(&self, _fresh: &Fresh) {}
}

/// The proxy's token: one at a time, shared by every request.
#[derive(Clone)]
pub struct Tokens {
    source: Arc<dyn Source>,
    current: Arc<Mutex<Option<Fresh>>>,
    renewed: Arc<dyn Fn(&Fresh) + Send + Sync>,
}

impl Tokens {
    /// Tokens from `source`, starting with `cached` (from the credentials file) if it is still
    /// fresh; `renewed` hears of every renewal (for the log).
    pub fn new(
        source: Arc<dyn Source>,
        cached: Option<Fresh>,
        renewed: Arc<dyn Fn(&Fresh) + Send + Sync>,
    ) -> Tokens {
        let cached = cached.filter(Fresh::usable);
        Tokens { source, current: Arc::new(Mutex::new(cached)), renewed }
    }

    /// The token to send now: the current one while fresh, else a new one. Concurrent
    /// callers wait for a single renewal.
    pub async fn get(&self) -> Result<Secret, String> {
        let mut current = self.current.lock().await;
        if let Some(t) = current.as_ref().filter(|t| t.usable()) {
            return Ok(t.token.clone());
        }
        self.renew(&mut current).await
    }

    /// The gateway refused `refused`: a new token, unless another request has already
    /// replaced it, in which case that one.
    pub async fn refused(&self, refused: &Secret) -> Result<Secret, String> {
        let mut current = self.current.lock().await;
        if let Some(t) = current.as_ref()
            && t.token.expose() != refused.expose()
            && t.usable()
        {
            return Ok(t.token.clone());
        }
        self.renew(&mut current).await
    }

    async fn renew(&self, current: &mut Option<Fresh>) -> Result<Secret, String> {
        let fresh = self.source.fetch().await?;
        self.source.store(&fresh);
        (self.renewed)(&fresh);
        let token = fresh.token.clone();
        *current = Some(fresh);
        Ok(token)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Hands out `t1`, `t2`, … valid for `lifetime`, counting fetches and stores.
    struct Counting {
        fetched: AtomicUsize,
        stored: Arc<AtomicUsize>,
        lifetime: Duration,
    }

    impl Source for Counting {
        fn fetch(&self) -> futures::future::BoxFuture<'static, Result<Fresh, String>> {
            let n = self.fetched.fetch_add(1, Ordering::SeqCst) + 1;
            let lifetime = self.lifetime;
            Box::pin(async move {
                // Slow enough that concurrent callers overlap.
                tokio::time::sleep(Duration::from_millis(20)).await;
                Ok(Fresh::issued_now(Secret::new(format!("t{n}")), lifetime))
            })
        }
        fn store(&self, _: &Fresh) {
            self.stored.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn tokens(lifetime: Duration, cached: Option<Fresh>) -> (Tokens, Arc<Counting>) {
        let source = Arc::new(Counting { fetched: 0.into(), stored: Arc::default(), lifetime });
        (Tokens::new(source.clone(), cached, Arc::new(|_| {})), source)
    }

    #[tokio::test]
    async fn a_fresh_cached_token_is_used_without_a_fetch() {
        let cached = Fresh::issued_now(Secret::new("cached"), Duration::from_secs(3600));
        let (t, source) = tokens(Duration::from_secs(3600), Some(cached));
        assert_eq!(t.get().await.unwrap().expose(), "cached");
        assert_eq!(source.fetched.load(Ordering::SeqCst), 0);
    }

    #[tokio::test]
    async fn a_cached_token_past_80_percent_of_its_life_is_not_used() {
        let now = SystemTime::now();
        let cached = Fresh {
            token: Secret::new("old"),
            issued_at: now - Duration::from_secs(3000),
            expires_at: now + Duration::from_secs(600),
        };
        let (t, source) = tokens(Duration::from_secs(3600), Some(cached));
        assert_eq!(t.get().await.unwrap().expose(), "t1");
        assert_eq!(source.fetched.load(Ordering::SeqCst), 1);
        assert_eq!(source.stored.load(Ordering::SeqCst), 1, "a renewed token is stored");
    }

    #[tokio::test]
    async fn a_token_is_renewed_at_80_percent_and_concurrent_callers_share_one_renewal() {
        let (t, source) = tokens(Duration::from_millis(500), None);
        let first = t.get().await.unwrap();
        assert_eq!(t.get().await.unwrap().expose(), first.expose(), "still fresh");
        tokio::time::sleep(Duration::from_millis(420)).await;
        let (a, b, c) = tokio::join!(t.get(), t.get(), t.get());
        assert_eq!(source.fetched.load(Ordering::SeqCst), 2, "one renewal for three callers");
        assert_eq!(a.unwrap().expose(), "t2");
        assert_eq!(b.unwrap().expose(), "t2");
        assert_eq!(c.unwrap().expose(), "t2");
    }

    #[tokio::test]
    async fn a_refused_token_is_renewed_once_however_many_requests_saw_it_refused() {
        let (t, source) = tokens(Duration::from_secs(3600), None);
        let first = t.get().await.unwrap();
        let (a, b) = tokio::join!(t.refused(&first), t.refused(&first));
        assert_eq!(source.fetched.load(Ordering::SeqCst), 2);
        assert_eq!(a.unwrap().expose(), "t2");
        assert_eq!(b.unwrap().expose(), "t2");
    }

    #[test]
    fn renewal_is_at_80_percent_of_the_lifetime() {
        let issued_at = SystemTime::UNIX_EPOCH + Duration::from_secs(1000);
        let f =
            Fresh { token: Secret::new("x"), issued_at, expires_at: issued_at + Duration::from_secs(3600) };
        assert_eq!(f.renew_at(), issued_at + Duration::from_secs(2880));
    }
}
