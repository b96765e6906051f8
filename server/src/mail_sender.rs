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
/// The longest one SMTP conversation may take (well under the claim of one attempt).
const TIMEOUT: Duration = Duration::from_secs(20);
/// Most messages one pass sends (the next pass, [`INTERVAL`] later, goes on).
const PER_PASS: usize = 50;

/// The operator's SMTP server and sender address.
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    /// The console's address, named at the foot of every message.
    public_url: String,
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
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(smtp_url)
            .map_err(|_| {
                "--smtp-url is not an SMTP URL (smtp://host:port, smtps://user:pass@host:465, \
                 smtp://user:pass@host:587?tls=required)"
                    .to_owned()
            })?
            .timeout(Some(TIMEOUT))
            .build();
        Ok(Self {
            transport,
            from,
            public_url: public_url.to_owned(),
        })
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
        match self.transport.send(message).await {
            Ok(_) => MailOutcome::Sent,
            Err(error) if error.is_permanent() => {
                MailOutcome::Permanent(format!("refused: {}", words(&error)))
            }
            Err(error) if error.is_timeout() => MailOutcome::Temporary("timed out".into()),
            Err(error) if error.is_transient() => {
                MailOutcome::Temporary(format!("deferred: {}", words(&error)))
            }
            Err(error) => MailOutcome::Temporary(format!("not sent: {}", words(&error))),
        }
    }
}

/// The SMTP error in a few words (never the URL).
fn words(error: &lettre::transport::smtp::Error) -> String {
    error.to_string().chars().take(160).collect()
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
