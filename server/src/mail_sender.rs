//! Sends the e-mail outbox through the operator's SMTP server (lettre): claims due messages
//! (`app`'s `mail_dispatch` decides what is due and settles), sends each as plain text, and
//! records the server's answer — a 4xx or a lost connection is tried again later, a 5xx is
//! given up. Runs in every replica; claims keep them from sending one attempt twice.

use app::server::{
    AppState, ServiceError,
    services::notifications::mail_dispatch::{self, ClaimedMail, MailOutcome},
};
use lettre::{
    AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor,
    message::{Mailbox, header::ContentType},
};
use std::time::Duration;

/// How often the outbox is looked at.
pub const INTERVAL: Duration = Duration::from_secs(5);
/// The longest the connection may take (lettre's own timeout covers connecting only).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// The longest one whole SMTP conversation may take, greeting, TLS and DATA included: well
/// under the claim of one attempt, so a stalled server never lets a second sender in.
const SEND_TIMEOUT: Duration = Duration::from_secs(40);
/// Most messages one pass sends (the next pass, [`INTERVAL`] later, goes on).
const PER_PASS: usize = 50;

/// The operator's SMTP server and sender address.
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    /// The console's address, named at the foot of every message.
    public_url: String,
    send_timeout: Duration,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the SMTP URL: it may hold a password.
        f.debug_struct("Mailer")
            .field("from", &self.from.to_string())
            .finish_non_exhaustive()
    }
}

impl Mailer {
    /// A mailer for `smtp_url` (`smtp://host:25`, `smtp://user:pass@host:587?tls=required`,
    /// `smtps://user:pass@host:465`) sending as `from` (`Name <address>` or an address).
    /// Errors say what is wrong without repeating the URL, which may hold a password.
    pub fn new(smtp_url: &str, from: &str, public_url: &str) -> Result<Self, String> {
        let from: Mailbox = from
            .parse()
            .map_err(|error| format!("--mail-from is not a mail address: {error}"))?;
        refuse_password_in_clear(smtp_url)?;
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(smtp_url)
            .map_err(|_| {
                "--smtp-url is not an SMTP URL (smtp://host:port, smtps://user:pass@host:465, \
                 smtp://user:pass@host:587?tls=required)"
                    .to_owned()
            })?
            .timeout(Some(CONNECT_TIMEOUT))
            .build();
        Ok(Self {
            transport,
            from,
            public_url: public_url.to_owned(),
            send_timeout: SEND_TIMEOUT,
        })
    }

    /// The same mailer giving up on a conversation after `timeout` (tests use a short one).
    pub fn with_send_timeout(mut self, timeout: Duration) -> Self {
        self.send_timeout = timeout;
        self
    }

    /// The message for `mail`, or why it can never be sent.
    fn message(&self, mail: &ClaimedMail) -> Result<Message, String> {
        let to: Mailbox = mail
            .recipient
            .parse()
            .map_err(|_| "not a valid mail address".to_owned())?;
        Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(format!("[Latchkey] {}", mail.subject))
            .message_id(Some(format!("<{}@latchkey>", mail.id)))
            .header(ContentType::TEXT_PLAIN)
            .body(format!(
                "{}\n-- \nLatchkey: {}\n",
                mail.body, self.public_url
            ))
            .map_err(|error| format!("cannot build the message: {error}"))
    }

    /// Sends one message; the outcome for the outbox.
    async fn send(&self, mail: &ClaimedMail) -> MailOutcome {
        let message = match self.message(mail) {
            Ok(message) => message,
            Err(why) => return MailOutcome::Permanent(why),
        };
        let sent = tokio::time::timeout(self.send_timeout, self.transport.send(message)).await;
        match sent {
            Ok(Ok(_)) => MailOutcome::Sent,
            Err(_) => MailOutcome::Temporary("timed out".into()),
            Ok(Err(error)) => {
                let words = words(&error);
                if error.is_permanent() && refuses_the_recipient(&words) {
                    MailOutcome::Permanent(format!("refused: {words}"))
                } else if error.is_permanent() {
                    // The server's setup or ours (authentication, sender, relaying): every
                    // message would fail alike, so keep them and say it loudly.
                    tracing::warn!(why = %words, "the SMTP server refuses to send: check --smtp-url and --mail-from");
                    MailOutcome::Temporary(format!("refused: {words}"))
                } else if error.is_timeout() {
                    MailOutcome::Temporary("timed out".into())
                } else if error.is_transient() {
                    MailOutcome::Temporary(format!("deferred: {words}"))
                } else {
                    MailOutcome::Temporary(format!("not sent: {words}"))
                }
            }
        }
    }
}

