//! `serve --audit-stream`: writes every audit event as one JSON line (see
//! `app::server::services::audit::stream_line`) to standard output, a file (rotated by size) or
//! a syslog collector (RFC 5424 over TCP, octet-counted framing per RFC 6587). What is
//! pending, the lease and the cursor are `services::audit::stream`'s; this module only writes.
//!
//! A batch is written and flushed (`fsync` for a file) before the cursor moves, so a crash in
//! between writes it again after the restart: at-least-once. A line torn by a crash is cut
//! off a file's end when it is opened again.

use app::domain::Timestamp;
use app::server::{
    AppState,
    services::audit::stream::{self, StreamItem},
};
use std::{
    fs,
    io::{self, Read, Seek, SeekFrom, Write},
    path::{Path, PathBuf},
    time::Duration,
};
use tokio::io::AsyncWriteExt;

/// How often a stream with nothing new looks again.
const POLL: Duration = Duration::from_secs(1);
/// The longest wait after a failed delivery (doubling from one second).
const MAX_BACKOFF: Duration = Duration::from_secs(60);
/// Renew the lease when less than this is left of it.
const RENEW_BEFORE_SECONDS: i64 = stream::LEASE_SECONDS * 2 / 3;
/// How long to wait for a syslog collector to accept a connection or a batch.
const SYSLOG_TIMEOUT: Duration = Duration::from_secs(10);
/// RFC 5424 PRI: facility 13 (log audit) × 8 + severity 6 (informational).
const SYSLOG_PRI: u8 = 13 * 8 + 6;

/// Where `--audit-stream` writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuditStreamTarget {
    /// Standard output (the server's logs go to standard error).
    Stdout,
    /// A file, appended to and rotated by size.
    File(PathBuf),
    /// A syslog collector over TCP, `HOST:PORT`.
    Syslog(String),
}

impl std::str::FromStr for AuditStreamTarget {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        const EXPECTED: &str = "expected stdout, file:PATH or syslog:HOST:PORT";
        if text == "stdout" {
            return Ok(Self::Stdout);
        }
        if let Some(path) = text.strip_prefix("file:") {
            if path.trim().is_empty() {
                return Err(format!("{text:?}: the file path is empty ({EXPECTED})"));
            }
            return Ok(Self::File(PathBuf::from(path)));
        }
        if let Some(address) = text.strip_prefix("syslog:") {
            let valid = address.rsplit_once(':').is_some_and(|(host, port)| {
                !host.is_empty()
                    && !host.contains(char::is_whitespace)
                    && port.parse::<u16>().is_ok_and(|port| port > 0)
            });
            if !valid {
                return Err(format!(
                    "{text:?}: the collector must be HOST:PORT ({EXPECTED})"
                ));
            }
            return Ok(Self::Syslog(address.to_owned()));
        }
        Err(format!("{text:?}: {EXPECTED}"))
    }
}

impl AuditStreamTarget {
    /// The stream's name in the database (its lease and cursor): replicas configured alike
    /// share one stream, written by one of them at a time (a file: those on one machine).
    pub fn name(&self) -> String {
        match self {
            Self::Stdout => "stdout".to_owned(),
            // A file is this machine's: replicas on other machines write their own copy.
            Self::File(path) => format!("file:{}:{}", hostname(), path.display()),
            Self::Syslog(address) => format!("syslog:{address}"),
        }
    }
}

