//! Password hashing with argon2id at OWASP's recommended cost (19 MiB, 2 passes, 1 lane).
//!
//! Hashing is deliberately slow, so it runs off the async runtime on a few dedicated threads,
//! one hash per thread at a time (a sign-in flood queues here instead of starving the token
//! endpoints of CPU and memory), and unknown usernames are checked against a dummy hash so
//! response time does not reveal whether an account exists.
//!
//! Dedicated threads rather than tokio's blocking pool, each with its own 19 MiB of working
//! memory allocated once: hashing with a fresh allocation each time (argon2's default) grew the
//! server by hundreds of megabytes under a sign-in burst, through heap fragmentation.

use crate::domain::NewPassword;
use crate::server::ServiceError;
use crate::server::crypto::{constant_time_eq, random};
use argon2::{
    Algorithm, Argon2, Block, Params, Version,
    password_hash::phc::{Output, ParamsString, PasswordHash, Salt},
};
use std::cell::RefCell;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use tokio::sync::{Semaphore, oneshot};

/// OWASP Password Storage Cheat Sheet, argon2id option 2: m=19456 KiB, t=2, p=1.
const MEMORY_KIB: u32 = 19_456;
const PASSES: u32 = 2;
const LANES: u32 = 1;
/// Bytes of hash output (argon2's default).
const OUTPUT_LEN: usize = 32;

/// Hashes waiting for a thread, per hashing thread, before new ones are refused at once.
const WAITING_PER_THREAD: usize = 16;

/// Hashes and verifies passwords; cheap to clone (shares its concurrency limit and queue).
///
/// The queue in front of the threads is bounded: a sign-in flood past it is answered at once
/// with [`ServiceError::Busy`] ("try again") instead of queueing without limit, which would
/// hold every request's memory and make every later sign-in wait behind the flood.
#[derive(Clone)]
pub struct PasswordHasher {
    permits: Arc<Semaphore>,
    workers: Arc<Workers>,
    dummy_hash: Arc<str>,
    /// Hashes running or waiting.
    queued: Arc<AtomicUsize>,
    /// The most that may run or wait at once.
    capacity: usize,
}

/// Counts one hash as queued for as long as it lives.
struct QueueSlot(Arc<AtomicUsize>);

impl Drop for QueueSlot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
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
                .map_err(|error| ServiceError::caused("starting a hashing thread", error))?;
        }
        Ok(Self {
            jobs: Mutex::new(jobs),
        })
    }

    fn submit(&self, job: Job) -> Result<(), ServiceError> {
        self.jobs
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .send(job)
            .map_err(|_| ServiceError::Unexpected("the hashing threads stopped".into()))
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, ServiceError> {
        let (done, result) = oneshot::channel();
        self.submit(Box::new(move || {
            let _ = done.send(work());
        }))?;
        result
            .await
            .map_err(|_| ServiceError::Unexpected("a password hashing job panicked".into()))
    }

    /// [`Workers::run`] for callers outside async code (start-up).
    fn run_blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, ServiceError> {
        let (done, result) = mpsc::channel();
        self.submit(Box::new(move || {
            let _ = done.send(work());
        }))?;
        result
            .recv()
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

fn owasp_params() -> Result<Params, ServiceError> {
    Params::new(MEMORY_KIB, PASSES, LANES, None)
        .map_err(|error| ServiceError::caused("argon2 parameters", error.to_string()))
}

thread_local! {
    /// This hashing thread's argon2 working memory (19 MiB), allocated on its first hash and
    /// reused by every later one. Allocating and freeing it per hash fragments the heap: a
    /// sign-in flood grew the server from 22 MB to 241 MB.
    static WORKING_MEMORY: RefCell<Vec<Block>> = const { RefCell::new(Vec::new()) };
}

/// argon2 of `password` and `salt` into `out`, in this thread's reusable working memory.
fn compute(
    argon2: &Argon2<'_>,
    password: &[u8],
    salt: &[u8],
    out: &mut [u8],
) -> Result<(), argon2::Error> {
    let blocks = argon2.params().block_count();
    WORKING_MEMORY.with(|memory| {
        let mut memory = memory.borrow_mut();
        if memory.len() < blocks {
            memory.resize(blocks, Block::default());
        }
        argon2.hash_password_into_with_memory(password, salt, out, &mut memory[..blocks])
    })
}

fn hash_blocking(password: &str) -> Result<String, ServiceError> {
    let failed =
        |error: &dyn std::fmt::Display| ServiceError::caused("argon2 hashing", error.to_string());
    let params = owasp_params()?;
    let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    let salt =
        Salt::new(&random::bytes::<{ Salt::RECOMMENDED_LENGTH }>()?).map_err(|e| failed(&e))?;
    let mut out = [0u8; OUTPUT_LEN];
    compute(&argon2, password.as_bytes(), salt.as_ref(), &mut out).map_err(|e| failed(&e))?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params).map_err(|e| failed(&e))?,
        salt: Some(salt),
        hash: Some(Output::new(&out).map_err(|e| failed(&e))?),
    };
    Ok(phc.to_string())
}

