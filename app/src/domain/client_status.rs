//! Where a client stands: the review of a request (`Review`) and, with the disabled flag, the
//! one status every list, the CLI and the API show (`ClientStatus`). A client an administrator
//! registers is approved from the start; a client an API user requests is pending until an
//! administrator approves or rejects it. Only an active client authenticates.

use serde::{Deserialize, Serialize};

/// The review of a client, as stored in `clients.review`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Review {
    /// Registered by an administrator, or a request an administrator approved.
    Approved,
    /// Requested by an API user; waits for a site administrator.
    Pending,
    /// Refused by a site administrator (with a reason); never authenticates.
    Rejected,
}

impl Review {
    /// The stored word.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Approved => "approved",
            Self::Pending => "pending",
            Self::Rejected => "rejected",
        }
    }

    /// The review a stored word names; anything unknown is treated as rejected, so a damaged
    /// row never authenticates.
    pub fn from_stored(word: &str) -> Self {
        match word {
            "approved" => Self::Approved,
            "pending" => Self::Pending,
            _ => Self::Rejected,
        }
    }
}

/// A client's status: what `latchkey client list --json` calls `status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ClientStatus {
    /// Approved and not disabled: authenticates.
    Active,
    /// Approved, then disabled by an administrator.
    Disabled,
    /// Requested, not yet reviewed.
    Pending,
    /// Requested and refused.
    Rejected,
}

impl ClientStatus {
    /// The status of a client with this review and disabled flag (the review comes first: a
    /// pending request is pending whatever else is true of it).
    pub fn of(review: Review, disabled: bool) -> Self {
        match (review, disabled) {
            (Review::Pending, _) => Self::Pending,
            (Review::Rejected, _) => Self::Rejected,
            (Review::Approved, true) => Self::Disabled,
            (Review::Approved, false) => Self::Active,
        }
    }

    /// The machine word (`active`, `disabled`, `pending`, `rejected`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Disabled => "disabled",
            Self::Pending => "pending",
            Self::Rejected => "rejected",
        }
    }

    /// The status a machine word names (`None` for anything else).
    pub fn from_word(word: &str) -> Option<Self> {
        [Self::Active, Self::Disabled, Self::Pending, Self::Rejected]
            .into_iter()
            .find(|status| status.as_str() == word)
    }

    /// The word a person reads.
    pub fn label(self) -> &'static str {
        match self {
            Self::Active => "Active",
            Self::Disabled => "Disabled",
            Self::Pending => "Pending approval",
            Self::Rejected => "Rejected",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_review_decides_before_the_disabled_flag() {
        assert_eq!(
            ClientStatus::of(Review::Pending, true),
            ClientStatus::Pending
        );
        assert_eq!(
            ClientStatus::of(Review::Rejected, false),
            ClientStatus::Rejected
        );
        assert_eq!(
            ClientStatus::of(Review::Approved, true),
            ClientStatus::Disabled
        );
        assert_eq!(
            ClientStatus::of(Review::Approved, false),
            ClientStatus::Active
        );
    }

    #[test]
    fn an_unknown_stored_review_never_authenticates() {
        for word in ["approved", "pending", "rejected"] {
            assert_eq!(Review::from_stored(word).as_str(), word);
        }
        assert_eq!(Review::from_stored("Approved"), Review::Rejected);
        assert_eq!(Review::from_stored(""), Review::Rejected);
    }
}