/// The SMTP error in a few words (never the URL).
fn words(error: &lettre::transport::smtp::Error) -> String {
    error.to_string().chars().take(160).collect()
}

/// True when a permanent refusal is about the recipient's address (enhanced status 5.1.x,
/// RFC 3463, other than the sender's 5.1.7 and 5.1.8): only that message is given up.
fn refuses_the_recipient(words: &str) -> bool {
    words.contains("5.1.") && !words.contains("5.1.7") && !words.contains("5.1.8")
}

/// Refuses an SMTP URL that would send its password without TLS to another machine: `smtps`,
/// or `smtp` with `tls=required`, or a loopback relay.
fn refuse_password_in_clear(smtp_url: &str) -> Result<(), String> {
    let Ok(url) = url::Url::parse(smtp_url) else {
        return Ok(()); // lettre says what is wrong with it
    };
    let has_password = !url.username().is_empty() || url.password().is_some();
    let tls = url.scheme() == "smtps"
        || url
            .query_pairs()
            .any(|(key, value)| key == "tls" && value == "required");
    // `smtp:` is not a special scheme to the URL parser: its host is opaque text.
    let host = url.host_str().unwrap_or_default();
    let loopback = host == "localhost"
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    if has_password && !tls && !loopback {
        return Err(
            "--smtp-url would send its password without TLS: use smtps://…:465 or \
             smtp://…:587?tls=required"
                .to_owned(),
        );
    }
    Ok(())
}

/// Sends the messages due now, each claimed right before its attempt; returns how many
/// attempts were made.
pub async fn send_due(state: &AppState, mailer: &Mailer) -> Result<usize, ServiceError> {
    let mut attempts = 0;
    while attempts < PER_PASS {
        let Some(mail) = mail_dispatch::claim_next(&state.db, state.clock.now()).await? else {
            break;
        };
        attempts += 1;
        let outcome = mailer.send(&mail).await;
        if let MailOutcome::Temporary(why) | MailOutcome::Permanent(why) = &outcome {
            tracing::info!(mail = %mail.id, why, "e-mail attempt failed");
        }
        mail_dispatch::settle(&state.db, &mail, outcome, state.clock.now()).await?;
    }
    Ok(attempts)
}

/// Sends the outbox every [`INTERVAL`] for the life of the process.
pub async fn run(state: AppState, mailer: Mailer) {
    let mut ticker = tokio::time::interval(INTERVAL);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        if let Err(error) = send_due(&state, &mailer).await {
            tracing::warn!(%error, "sending e-mail failed");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_never_crosses_the_network_in_clear() {
        let from = "ops@example.com";
        let refused = Mailer::new("smtp://u:hunter22@smtp.example.com:587", from, "x").err();
        let refused = refused.expect("cleartext credentials are refused");
        assert!(!refused.contains("hunter22"), "{refused}");
        for fine in [
            "smtps://u:p@smtp.example.com:465",
            "smtp://u:p@smtp.example.com:587?tls=required",
            "smtp://u:p@127.0.0.1:25",
            "smtp://u:p@[::1]:25",
            "smtp://relay.example.com:25",
        ] {
            assert!(Mailer::new(fine, from, "x").is_ok(), "{fine}");
        }
        assert!(Mailer::new("http://x", from, "x").is_err());
        assert!(Mailer::new("smtp://relay.example.com", "not an address", "x").is_err());
    }

    #[test]
    fn only_a_refused_recipient_gives_a_message_up() {
        assert!(refuses_the_recipient(
            "permanent error (550): 5.1.1 no such mailbox"
        ));
        assert!(!refuses_the_recipient(
            "permanent error (535): 5.7.8 authentication failed"
        ));
        assert!(!refuses_the_recipient(
            "permanent error (553): 5.1.8 sender rejected"
        ));
        assert!(!refuses_the_recipient(
            "permanent error (554): relay denied"
        ));
    }
}
