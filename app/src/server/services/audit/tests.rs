//! The chain writer, verifier, rekeying and anchors, on both databases.

use super::action::Action;
use super::anchors::*;
use super::chain::*;
use super::event::*;
use super::link::*;
use super::rekey::*;
use super::signing::*;
use super::verify::*;
use crate::domain::Timestamp;
use crate::server::ServiceError;
use crate::server::entities::{audit_chain_head as head, audit_event as event};
use crate::server::{db::begin_write, testing::TestDatabases};
use sea_orm::{ActiveModelTrait, IntoActiveModel, TransactionTrait};
use sea_orm::{ActiveValue::Set, sea_query::Expr};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::json;
use uuid::Uuid;

fn test_keys() -> crate::server::keys::Keys {
    crate::server::keys::Keys::derive(&[5u8; 32])
}

fn event(site: Uuid, n: u32) -> NewEvent {
    NewEvent::new(
        Some(site),
        Action::SiteRenamed,
        Actor::operator(None),
        format!("rename {n}"),
    )
    .target(Target::new(TargetKind::Site, site, format!("Site {n}")))
    .details(json!({"n": n, "note": "=cmd|' /C calc'!A0\n\"quoted\""}))
}

#[tokio::test]
async fn chains_link_verify_and_detect_tampering_on_every_backend() {
    for db in TestDatabases::all().await {
        let site = Uuid::now_v7();
        for n in 0..5 {
            let txn = begin_write(&db.conn).await.unwrap();
            record(
                &txn,
                &test_keys(),
                event(site, n),
                Timestamp(1_000 + i64::from(n)),
            )
            .await
            .unwrap();
            txn.commit().await.unwrap();
        }
        let other = Uuid::now_v7();
        let txn = db.conn.begin().await.unwrap();
        record(&txn, &test_keys(), event(other, 9), Timestamp(2_000))
            .await
            .unwrap();
        txn.commit().await.unwrap();

        let chain = chain_key(Some(site));
        let report = verify_chain(&db.conn, &test_keys(), &chain).await.unwrap();
        assert_eq!(report.events, 5, "{}", db.name);
        assert_eq!(report.broken, None, "{}", db.name);
        assert_eq!(chains(&db.conn).await.unwrap().len(), 2);

        // Rewriting history breaks the chain exactly at the edited event.
        let third = event::Entity::find()
            .filter(event::Column::Chain.eq(&chain))
            .filter(event::Column::Seq.eq(3_i64))
            .one(&db.conn)
            .await
            .unwrap()
            .unwrap();
        let mut edited = third.clone().into_active_model();
        edited.summary = Set("nothing to see here".into());
        edited.update(&db.conn).await.unwrap();
        let report = verify_chain(&db.conn, &test_keys(), &chain).await.unwrap();
        let broken = report.broken.expect("tampering detected");
        assert_eq!((broken.seq, broken.event_id), (3, third.id), "{}", db.name);

        // Deleting the newest event is caught by the head.
        let mut restored = third.into_active_model();
        restored.summary = Set("rename 2".into());
        restored.update(&db.conn).await.unwrap();
        assert_eq!(
            verify_chain(&db.conn, &test_keys(), &chain)
                .await
                .unwrap()
                .broken,
            None
        );
        event::Entity::delete_many()
            .filter(event::Column::Chain.eq(&chain))
            .filter(event::Column::Seq.eq(5_i64))
            .exec(&db.conn)
            .await
            .unwrap();
        assert!(
            verify_chain(&db.conn, &test_keys(), &chain)
                .await
                .unwrap()
                .broken
                .is_some()
        );
        db.cleanup().await;
    }
}

