//! Password hashing with argon2id at OWASP's recommended cost (19 MiB, 2 passes, 1 lane).
//!
//! Hashing is deliberately slow, so it runs off the async runtime on a few dedicated threads,
//! one hash per thread at a time (a sign-in flood queues here instead of starving the token
//! endpoints of CPU and memory), and unknown usernames are checked against a dummy hash so
//! response time does not reveal whether an account exists.
//!
//! Dedicated threads rather than tokio's blocking pool: the allocator keeps a freed 19 MiB
//! block in the arena of the thread that used it, and the blocking pool spreads hashes over
//! many short-lived threads, so a sign-in burst grew the server by hundreds of megabytes.
//! With one long-lived thread per permitted hash, each arena holds one reusable block.

use crate::domain::NewPassword;
use crate::server::ServiceError;
use argon2::{
    Algorithm, Argon2, Params, Version,
    password_hash::{PasswordHasher as _, PasswordVerifier as _, phc::PasswordHash},
};
use std::sync::{Arc, Mutex, mpsc};
use tokio::sync::{Semaphore, oneshot};

/// OWASP Password Storage Cheat Sheet, argon2id option 2: m=19456 KiB, t=2, p=1.
const MEMORY_KIB: u32 = 19_456;
const PASSES: u32 = 2;
const LANES: u32 = 1;

/// Hashes and verifies passwords; cheap to clone (shares its concurrency limit).
#[derive(Clone)]
pub struct PasswordHasher {
    permits: Arc<Semaphore>,
    workers: Arc<Workers>,
    dummy_hash: Arc<str>,
}

type Job = Box<dyn FnOnce() + Send>;

/// The hashing threads; they end when the last clone of the hasher is dropped.
struct Workers {
    jobs: Mutex<mpsc::Sender<Job>>,
}

impl Workers {
    fn start(count: usize) -> Result<Self, ServiceError> {
        let (jobs, queue) = mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for n in 0..count {
            let queue = Arc::clone(&queue);
            std::thread::Builder::new()
                .name(format!("argon2-{n}"))
                .spawn(move || {
                    loop {
                        let next = queue
                            .lock()
                            .unwrap_or_else(std::sync::PoisonError::into_inner)
                            .recv();
                        match next {
                            Ok(job) => job(),
                            Err(mpsc::RecvError) => break,
                        }
                    }
                })
                .map_err(|error| {
                    ServiceError::Unexpected(format!("starting a hashing thread: {error}"))
                })?;
        }
        Ok(Self {
            jobs: Mutex::new(jobs),
        })
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, ServiceError> {
        let (done, result) = oneshot::channel();
        let job: Job = Box::new(move || {
            let _ = done.send(work());
        });
        self.jobs
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .send(job)
            .map_err(|_| ServiceError::Unexpected("the hashing threads stopped".into()))?;
        result
            .await
            .map_err(|_| ServiceError::Unexpected("a password hashing job panicked".into()))
    }
}

impl std::fmt::Debug for PasswordHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordHasher")
            .field("available_permits", &self.permits.available_permits())
            .finish()
    }
}

fn argon2() -> Result<Argon2<'static>, ServiceError> {
    let params = Params::new(MEMORY_KIB, PASSES, LANES, None)
        .map_err(|error| ServiceError::Unexpected(format!("argon2 parameters: {error}")))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

fn hash_blocking(password: &str) -> Result<String, ServiceError> {
    argon2()?
        .hash_password(password.as_bytes())
        .map(|hash| hash.to_string())
        .map_err(|error| ServiceError::Unexpected(format!("argon2 hashing: {error}")))
}

fn verify_blocking(password: &str, stored: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(stored) else {
        return false;
    };
    // Parameters come from the stored hash, so raising the cost later keeps old hashes valid.
    argon2().is_ok_and(|argon2| argon2.verify_password(password.as_bytes(), &parsed).is_ok())
}

impl PasswordHasher {
    /// A hasher that runs at most `max_concurrent` hashes at once, on as many threads.
    pub fn new(max_concurrent: usize) -> Result<Self, ServiceError> {
        let dummy_hash = hash_blocking("latchkey dummy password for unknown users")?;
        let max_concurrent = max_concurrent.max(1);
        Ok(Self {
            permits: Arc::new(Semaphore::new(max_concurrent)),
            workers: Arc::new(Workers::start(max_concurrent)?),
            dummy_hash: dummy_hash.into(),
        })
    }

    /// The PHC string (`$argon2id$v=19$m=19456,t=2,p=1$...`) for a new password.
    pub async fn hash(&self, password: &NewPassword) -> Result<String, ServiceError> {
        let password = password.expose().to_owned();
        self.run(move || hash_blocking(&password)).await?
    }

    /// True if `password` matches `stored`. With `stored = None` (unknown user) the dummy hash
    /// is checked so the time taken is the same, and the answer is always false.
    pub async fn verify(&self, password: &str, stored: Option<&str>) -> Result<bool, ServiceError> {
        let known = stored.is_some();
        let stored = stored.map_or_else(|| self.dummy_hash.to_string(), str::to_owned);
        let password = password.to_owned();
        let matches = self
            .run(move || verify_blocking(&password, &stored))
            .await?;
        Ok(known && matches)
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, ServiceError> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| ServiceError::Unexpected("password hasher closed".into()))?;
        self.workers.run(work).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn password(raw: &str) -> NewPassword {
        NewPassword::parse(raw, "someone").unwrap()
    }

    #[tokio::test]
    async fn hashes_with_owasp_argon2id_parameters_and_verifies() {
        let hasher = PasswordHasher::new(2).unwrap();
        let hash = hasher
            .hash(&password("a long enough phrase"))
            .await
            .unwrap();
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        assert!(
            hasher
                .verify("a long enough phrase", Some(&hash))
                .await
                .unwrap()
        );
        assert!(
            !hasher
                .verify("a long enough phrasE", Some(&hash))
                .await
                .unwrap()
        );
    }

    #[tokio::test]
    async fn same_password_gets_a_fresh_salt_each_time() {
        let hasher = PasswordHasher::new(1).unwrap();
        let first = hasher
            .hash(&password("a long enough phrase"))
            .await
            .unwrap();
        let second = hasher
            .hash(&password("a long enough phrase"))
            .await
            .unwrap();
        assert_ne!(first, second);
    }

    #[tokio::test]
    async fn unknown_users_and_garbage_hashes_never_verify() {
        let hasher = PasswordHasher::new(1).unwrap();
        assert!(
            !hasher
                .verify("latchkey dummy password for unknown users", None)
                .await
                .unwrap()
        );
        assert!(
            !hasher
                .verify("anything", Some("not a phc string"))
                .await
                .unwrap()
        );
    }
}