/// Delivers the audit stream for the life of the process.
pub async fn run(state: AppState, target: AuditStreamTarget, max_file_bytes: u64) {
    let name = target.name();
    let holder = uuid::Uuid::new_v4().to_string();
    let mut sink = Sink::new(target, max_file_bytes);
    let mut held_until = 0_i64;
    let mut backoff = Duration::from_secs(1);
    loop {
        let pass = async {
            let now = state.clock.now();
            if held_until - now.unix() < RENEW_BEFORE_SECONDS {
                if !stream::claim(&state.db, &name, &holder, now).await? {
                    held_until = 0;
                    return Ok(false);
                }
                held_until = now.unix() + stream::LEASE_SECONDS;
            }
            let stream::Pending { items, more } =
                stream::pending(&state.db, &name, stream::BATCH).await?;
            if items.is_empty() {
                return Ok(false);
            }
            sink.write(&items).await?;
            let now = state.clock.now();
            if stream::advance(&state.db, &name, &holder, &items, now).await? {
                held_until = now.unix() + stream::LEASE_SECONDS;
            } else {
                held_until = 0;
                tracing::warn!(stream = %name, "another replica took the audit stream over; it writes these events again");
                return Ok(false);
            }
            Ok::<bool, PassError>(more)
        }
        .await;
        match pass {
            Ok(true) => backoff = Duration::from_secs(1),
            Ok(false) => {
                backoff = Duration::from_secs(1);
                tokio::time::sleep(POLL).await;
            }
            Err(error) => {
                tracing::warn!(stream = %name, %error, retry_in = ?backoff, "audit stream delivery failed");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }
}

/// Why a pass failed: the database, or writing the stream.
#[derive(Debug, thiserror::Error)]
enum PassError {
    #[error("{0}")]
    Database(#[from] app::server::ServiceError),
    #[error("{0}")]
    Write(#[from] io::Error),
}

/// The open destination.
enum Sink {
    Stdout,
    File(Option<FileSink>, PathBuf, u64),
    Syslog(SyslogSink),
}

impl Sink {
    fn new(target: AuditStreamTarget, max_file_bytes: u64) -> Self {
        match target {
            AuditStreamTarget::Stdout => Self::Stdout,
            AuditStreamTarget::File(path) => Self::File(None, path, max_file_bytes),
            AuditStreamTarget::Syslog(address) => Self::Syslog(SyslogSink {
                address,
                connection: None,
                hostname: hostname(),
            }),
        }
    }

    /// Writes the batch and flushes it to where it survives this process.
    async fn write(&mut self, items: &[StreamItem]) -> io::Result<()> {
        match self {
            Self::Stdout => {
                let mut out = tokio::io::stdout();
                out.write_all(&joined(items)).await?;
                out.flush().await
            }
            Self::File(open, path, max) => {
                let sink = match open.take() {
                    Some(sink) => sink,
                    None => FileSink::open(path.clone(), *max)?,
                };
                let bytes = joined(items);
                let (sink, result) = tokio::task::spawn_blocking(move || {
                    let mut sink = sink;
                    let result = sink.write(&bytes);
                    (sink, result)
                })
                .await
                .map_err(io::Error::other)?;
                if result.is_ok() {
                    *open = Some(sink);
                }
                result
            }
            Self::Syslog(sink) => sink.write(items).await,
        }
    }
}

/// The lines of a batch, each ending with a newline.
fn joined(items: &[StreamItem]) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(items.iter().map(|item| item.line.len() + 1).sum());
    for item in items {
        bytes.extend_from_slice(item.line.as_bytes());
        bytes.push(b'\n');
    }
    bytes
}

/// A stream file, appended to; renamed aside (`PATH.YYYYMMDDTHHMMSSZ`) when the next batch
/// would take it past its size limit, and opened anew when something else moved it away
/// (logrotate's default `create` mode; never `copytruncate`, which loses what is written
/// between its copy and its truncation).
struct FileSink {
    path: PathBuf,
    max_bytes: u64,
    file: fs::File,
    size: u64,
}

impl FileSink {
    fn open(path: PathBuf, max_bytes: u64) -> io::Result<Self> {
        let (file, size) = open_repaired(&path)?;
        Ok(Self {
            path,
            max_bytes,
            file,
            size,
        })
    }

    fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        if !self.path.exists() {
            (self.file, self.size) = open_repaired(&self.path)?;
        }
        if self.size > 0 && self.size + bytes.len() as u64 > self.max_bytes {
            fs::rename(&self.path, rotated_name(&self.path))?;
            (self.file, self.size) = open_repaired(&self.path)?;
        }
        self.file.write_all(bytes)?;
        self.file.sync_data()?;
        self.size += bytes.len() as u64;
        Ok(())
    }
}

/// Opens `path` for appending (mode 0640), first cutting off a line a crash left half
/// written: its event was never counted as delivered, so it is written again whole.
fn open_repaired(path: &Path) -> io::Result<(fs::File, u64)> {
    let mut options = fs::OpenOptions::new();
    options.read(true).append(true).create(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o640);
    let mut file = options.open(path)?;
    // The file's name must survive a power loss too (a new file, after a rotation).
    if let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
        fs::File::open(dir)?.sync_all()?;
    }
    let len = file.metadata()?.len();
    let whole = whole_lines_length(&mut file, len)?;
    if whole < len {
        file.set_len(whole)?;
        file.sync_data()?;
        tracing::warn!(path = %path.display(), cut = len - whole, "cut a line torn by a crash off the end of the audit stream file; its event is written again");
    }
    Ok((file, whole))
}

/// The length of `file` up to and including its last newline.
fn whole_lines_length(file: &mut fs::File, len: u64) -> io::Result<u64> {
    const CHUNK: u64 = 64 * 1024;
    let mut end = len;
    let mut buffer = vec![0_u8; CHUNK as usize];
    while end > 0 {
        let start = end.saturating_sub(CHUNK);
        let part = &mut buffer[..(end - start) as usize];
        file.seek(SeekFrom::Start(start))?;
        file.read_exact(part)?;
        if let Some(at) = part.iter().rposition(|byte| *byte == b'\n') {
            return Ok(start + at as u64 + 1);
        }
        end = start;
    }
    Ok(0)
}

/// `PATH.YYYYMMDDTHHMMSSZ` (with `.001`, `.002`… after it if taken): names sort oldest first.
fn rotated_name(path: &Path) -> PathBuf {
    let stamp: String = app::server::clock::Clock::System
        .now()
        .format_rfc3339()
        .chars()
        .filter(|c| !matches!(c, '-' | ':'))
        .collect();
    let base = format!("{}.{stamp}", path.display());
    let mut candidate = PathBuf::from(&base);
    let mut n = 1;
    while candidate.exists() {
        candidate = PathBuf::from(format!("{base}.{n:03}"));
        n += 1;
    }
    candidate
}

/// A syslog collector over TCP.
struct SyslogSink {
    address: String,
    connection: Option<tokio::net::TcpStream>,
    hostname: String,
}

impl SyslogSink {
    async fn write(&mut self, items: &[StreamItem]) -> io::Result<()> {
        let timed_out =
            || io::Error::new(io::ErrorKind::TimedOut, "the syslog collector timed out");
        let mut connection = match self.connection.take() {
            Some(connection) => connection,
            None => tokio::time::timeout(
                SYSLOG_TIMEOUT,
                tokio::net::TcpStream::connect(&self.address),
            )
            .await
            .map_err(|_| timed_out())??,
        };
        let mut frames = Vec::new();
        for item in items {
            let message = syslog_message(&self.hostname, item);
            frames.extend_from_slice(format!("{} ", message.len()).as_bytes());
            frames.extend_from_slice(message.as_bytes());
        }
        tokio::time::timeout(SYSLOG_TIMEOUT, async {
            connection.write_all(&frames).await?;
            connection.flush().await
        })
        .await
        .map_err(|_| timed_out())??;
        self.connection = Some(connection);
        Ok(())
    }
}

/// One RFC 5424 message: `<PRI>1 TIMESTAMP HOSTNAME latchkey PROCID MSGID - BOM line`.
fn syslog_message(hostname: &str, item: &StreamItem) -> String {
    let time = Timestamp(
        item.occurred_at
            .unwrap_or_else(|| app::server::clock::Clock::System.now().unix()),
    );
    let msgid = item.action.as_deref().map_or_else(
        || "checkpoint".to_owned(),
        |action| header_field(action, 32),
    );
    format!(
        "<{SYSLOG_PRI}>1 {} {hostname} latchkey {} {msgid} - \u{feff}{}",
        time.format_rfc3339(),
        std::process::id(),
        item.line
    )
}

/// A syslog header field: printable US-ASCII without spaces, at most `max` characters, `-`
/// when nothing is left.
fn header_field(text: &str, max: usize) -> String {
    let field: String = text
        .chars()
        .filter(|c| c.is_ascii_graphic())
        .take(max)
        .collect();
    if field.is_empty() {
        "-".to_owned()
    } else {
        field
    }
}

/// This machine's name, for syslog's HOSTNAME and a file stream's name (`-` when unknown): the
/// kernel's, or `/etc/hostname` where `/proc/sys` is hidden (a sandbox).
fn hostname() -> String {
    let name = ["/proc/sys/kernel/hostname", "/etc/hostname"]
        .iter()
        .filter_map(|path| fs::read_to_string(path).ok())
        .map(|text| text.trim().to_owned())
        .find(|name| !name.is_empty())
        .unwrap_or_default();
    header_field(&name, 255)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_parse_or_say_what_is_expected() {
        assert_eq!("stdout".parse(), Ok(AuditStreamTarget::Stdout));
        assert_eq!(
            "file:/var/log/latchkey/audit.jsonl".parse(),
            Ok(AuditStreamTarget::File(
                "/var/log/latchkey/audit.jsonl".into()
            ))
        );
        assert_eq!(
            "syslog:[::1]:514".parse(),
            Ok(AuditStreamTarget::Syslog("[::1]:514".into()))
        );
        for bad in [
            "",
            "stderr",
            "file:",
            "syslog:host",
            "syslog::514",
            "syslog:host:0",
            "syslog:host:99999",
        ] {
            let error = bad.parse::<AuditStreamTarget>().unwrap_err();
            assert!(
                error.contains("stdout, file:PATH or syslog:HOST:PORT"),
                "{bad}: {error}"
            );
        }
        assert_eq!(
            AuditStreamTarget::Syslog("h:514".into()).name(),
            "syslog:h:514"
        );
    }

    #[test]
    fn a_torn_last_line_is_cut_and_rotation_keeps_every_line() {
        let dir = std::env::temp_dir().join(format!("latchkey-stream-{}", uuid::Uuid::new_v4()));
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("audit.jsonl");
        fs::write(&path, "{\"one\":1}\n{\"two\":").unwrap();
        let mut sink = FileSink::open(path.clone(), 40).unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "{\"one\":1}\n");
        sink.write(b"{\"two\":2}\n").unwrap();
        sink.write(b"{\"three\":3}\n{\"four\":4}\n").unwrap();
        // Moved away by logrotate: opened anew.
        fs::rename(&path, dir.join("moved")).unwrap();
        sink.write(b"{\"five\":5}\n").unwrap();
        let mut all = String::new();
        let mut names: Vec<_> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        names.sort();
        for name in &names {
            all.push_str(&fs::read_to_string(name).unwrap());
        }
        for n in ["one", "two", "three", "four", "five"] {
            assert_eq!(all.matches(&format!("\"{n}\"")).count(), 1, "{all}");
        }
        assert!(names.len() >= 3, "{names:?}");
        fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn syslog_messages_follow_rfc_5424() {
        let item = StreamItem {
            chain: "global".into(),
            seq: 1,
            line: "{\"format\":\"latchkey-audit/1\"}".into(),
            action: Some("client.secret rotated\u{7}".into()),
            occurred_at: Some(0),
        };
        let message = syslog_message("host", &item);
        assert!(
            message.starts_with("<110>1 1970-01-01T00:00:00Z host latchkey "),
            "{message}"
        );
        assert!(
            message.contains(" client.secretrotated - \u{feff}{\"format\""),
            "{message}"
        );
    }
}