#[tokio::test]
async fn pruning_keeps_the_chain_verifiable_and_a_forged_checkpoint_is_caught() {
    for db in TestDatabases::all().await {
        let site = Uuid::now_v7();
        let txn = begin_write(&db.conn).await.unwrap();
        let batch = (0..100)
            .map(|n| (event(site, n), Timestamp(1_000 + i64::from(n))))
            .collect();
        record_batch(&txn, &test_keys(), Some(site), batch)
            .await
            .unwrap();
        txn.commit().await.unwrap();
        let chain = chain_key(Some(site));
        let keys = test_keys();
        let pruned =
            super::retention::prune(&db.conn, &keys, &chain, Timestamp(1_050), Timestamp(9_000))
                .await
                .unwrap();
        assert_eq!(pruned, 50, "{}", db.name);
        let report = verify_chain(&db.conn, &keys, &chain).await.unwrap();
        assert_eq!(
            (report.events, report.broken),
            (51, None),
            "50 kept + the pruning event"
        );
        // A checkpoint signed with another key (a forger without the server key) fails.
        let other = crate::server::keys::Keys::derive(&[6u8; 32]);
        assert!(
            verify_chain(&db.conn, &other, &chain)
                .await
                .unwrap()
                .broken
                .is_some()
        );
        db.cleanup().await;
    }
}

#[tokio::test]
async fn batches_and_single_events_build_one_valid_chain() {
    for db in TestDatabases::all().await {
        let site = Uuid::now_v7();
        let txn = begin_write(&db.conn).await.unwrap();
        record(&txn, &test_keys(), event(site, 0), Timestamp(10))
            .await
            .unwrap();
        let batch = (1..=700)
            .map(|n| (event(site, n), Timestamp(10 + i64::from(n))))
            .collect();
        record_batch(&txn, &test_keys(), Some(site), batch)
            .await
            .unwrap();
        record(&txn, &test_keys(), event(site, 701), Timestamp(800))
            .await
            .unwrap();
        txn.commit().await.unwrap();
        let report = verify_chain(&db.conn, &test_keys(), &chain_key(Some(site)))
            .await
            .unwrap();
        assert_eq!((report.events, report.broken), (702, None), "{}", db.name);
        db.cleanup().await;
    }
}

#[tokio::test]
async fn concurrent_writers_never_fork_a_chain() {
    for db in TestDatabases::all().await {
        let site = Uuid::now_v7();
        let mut tasks = Vec::new();
        for n in 0..16 {
            let conn = db.conn.clone();
            tasks.push(tokio::spawn(async move {
                let txn = begin_write(&conn).await.unwrap();
                record(&txn, &test_keys(), event(site, n), Timestamp(5_000))
                    .await
                    .unwrap();
                txn.commit().await.unwrap();
            }));
        }
        for task in tasks {
            task.await.unwrap();
        }
        let report = verify_chain(&db.conn, &test_keys(), &chain_key(Some(site)))
            .await
            .unwrap();
        assert_eq!((report.events, report.broken), (16, None), "{}", db.name);
        db.cleanup().await;
    }
}

/// `n` events of one site's chain, appended one per transaction.
async fn chain_of(conn: &sea_orm::DatabaseConnection, site: Uuid, n: u32) -> String {
    for i in 0..n {
        let txn = begin_write(conn).await.unwrap();
        record(
            &txn,
            &test_keys(),
            event(site, i),
            Timestamp(1_000 + i64::from(i)),
        )
        .await
        .unwrap();
        txn.commit().await.unwrap();
    }
    chain_key(Some(site))
}

