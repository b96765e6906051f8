//! Audit streaming on both databases: delivery in chain order from a cursor, the lease,
//! retention waiting for a stream, and the verifier catching every edit a file can show.

use super::action::Action;
use super::anchors::export_anchors;
use super::chain::record;
use super::event::{Actor, NewEvent};
use super::retention::prune;
use super::stream::{StreamItem, advance, claim};
use super::stream_verify::{ChainStart, StreamReport, StreamVerifier};
use crate::domain::Timestamp;
use crate::server::{db::begin_write, keys::Keys, testing::TestDatabases};
use sea_orm::DatabaseConnection;
use serde_json::json;
use uuid::Uuid;

fn keys() -> Keys {
    Keys::derive(&[9u8; 32])
}

async fn record_events(db: &DatabaseConnection, site: Option<Uuid>, count: u32, at: i64) {
    for n in 0..count {
        let txn = begin_write(db).await.unwrap();
        let event = NewEvent::new(
            site,
            Action::SiteRenamed,
            Actor::operator(None),
            format!("rename {n}"),
        )
        .details(json!({"n": n, "text": "a \"quoted\"\nline"}));
        record(&txn, &keys(), event, Timestamp(at + i64::from(n)))
            .await
            .unwrap();
        txn.commit().await.unwrap();
    }
}

fn verify(lines: &[String]) -> StreamReport {
    let keys = keys();
    let mut verifier = StreamVerifier::new(&keys, Vec::new());
    for line in lines {
        verifier.line(line);
    }
    verifier.finish()
}

async fn pending(conn: &DatabaseConnection, name: &str, limit: u64) -> Vec<StreamItem> {
    super::stream::pending(conn, name, limit)
        .await
        .unwrap()
        .items
}

fn lines(items: &[StreamItem]) -> Vec<String> {
    items.iter().map(|item| item.line.clone()).collect()
}

#[tokio::test]
async fn a_stream_delivers_every_event_once_from_its_cursor_under_one_lease() {
    for db in TestDatabases::all().await {
        let conn = &db.conn;
        let site = Uuid::now_v7();
        record_events(conn, Some(site), 4, 1_000).await;
        record_events(conn, None, 2, 1_000).await;
        let now = Timestamp(2_000);
        assert!(claim(conn, "file:/a", "one", now).await.unwrap());
        // A second replica waits while the lease lasts.
        assert!(!claim(conn, "file:/a", "two", now).await.unwrap());
        let first = pending(conn, "file:/a", 3).await;
        assert_eq!(first.len(), 3, "{}", db.name);
        // Each chain behind gets its share; the writer is told there is more.
        assert_eq!(first.iter().filter(|i| i.chain == "global").count(), 2);
        let pass = super::stream::pending(conn, "file:/a", 3).await.unwrap();
        assert!(pass.more);
        assert!(
            !super::stream::pending(conn, "file:/a", 6)
                .await
                .unwrap()
                .more
        );
        assert!(advance(conn, "file:/a", "one", &first, now).await.unwrap());
        let rest = pending(conn, "file:/a", 100).await;
        assert_eq!(rest.len(), 3, "{}", db.name);
        let all: Vec<StreamItem> = first.iter().chain(&rest).cloned().collect();
        let report = verify(&lines(&all));
        assert_eq!(report.broken, None, "{}", db.name);
        assert_eq!(report.chains.len(), 2);
        assert!(
            report
                .chains
                .iter()
                .all(|c| c.starts == ChainStart::Genesis)
        );
        assert_eq!(report.chains.iter().map(|c| c.events).sum::<u64>(), 6);

        // The first holder dies before moving the cursor: after the lease runs out the second
        // takes over and delivers the same lines again; the first can no longer move it.
        let later = now.plus_seconds(super::stream::LEASE_SECONDS + 1);
        assert!(claim(conn, "file:/a", "two", later).await.unwrap());
        assert!(!advance(conn, "file:/a", "one", &rest, later).await.unwrap());
        let again = pending(conn, "file:/a", 100).await;
        assert_eq!(again, rest, "{}", db.name);
        assert!(
            advance(conn, "file:/a", "two", &again, later)
                .await
                .unwrap()
        );
        assert!(pending(conn, "file:/a", 100).await.is_empty());
        // Written twice (at-least-once), the stream still verifies and says so.
        let twice: Vec<String> = lines(&all).into_iter().chain(lines(&again)).collect();
        let report = verify(&twice);
        assert_eq!(report.broken, None);
        assert_eq!(report.chains.iter().map(|c| c.repeated).sum::<u64>(), 3);
        // Another stream has its own cursor.
        assert_eq!(pending(conn, "stdout", 100).await.len(), 6);
        // What the operator sees: caught up, then two events behind.
        let statuses = super::stream::status(conn).await.unwrap();
        assert_eq!(statuses.len(), 1);
        assert_eq!(
            (statuses[0].name.as_str(), statuses[0].behind),
            ("file:/a", 0)
        );
        record_events(conn, None, 2, 3_000).await;
        assert_eq!(super::stream::status(conn).await.unwrap()[0].behind, 2);
        db.cleanup().await;
    }
}

