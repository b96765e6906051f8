//! `serve --audit-stream` with the real binary: a file stream survives a crash in the middle
//! of writing (a torn line, a batch written but not counted) and verifies on its own with
//! `latchkey audit verify --stream`, rotated files and all; a syslog collector receives RFC 5424
//! frames whose lines verify too; standard output carries the same lines.

use crate::helpers::{answers_health, free_port};
use app::server::testing::{TestDatabases, TestDb};
use sea_orm::{ConnectionTrait, Statement};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt};

const KEY: &str = "00000000000000000000000000000000000000000000000000000000000000b3";

fn scratch(db: &TestDb, name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "stream-{}-{name}-{}",
        db.name,
        uuid::Uuid::new_v4()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn latchkey(db: &TestDb, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_latchkey"))
        .args(args)
        .env("DATABASE_URL", &db.url)
        .env("LATCHKEY_SECRET_KEY", KEY)
        .env("LATCHKEY_LOG", "warn")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

/// A running server, killed if a failing assertion drops it before [`stop`] (so a failed test
/// leaves no process behind).
struct Running(Option<Child>);

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(mut child) = self.0.take() {
            child.kill().ok();
            child.wait().ok();
        }
    }
}

/// Starts `latchkey serve --audit-stream <target>` on `db` (standard output to `stdout`).
async fn serve(db: &TestDb, dir: &Path, target: &str, stdout: Stdio) -> Running {
    let port = free_port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_latchkey"))
        .args(["serve", "--addr", &format!("127.0.0.1:{port}")])
        .args(["--audit-stream", target])
        .env("DATABASE_URL", &db.url)
        .env("LATCHKEY_SECRET_KEY", KEY)
        .env("LATCHKEY_LOG", "warn")
        .env("LATCHKEY_AUDIT_STREAM_MAX_BYTES", "6000")
        .env("LATCHKEY_DATA_DIR", dir)
        .env("LEPTOS_SITE_ROOT", dir)
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(std::fs::File::create(dir.join("server.log")).unwrap())
        .spawn()
        .unwrap();
    if answers_health(&format!("http://127.0.0.1:{port}")).await {
        return Running(Some(child));
    }
    child.kill().ok();
    child.wait().ok();
    panic!(
        "the server did not start: {}",
        std::fs::read_to_string(dir.join("server.log")).unwrap_or_default()
    );
}

fn stop(mut server: Running, signal: &str) {
    let Some(mut child) = server.0.take() else {
        return;
    };
    Command::new("kill")
        .args([&format!("-{signal}"), &child.id().to_string()])
        .status()
        .unwrap();
    child.wait().unwrap();
}

/// `count` audit events from the command line (one new site each).
fn make_events(db: &TestDb, prefix: &str, count: u32) {
    for n in 0..count {
        let name = format!("{prefix} {n}");
        assert!(
            latchkey(db, &["site", "create", "--name", &name])
                .status
                .success()
        );
    }
}

async fn sql(db: &TestDb, text: &str) -> i64 {
    let backend = db.conn.get_database_backend();
    let row = db
        .conn
        .query_one_raw(Statement::from_string(backend, text))
        .await
        .unwrap();
    row.map_or(0, |row| row.try_get::<i64>("", "n").unwrap_or(0))
}

async fn execute(db: &TestDb, text: &str) {
    let backend = db.conn.get_database_backend();
    db.conn
        .execute_raw(Statement::from_string(backend, text))
        .await
        .unwrap();
}

/// The stream files in `dir` (`audit.jsonl` and its rotated copies), oldest first.
fn stream_files(dir: &Path) -> Vec<PathBuf> {
    let mut rotated: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            name.starts_with("audit.jsonl.")
        })
        .collect();
    rotated.sort();
    rotated.push(dir.join("audit.jsonl"));
    rotated
}