#[tokio::test]
async fn a_database_writer_without_the_key_cannot_rewrite_or_truncate_a_chain() {
    for db in TestDatabases::all().await {
        let keys = test_keys();
        let site = Uuid::now_v7();
        let chain = chain_of(&db.conn, site, 6).await;
        assert_eq!(
            verify_chain(&db.conn, &keys, &chain).await.unwrap().broken,
            None
        );
        let anchors = export_anchors(&db.conn, &keys, Timestamp(2_000))
            .await
            .unwrap();
        let anchor = anchors.iter().find(|a| a.chain == chain).unwrap().clone();
        let saved_head = head::Entity::find_by_id(chain.clone())
            .one(&db.conn)
            .await
            .unwrap()
            .unwrap();

        // 1. Edit an event and recompute every link after it, without the key (the old
        //    unkeyed formula): caught at the edited event.
        let rows = event::Entity::find()
            .filter(event::Column::Chain.eq(&chain))
            .order_by_asc(event::Column::Seq)
            .all(&db.conn)
            .await
            .unwrap();
        let mut prev = GENESIS_HASH.to_owned();
        for mut row in rows.clone() {
            if row.seq == 3 {
                row.summary = "nothing happened".into();
            }
            row.prev_hash = prev.clone();
            row.hash = legacy_link_hash(&prev, &row);
            prev = row.hash.clone();
            let mut update = row.into_active_model();
            update.reset(event::Column::Summary);
            update.reset(event::Column::PrevHash);
            update.reset(event::Column::Hash);
            update.update(&db.conn).await.unwrap();
        }
        let report = verify_chain(&db.conn, &keys, &chain).await.unwrap();
        assert_eq!(report.broken.map(|b| b.seq), Some(1), "{}", db.name);
        // Put the real chain back.
        for row in rows {
            let mut update = row.into_active_model();
            update.reset(event::Column::Summary);
            update.reset(event::Column::PrevHash);
            update.reset(event::Column::Hash);
            update.update(&db.conn).await.unwrap();
        }
        assert_eq!(
            verify_chain(&db.conn, &keys, &chain).await.unwrap().broken,
            None
        );

        // 2. Delete the newest events and rewind the head to the last one left, as the
        //    review did: the head's signature no longer matches.
        chain_of(&db.conn, site, 2).await;
        let kept = event::Entity::find()
            .filter(event::Column::Chain.eq(&chain))
            .filter(event::Column::Seq.eq(6_i64))
            .one(&db.conn)
            .await
            .unwrap()
            .unwrap();
        event::Entity::delete_many()
            .filter(event::Column::Chain.eq(&chain))
            .filter(event::Column::Seq.gt(6_i64))
            .exec(&db.conn)
            .await
            .unwrap();
        head::Entity::update_many()
            .col_expr(head::Column::Seq, Expr::value(6_i64))
            .col_expr(head::Column::Hash, Expr::value(kept.hash.clone()))
            .filter(head::Column::Chain.eq(&chain))
            .exec(&db.conn)
            .await
            .unwrap();
        let report = verify_chain(&db.conn, &keys, &chain).await.unwrap();
        assert!(
            report
                .broken
                .as_ref()
                .is_some_and(|b| b.reason.contains("signature")),
            "{report:?} on {}",
            db.name
        );
        // Nor will the server sign the shortened chain by appending to it, whether the head
        // keeps its old signature or loses it.
        let appended = record(&db.conn, &keys, event(site, 90), Timestamp(5_090)).await;
        assert!(appended.is_err(), "{}", db.name);
        head::Entity::update_many()
            .col_expr(head::Column::Signature, Expr::value(Option::<String>::None))
            .filter(head::Column::Chain.eq(&chain))
            .exec(&db.conn)
            .await
            .unwrap();
        let appended = record(&db.conn, &keys, event(site, 91), Timestamp(5_091)).await;
        assert!(appended.is_err(), "{}", db.name);
        assert!(
            verify_chain(&db.conn, &keys, &chain)
                .await
                .unwrap()
                .broken
                .is_some(),
            "{}",
            db.name
        );

        // 3. Rewind it to a head copied earlier, signature and all: the database alone
        //    cannot tell, an anchor kept elsewhere can.
        let mut replay = saved_head.clone().into_active_model();
        replay.reset(head::Column::Seq);
        replay.reset(head::Column::Hash);
        replay.reset(head::Column::Signature);
        replay.update(&db.conn).await.unwrap();
        assert_eq!(
            verify_chain(&db.conn, &keys, &chain).await.unwrap().broken,
            None
        );
        assert_eq!(check_anchor(&db.conn, &keys, &anchor).await.unwrap(), None);
        let later = export_anchors(&db.conn, &keys, Timestamp(3_000)).await;
        assert!(later.is_ok());
        // (An anchor taken after the two lost events would catch it: simulate one.)
        let lost = Anchor {
            seq: 8,
            hash: "f".repeat(64),
            signature: sign_position(&keys, Signed::Anchor, &chain, 8, &"f".repeat(64)),
            ..anchor.clone()
        };
        let problem = check_anchor(&db.conn, &keys, &lost).await.unwrap();
        assert!(
            problem.is_some_and(|p| p.contains("rewound")),
            "{}",
            db.name
        );
        // A forged anchor (no key) is refused as such.
        let forged = Anchor {
            signature: "0".repeat(64),
            ..anchor
        };
        let problem = check_anchor(&db.conn, &keys, &forged).await.unwrap();
        assert!(problem.is_some_and(|p| p.contains("signature")));
        db.cleanup().await;
    }
}

