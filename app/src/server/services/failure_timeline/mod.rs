//! "Why did it fail?" (issue 20 item 3): each client's recent refused requests with their
//! real reason, for its administrators. On the wire the errors stay the RFC's; the endpoints
//! hand each refusal of a known client to the [`FailureRecorder`], which coalesces identical
//! ones in memory and writes them every few seconds ([`FailureRecorder::flush`]). Storage is
//! bounded: at most [`KEPT_PER_CLIENT`] rows per client, pruned with the audit retention.

mod recorder;
mod store;

pub use recorder::{Failure, FailureRecorder};
pub use store::{COUNT_WINDOW, KEPT_PER_CLIENT, ReasonCount, Timeline, prune, timeline};