fn verify_blocking(password: &str, stored: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(stored) else {
        return false;
    };
    // Parameters come from the stored hash, so raising the cost later keeps old hashes valid.
    let Ok(algorithm) = Algorithm::try_from(parsed.algorithm.as_str()) else {
        return false;
    };
    let Ok(version) = parsed.version.map_or(Ok(Version::V0x13), Version::try_from) else {
        return false;
    };
    let Ok(params) = Params::try_from(&parsed) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (&parsed.salt, &parsed.hash) else {
        return false;
    };
    let argon2 = Argon2::new(algorithm, version, params);
    let mut out = vec![0u8; expected.len()];
    compute(&argon2, password.as_bytes(), salt.as_ref(), &mut out).is_ok()
        && constant_time_eq(&out, expected.as_bytes())
}

impl PasswordHasher {
    /// A hasher that runs at most `max_concurrent` hashes at once, on as many threads.
    pub fn new(max_concurrent: usize) -> Result<Self, ServiceError> {
        Self::with_queue(max_concurrent, WAITING_PER_THREAD * max_concurrent.max(1))
    }

    /// A hasher with `max_concurrent` threads and room for `max_waiting` hashes waiting for
    /// one; more are refused with [`ServiceError::Busy`].
    pub fn with_queue(max_concurrent: usize, max_waiting: usize) -> Result<Self, ServiceError> {
        let max_concurrent = max_concurrent.max(1);
        let workers = Workers::start(max_concurrent)?;
        // On a hashing thread, whose working memory is reused afterwards.
        let dummy_hash = workers
            .run_blocking(|| hash_blocking("latchkey dummy password for unknown users"))??;
        Ok(Self {
            permits: Arc::new(Semaphore::new(max_concurrent)),
            workers: Arc::new(workers),
            dummy_hash: dummy_hash.into(),
            queued: Arc::new(AtomicUsize::new(0)),
            capacity: max_concurrent + max_waiting,
        })
    }

    /// False while the queue is full: a caller about to count a sign-in attempt refuses
    /// ([`ServiceError::Busy`]) before counting it, rather than count one it cannot check.
    pub fn has_room(&self) -> bool {
        self.queued.load(Ordering::SeqCst) < self.capacity
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
        let slot = QueueSlot(Arc::clone(&self.queued));
        if self.queued.fetch_add(1, Ordering::SeqCst) >= self.capacity {
            drop(slot);
            return Err(ServiceError::Busy);
        }
        let _slot = slot;
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

    #[test]
    fn hashes_stay_interchangeable_with_argon2s_own_phc_code() {
        use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
        let standard = Argon2::new(Algorithm::Argon2id, Version::V0x13, owasp_params().unwrap());
        // A hash stored by argon2's PHC implementation (as earlier versions did) verifies here…
        let stored = standard
            .hash_password(b"a long enough phrase")
            .unwrap()
            .to_string();
        assert!(verify_blocking("a long enough phrase", &stored));
        assert!(!verify_blocking("a long enough phrasE", &stored));
        // …and one made here verifies there, with the same parameters in the string.
        let ours = hash_blocking("another long phrase").unwrap();
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(
            standard
                .verify_password(b"another long phrase", &parsed)
                .is_ok()
        );
        assert!(
            standard
                .verify_password(b"another long phrasE", &parsed)
                .is_err()
        );
        // A stored hash with other parameters is checked with those parameters.
        let cheaper = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(8 * 1024, 1, 1, None).unwrap(),
        );
        let other = cheaper
            .hash_password(b"third phrase here")
            .unwrap()
            .to_string();
        assert!(verify_blocking("third phrase here", &other));
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
    async fn a_full_queue_answers_busy_at_once_and_drains() {
        let hasher = PasswordHasher::with_queue(1, 2).unwrap();
        let stored = hasher
            .hash(&password("a long enough phrase"))
            .await
            .unwrap();
        let tries: Vec<_> = (0..20)
            .map(|_| {
                let hasher = hasher.clone();
                let stored = stored.clone();
                tokio::spawn(async move { hasher.verify("wrong guess", Some(&stored)).await })
            })
            .collect();
        let mut busy = 0;
        for task in tries {
            match task.await.unwrap() {
                Err(ServiceError::Busy) => busy += 1,
                other => assert!(matches!(other, Ok(false))),
            }
        }
        assert!(
            busy >= 17,
            "at most 1 running + 2 waiting of 20: {busy} refused"
        );
        // Nothing stays counted: the next hash goes through.
        assert!(
            hasher
                .verify("a long enough phrase", Some(&stored))
                .await
                .unwrap()
        );
        assert_eq!(hasher.queued.load(Ordering::SeqCst), 0);
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