#[tokio::test]
async fn retention_waits_for_a_stream_and_a_checkpoint_vouches_for_what_it_pruned() {
    for db in TestDatabases::all().await {
        let conn = &db.conn;
        let site = Some(Uuid::now_v7());
        let chain = super::link::chain_key(site);
        record_events(conn, site, 6, 1_000).await;
        let now = Timestamp(100_000);
        assert!(claim(conn, "stdout", "me", now).await.unwrap());
        let first = pending(conn, "stdout", 2).await;
        assert!(advance(conn, "stdout", "me", &first, now).await.unwrap());
        // Everything is old enough, but the stream has delivered only #1 and #2.
        let pruned = prune(conn, &keys(), &chain, Timestamp(50_000), now)
            .await
            .unwrap();
        assert_eq!(pruned, 2, "{}", db.name);
        let rest = pending(conn, "stdout", 100).await;
        assert_eq!(rest.first().map(|item| item.seq), Some(3), "{}", db.name);
        let mut delivered = lines(&first);
        delivered.extend(lines(&rest));
        assert_eq!(verify(&delivered).broken, None);

        // A stream begun after the pruning starts at the signed checkpoint.
        let fresh = pending(conn, "file:/new", 100).await;
        assert!(fresh[0].line.contains("latchkey-audit-checkpoint/1"));
        let report = verify(&lines(&fresh));
        assert_eq!(report.broken, None, "{}", db.name);
        assert_eq!(report.chains[0].starts, ChainStart::Checkpoint);
        assert_eq!(report.chains[0].from_seq, 3);
        // Moved into another copy after its #1, the genuine checkpoint would hide #2: refused.
        let mut hidden = lines(&first)[..1].to_vec();
        hidden.extend(lines(&fresh));
        let problem = verify(&hidden).broken.unwrap_or_default();
        assert!(problem.contains("pruned before this stream"), "{problem}");
        db.cleanup().await;
    }
}

#[tokio::test]
async fn the_verifier_catches_edits_gaps_forks_forgeries_and_a_cut_off_end() {
    let db = crate::server::testing::TestDb::sqlite().await;
    let conn = &db.conn;
    record_events(conn, Some(Uuid::now_v7()), 5, 1_000).await;
    let good = lines(&pending(conn, "stdout", 100).await);
    assert_eq!(verify(&good).broken, None);

    let broken = |lines: Vec<String>| verify(&lines).broken.unwrap_or_default();
    let mut edited = good.clone();
    edited[2] = edited[2].replace("rename 2", "rename 9");
    assert!(broken(edited).contains("does not match its hash"));
    let mut gap = good.clone();
    gap.remove(2);
    assert!(broken(gap).contains("events #3–#3"));
    let mut fork = good.clone();
    let other = good[1].replace("rename 1", "rename 7");
    fork.push(other);
    assert!(broken(fork).contains("line 6"));
    let mut late = good.clone();
    late.swap(1, 3);
    assert!(!broken(late).is_empty());
    // Another server's key.
    let other_keys = Keys::derive(&[1u8; 32]);
    let mut verifier = StreamVerifier::new(&other_keys, Vec::new());
    verifier.line(&good[0]);
    assert!(verifier.finish().broken.is_some());
    // A torn write, written again whole after the restart, is counted and harmless.
    let mut torn = good.clone();
    torn.insert(3, good[3][..40].to_owned());
    let report = verify(&torn);
    assert_eq!(report.broken, None);
    assert_eq!(report.unreadable_lines, 1);
    // The newest event moved to the top, then older ones deleted: out of order, not repeats.
    let mut moved = vec![good[4].clone()];
    moved.extend(good[..2].iter().cloned());
    assert!(broken(moved).contains("out of order"));
    // Nothing at all proves nothing.
    assert!(broken(vec!["not a stream".to_owned()]).contains("no audit event"));
    // A checkpoint not signed with the key.
    let forged = "{\"format\":\"latchkey-audit-checkpoint/1\",\"chain\":\"global\",\"seq\":9,\
                  \"hash\":\"00\",\"signature\":\"00\"}";
    assert!(broken(vec![forged.to_owned()]).contains("not signed"));

    // Lines cut off the end show only against an anchor kept elsewhere.
    let anchors = export_anchors(conn, &keys(), Timestamp(9_000))
        .await
        .unwrap();
    let keys = keys();
    let mut verifier = StreamVerifier::new(&keys, anchors.clone());
    for line in &good[..4] {
        verifier.line(line);
    }
    let report = verifier.finish();
    assert!(report.broken.unwrap().contains("cut off the end"));
    let mut verifier = StreamVerifier::new(&keys, anchors.clone());
    for line in &good {
        verifier.line(line);
    }
    assert_eq!(verifier.finish().broken, None);
    // An anchor whose position holds another link.
    let mut moved = anchors.clone();
    moved[0].seq -= 1;
    moved[0].signature = super::signing::sign_position(
        &keys,
        super::signing::Signed::Anchor,
        &moved[0].chain,
        moved[0].seq,
        &moved[0].hash,
    );
    let mut verifier = StreamVerifier::new(&keys, moved);
    for line in &good {
        verifier.line(line);
    }
    assert!(verifier.finish().broken.unwrap().contains("anchored link"));
    db.cleanup().await;
}