fn verify(db: &TestDb, files: &[PathBuf], against: Option<&Path>) -> (bool, Value, String) {
    let mut args = vec!["audit".to_owned(), "verify".to_owned()];
    for file in files {
        args.push("--stream".into());
        args.push(file.display().to_string());
    }
    if let Some(anchors) = against {
        args.push("--against".into());
        args.push(anchors.display().to_string());
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let output = latchkey(db, &args);
    let report = serde_json::from_slice(&output.stdout).unwrap_or(Value::Null);
    (
        output.status.success(),
        report,
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn events_in(report: &Value) -> i64 {
    report["chains"].as_array().map_or(0, |chains| {
        chains.iter().map(|c| c["events"].as_i64().unwrap()).sum()
    })
}

/// How many events the stream named `stream` (by prefix) has yet to count as delivered.
fn behind(db: &TestDb, stream: &str) -> Option<i64> {
    let streams: Value =
        serde_json::from_slice(&latchkey(db, &["audit", "streams"]).stdout).ok()?;
    streams["streams"].as_array()?.iter().find(|s| {
        s["name"]
            .as_str()
            .is_some_and(|name| name.starts_with(stream))
    })?["behind"]
        .as_i64()
}

/// Waits until the server has counted every event in the database as delivered, then checks
/// that the stream holds them. In that order: the file is written before the cursor moves (so
/// a complete file alone says nothing of where a crash now would restart), and while the
/// server still writes, a rotation between listing the files and reading them would hide the
/// renamed one from the check.
async fn wait_for_all(db: &TestDb, stream: &str, files: impl Fn() -> Vec<PathBuf>) -> Value {
    let mut last = Value::Null;
    for _ in 0..300 {
        let total = sql(db, "SELECT COUNT(*) AS n FROM audit_events").await;
        if behind(db, stream) != Some(0) {
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        }
        let (ok, report, _) = verify(db, &files(), None);
        if ok && events_in(&report) == total {
            return report;
        }
        last = report;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the stream did not catch up: {last}");
}

#[tokio::test]
async fn a_file_stream_survives_a_crash_mid_write_and_verifies_on_its_own() {
    for db in TestDatabases::all().await {
        let dir = scratch(&db, "file");
        let target = format!("file:{}", dir.join("audit.jsonl").display());
        let server = serve(&db, &dir, &target, Stdio::null()).await;
        make_events(&db, "Before", 12);
        wait_for_all(&db, "file:", || stream_files(&dir)).await;
        stop(server, "KILL");

        // The crash struck mid-batch: half a line at the end of the file, and the cursors not
        // yet past the last event written of each chain. The dead replica's lease runs out.
        let current = dir.join("audit.jsonl");
        let text = std::fs::read_to_string(&current).unwrap();
        let last_line = text.lines().last().unwrap().to_owned();
        std::fs::write(
            &current,
            format!("{text}{}", &last_line[..last_line.len() / 2]),
        )
        .unwrap();
        let chains = sql(&db, "SELECT COUNT(*) AS n FROM audit_stream_cursors").await;
        assert!(chains >= 3, "{chains}");
        execute(&db, "UPDATE audit_stream_cursors SET seq = seq - 1").await;
        execute(&db, "UPDATE audit_streams SET lease_until = 0").await;

        let server = serve(&db, &dir, &target, Stdio::null()).await;
        make_events(&db, "After", 8);
        let report = wait_for_all(&db, "file:", || stream_files(&dir)).await;
        stop(server, "TERM");
        let files = stream_files(&dir);
        assert!(files.len() > 2, "the 6000-byte limit rotates: {files:?}");
        assert_eq!(
            report["unreadable_lines"], 0,
            "the torn line was cut: {report}"
        );
        let repeated: i64 = report["chains"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["repeated"].as_i64().unwrap())
            .sum();
        assert_eq!(repeated, chains, "each chain's last event again: {report}");
        assert!(
            report["chains"]
                .as_array()
                .unwrap()
                .iter()
                .all(|c| c["starts"] == "genesis"),
            "{report}"
        );

        // The operator sees the stream caught up (its lease still runs for a while).
        let streams: Value =
            serde_json::from_slice(&latchkey(&db, &["audit", "streams"]).stdout).unwrap();
        assert_eq!(streams["streams"][0]["behind"], 0, "{streams}");
        assert_eq!(streams["streams"][0]["leased"], true, "{streams}");
        assert!(
            streams["streams"][0]["name"]
                .as_str()
                .unwrap()
                .starts_with("file:")
        );
        // Against anchors kept elsewhere, a cut-off end shows; so does an edited line.
        let head = latchkey(&db, &["audit", "head"]);
        let anchors = dir.join("anchors.json");
        std::fs::write(&anchors, &head.stdout).unwrap();
        assert!(verify(&db, &files, Some(&anchors)).0);
        let all = std::fs::read_to_string(&current).unwrap();
        let mut cut: Vec<&str> = all.lines().collect();
        cut.pop();
        std::fs::write(&current, cut.join("\n") + "\n").unwrap();
        let (ok, _, error) = verify(&db, &files, Some(&anchors));
        assert!(
            !ok && error.contains("does not reach its anchor"),
            "{error}"
        );
        let edited = all.replacen("\"summary\":\"", "\"summary\":\"X", 1);
        std::fs::write(&current, edited).unwrap();
        let (ok, _, error) = verify(&db, &files, None);
        assert!(!ok && error.contains("does not match its hash"), "{error}");
        // Another server's key proves nothing.
        let output = Command::new(env!("CARGO_BIN_EXE_latchkey"))
            .args(["audit", "verify", "--stream"])
            .arg(&files[0])
            .env("LATCHKEY_SECRET_KEY", "11".repeat(32))
            .output()
            .unwrap();
        assert!(!output.status.success());
        db.cleanup().await;
    }
}

/// One octet-counted frame (RFC 6587 3.4.1) from a syslog connection.
async fn read_frame(reader: &mut tokio::io::BufReader<tokio::net::TcpStream>) -> String {
    let mut length = Vec::new();
    reader.read_until(b' ', &mut length).await.unwrap();
    let length: usize = String::from_utf8(length).unwrap().trim().parse().unwrap();
    let mut frame = vec![0_u8; length];
    reader.read_exact(&mut frame).await.unwrap();
    String::from_utf8(frame).unwrap()
}

#[tokio::test]
async fn syslog_and_standard_output_carry_lines_that_verify() {
    for db in TestDatabases::all().await {
        let dir = scratch(&db, "syslog");
        let collector = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let target = format!("syslog:{}", collector.local_addr().unwrap());
        let server = serve(&db, &dir, &target, Stdio::null()).await;
        make_events(&db, "Syslog", 3);
        let (connection, _) = tokio::time::timeout(Duration::from_secs(20), collector.accept())
            .await
            .unwrap()
            .unwrap();
        let mut reader = tokio::io::BufReader::new(connection);
        let total = sql(&db, "SELECT COUNT(*) AS n FROM audit_events").await;
        let mut collected = String::new();
        for _ in 0..total {
            let frame = tokio::time::timeout(Duration::from_secs(20), read_frame(&mut reader))
                .await
                .unwrap();
            assert!(frame.starts_with("<110>1 "), "{frame}");
            let fields: Vec<&str> = frame.splitn(8, ' ').collect();
            assert_eq!(fields[3], "latchkey", "{frame}");
            assert_eq!(fields[6], "-", "{frame}");
            assert!(fields[7].starts_with("\u{feff}{\"format\":"), "{frame}");
            collected.push_str(&frame);
            collected.push('\n');
        }
        stop(server, "TERM");
        // The collector's copy, syslog headers and all, verifies.
        let copy = dir.join("collected.log");
        std::fs::write(&copy, &collected).unwrap();
        let (ok, report, error) = verify(&db, &[copy], None);
        assert!(ok, "{error}");
        assert_eq!(events_in(&report), total);

        // Standard output.
        let out = dir.join("stdout.jsonl");
        let server = serve(
            &db,
            &dir,
            "stdout",
            Stdio::from(std::fs::File::create(&out).unwrap()),
        )
        .await;
        let report = wait_for_all(&db, "stdout", || vec![out.clone()]).await;
        stop(server, "TERM");
        assert_eq!(report["unreadable_lines"], 0);
        db.cleanup().await;
    }
}

#[test]
fn a_bad_stream_target_is_one_clear_line() {
    let output = Command::new(env!("CARGO_BIN_EXE_latchkey"))
        .args(["serve", "--audit-stream", "syslog:nowhere"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let error = String::from_utf8_lossy(&output.stderr);
    assert!(
        error.contains("stdout, file:PATH or syslog:HOST:PORT"),
        "{error}"
    );
}
