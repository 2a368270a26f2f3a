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
        if let Some(t) = self.current.lock().await.as_ref().filter(|t| t.usable()) {
            return Ok(t.token.clone());
        }
        self.renew(None).await
    }

    /// The gateway refused `refused`: a new token, unless another request has already
    /// replaced it, in which case that one.
    pub async fn refused(&self, refused: &Secret) -> Result<Secret, String> {
        self.renew(Some(refused.clone())).await
    }

    /// Renews on a task of its own, which holds the token's lock throughout: a caller that
    /// gives up (a cancelled request) neither cancels the renewal nor lets a second one start.
    async fn renew(&self, refused: Option<Secret>) -> Result<Secret, String> {
        let this = self.clone();
        let task = tokio::spawn(async move {
            let mut current = this.current.lock().await;
            if let Some(t) = current.as_ref().filter(|t| t.usable()) {
                match &refused {
                    // Renewed by someone else while this caller waited.
                    Some(r) if r.expose() != t.token.expose() => return Ok(t.token.clone()),
                    None => return Ok(t.token.clone()),
                    // A token refused moments after it was issued is not a matter of age:
                    // asking the provider again for every request would only hammer it.
                    Some(_) if t.issued_at.elapsed().unwrap_or_default() < JUST_ISSUED => {
                        return Err("the gateway refuses a token issued moments ago".to_string());
                    }
                    Some(_) => {}
                }
            }
            let fresh = tokio::time::timeout(FETCH_TIMEOUT, this.source.fetch()).await.map_err(|_| {
                format!("the auth provider gave no token within {} s", FETCH_TIMEOUT.as_secs())
            })??;
            this.source.store(&fresh);
            (this.renewed)(&fresh);
            let token = fresh.token.clone();
            *current = Some(fresh);
            Ok(token)
        });
        task.await.map_err(|e| format!("token renewal: {e}"))?
    }
}

/// How long a provider may take for a token before the requests waiting for it fail.
const FETCH_TIMEOUT: Duration = Duration::from_secs(60);

/// A token younger than this that the gateway refuses is not renewed again at once.
const JUST_ISSUED: Duration = Duration::from_secs(5);

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Hands out `t1`, `t2`, … valid for `lifetime`, counting fetches and stores.
    struct Counting {
        fetched: AtomicUsize,
        stored: Arc<AtomicUsize>,
        lifetime: Duration,
        /// How long ago each token was issued.
        age: Duration,
    }

    impl Source for Counting {
        fn fetch(&self) -> futures::future::BoxFuture<'static, Result<Fresh, String>> {
            let n = self.fetched.fetch_add(1, Ordering::SeqCst) + 1;
            let (lifetime, age) = (self.lifetime, self.age);
            Box::pin(async move {
                // Slow enough that concurrent callers overlap.
                tokio::time::sleep(Duration::from_millis(20)).await;
                let now = SystemTime::now();
                Ok(Fresh {
                    token: Secret::new(format!("t{n}")),
                    issued_at: now - age,
                    expires_at: now + lifetime,
                })
            })
        }
        fn store(&self, _: &Fresh) {
            self.stored.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn tokens(lifetime: Duration, cached: Option<Fresh>) -> (Tokens, Arc<Counting>) {
        aged(lifetime, Duration::ZERO, cached)
    }

    fn aged(lifetime: Duration, age: Duration, cached: Option<Fresh>) -> (Tokens, Arc<Counting>) {
        let source = Arc::new(Counting { fetched: 0.into(), stored: Arc::default(), lifetime, age });
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
        let (t, source) = aged(Duration::from_secs(3600), Duration::from_secs(60), None);
        let first = t.get().await.unwrap();
        let (a, b) = tokio::join!(t.refused(&first), t.refused(&first));
        assert_eq!(source.fetched.load(Ordering::SeqCst), 2);
        assert_eq!(a.unwrap().expose(), "t2");
        assert_eq!(b.unwrap().expose(), "t2");
    }

    #[tokio::test]
    async fn a_token_refused_moments_after_it_was_issued_is_not_renewed_again() {
        let (t, source) = tokens(Duration::from_secs(3600), None);
        let first = t.get().await.unwrap();
        assert!(t.refused(&first).await.unwrap_err().contains("moments ago"));
        assert_eq!(source.fetched.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_renewal_goes_on_when_its_caller_gives_up() {
        let (t, source) = tokens(Duration::from_secs(3600), None);
        // The first caller is cancelled while the provider works; the second gets its token.
        let _ = tokio::time::timeout(Duration::from_millis(5), t.get()).await;
        assert_eq!(t.get().await.unwrap().expose(), "t1");
        assert_eq!(source.fetched.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn renewal_is_at_80_percent_of_the_lifetime() {
        let issued_at = SystemTime::UNIX_EPOCH + Duration::from_secs(1000);
        let f =
            Fresh { token: Secret::new("x"), issued_at, expires_at: issued_at + Duration::from_secs(3600) };
        assert_eq!(f.renew_at(), issued_at + Duration::from_secs(2880));
    }
}