#[tokio::test]
async fn chains_written_before_links_were_keyed_are_rekeyed_once_after_a_check() {
    for db in TestDatabases::all().await {
        let keys = test_keys();
        let site = Uuid::now_v7();
        let chain = chain_of(&db.conn, site, 4).await;
        // Rewrite the links as an earlier version did: unkeyed, head unsigned.
        let rows = event::Entity::find()
            .filter(event::Column::Chain.eq(&chain))
            .order_by_asc(event::Column::Seq)
            .all(&db.conn)
            .await
            .unwrap();
        let mut prev = GENESIS_HASH.to_owned();
        for mut row in rows {
            row.prev_hash = prev.clone();
            row.hash = legacy_link_hash(&prev, &row);
            prev = row.hash.clone();
            let mut update = row.into_active_model();
            update.reset(event::Column::PrevHash);
            update.reset(event::Column::Hash);
            update.update(&db.conn).await.unwrap();
        }
        head::Entity::update_many()
            .col_expr(head::Column::Hash, Expr::value(prev))
            .col_expr(head::Column::Signature, Expr::value(Option::<String>::None))
            .filter(head::Column::Chain.eq(&chain))
            .exec(&db.conn)
            .await
            .unwrap();
        // Events appended after the upgrade are keyed on top of the old ones.
        chain_of(&db.conn, site, 1).await;
        let report = verify_chain(&db.conn, &keys, &chain).await.unwrap();
        assert!(
            report
                .broken
                .is_some_and(|b| b.reason.contains("audit rekey")),
            "{}",
            db.name
        );
        let txn = begin_write(&db.conn).await.unwrap();
        assert_eq!(
            rekey(&txn, &keys, &chain, Timestamp(9_000)).await.unwrap(),
            5
        );
        txn.commit().await.unwrap();
        let report = verify_chain(&db.conn, &keys, &chain).await.unwrap();
        assert_eq!((report.events, report.broken), (6, None), "{}", db.name);
        // Once keyed, there is nothing left to do.
        let txn = begin_write(&db.conn).await.unwrap();
        assert_eq!(
            rekey(&txn, &keys, &chain, Timestamp(9_001)).await.unwrap(),
            0
        );
        txn.commit().await.unwrap();
        db.cleanup().await;
    }
}

#[tokio::test]
async fn a_tampered_unkeyed_chain_is_not_rekeyed() {
    for db in TestDatabases::all().await {
        let keys = test_keys();
        let site = Uuid::now_v7();
        let chain = chain_of(&db.conn, site, 3).await;
        let second = event::Entity::find()
            .filter(event::Column::Chain.eq(&chain))
            .filter(event::Column::Seq.eq(2_i64))
            .one(&db.conn)
            .await
            .unwrap()
            .unwrap();
        let mut edited = second.into_active_model();
        edited.summary = sea_orm::ActiveValue::Set("rewritten".into());
        edited.update(&db.conn).await.unwrap();
        let txn = begin_write(&db.conn).await.unwrap();
        assert!(matches!(
            rekey(&txn, &keys, &chain, Timestamp(9_000)).await,
            Err(ServiceError::Conflict(_))
        ));
        txn.rollback().await.unwrap();
        db.cleanup().await;
    }
}

#[test]
fn every_action_is_listed_once_with_a_unique_name() {
    let names: std::collections::BTreeSet<&str> = Action::ALL.iter().map(|a| a.as_str()).collect();
    assert_eq!(names.len(), Action::ALL.len());
    assert_eq!(names.len(), 70, "a new action must be added to Action::ALL");
}

#[test]
fn anonymous_labels_are_bounded_and_printable() {
    let actor = Actor::anonymous(&format!("evil\r\n{}", "x".repeat(500)), None);
    assert_eq!(actor.label.chars().count(), 64);
    assert!(!actor.label.contains('\n'));
}
