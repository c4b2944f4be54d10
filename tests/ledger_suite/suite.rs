//! The checks every ledger backend must pass: the store contract (compare-and-set, listing,
//! purging) and the rules on top of it, driven through `Ledger` exactly as the pipeline does.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use lcw_handler::ledger::{
    Begin, GraphAnswer, Ledger, LedgerStore, RecordedOutcome, RecordedStatus, Stage, StoreError,
    TaskFacts, TaskKey, TaskRecord,
};
use time::OffsetDateTime;

/// A fresh, empty store, and whatever must live as long as it (a temp folder, an emulator).
pub struct Fresh {
    pub store: Arc<dyn LedgerStore>,
    pub guard: Box<dyn std::any::Any + Send>,
}

const RETENTION: Duration = Duration::from_secs(30 * 86_400);
const LEASE: Duration = Duration::from_secs(60);

fn now() -> OffsetDateTime {
    // Whole seconds, so every backend stores it exactly.
    OffsetDateTime::from_unix_timestamp(OffsetDateTime::now_utc().unix_timestamp()).unwrap()
}

fn record(id: &str, at: OffsetDateTime) -> TaskRecord {
    TaskRecord::new(
        TaskKey::lcw(id),
        TaskFacts {
            workflow_id: "wf".into(),
            task_id: "t".into(),
            subject_id: Some("user-1".into()),
            launch_and_wait: true,
            ..TaskFacts::default()
        },
        at,
        at + time::Duration::minutes(29),
        at,
    )
}

fn completed() -> RecordedOutcome {
    RecordedOutcome {
        status: RecordedStatus::Completed,
        reason: None,
    }
}

fn answer(status: u16, at: OffsetDateTime) -> GraphAnswer {
    GraphAnswer {
        status: Some(status),
        request_id: Some(format!("request-{status}")),
        code: None,
        at,
    }
}

async fn begin(ledger: &Ledger, id: &str, invocation: &str, at: OffsetDateTime) -> Begin {
    ledger
        .begin(
            &TaskKey::lcw(id),
            || record(id, at),
            invocation,
            None,
            LEASE,
            at,
        )
        .await
        .expect("the store answers")
}

async fn stored(store: &Arc<dyn LedgerStore>, id: &str) -> TaskRecord {
    store
        .get(&TaskKey::lcw(id))
        .await
        .unwrap()
        .expect("the record exists")
        .record
}

pub async fn store_compare_and_set(fresh: Fresh) {
    let store = fresh.store;
    let at = now();
    assert_eq!(store.get(&TaskKey::lcw("r")).await.unwrap(), None);
    let first = store.create(&record("r", at)).await.unwrap();
    assert_eq!(
        store.create(&record("r", at)).await,
        Err(StoreError::Conflict),
        "a second create of one key must fail"
    );
    let mut changed = record("r", at);
    changed.stage = Stage::Running;
    let second = store.replace(&changed, &first).await.unwrap();
    assert_ne!(first, second, "every write makes a new version");
    assert_eq!(
        store.replace(&changed, &first).await,
        Err(StoreError::Conflict),
        "a write at a stale version must fail"
    );
    let read = store.get(&TaskKey::lcw("r")).await.unwrap().unwrap();
    assert_eq!(read.version, second);
    assert_eq!(read.record, changed, "the record round-trips unchanged");
    assert_eq!(
        store.replace(&record("other", at), &second).await,
        Err(StoreError::Conflict),
        "replacing a record that does not exist must fail"
    );
}

pub async fn list_and_purge_go_by_last_change(fresh: Fresh) {
    let store = fresh.store;
    let at = now();
    let old = at - time::Duration::days(40);
    store.create(&record("old", old)).await.unwrap();
    store.create(&record("new", at)).await.unwrap();
    let listed = store.list(at - time::Duration::days(1)).await.unwrap();
    let ids: Vec<&str> = listed.iter().map(|r| r.key.id.as_str()).collect();
    assert_eq!(ids, ["new"]);
    assert_eq!(store.list(old).await.unwrap().len(), 2);
    assert_eq!(store.purge(at - time::Duration::days(30)).await.unwrap(), 1);
    assert_eq!(store.get(&TaskKey::lcw("old")).await.unwrap(), None);
    assert!(store.get(&TaskKey::lcw("new")).await.unwrap().is_some());
}

pub async fn concurrent_workers_run_the_logic_once(fresh: Fresh) {
    let store = fresh.store;
    let logic_runs = Arc::new(AtomicUsize::new(0));
    let at = now();
    let mut workers = Vec::new();
    for n in 0..8 {
        // Each worker is its own process instance, as on separate hosts.
        let ledger = Ledger::new(store.clone(), RETENTION);
        let logic_runs = logic_runs.clone();
        workers.push(tokio::spawn(async move {
            match begin(&ledger, "race", &format!("worker-{n}"), at).await {
                Begin::RunLogic(mut claim) => {
                    logic_runs.fetch_add(1, Ordering::SeqCst);
                    ledger
                        .update(&mut claim, |r| r.finish_logic(completed(), at))
                        .await
                        .unwrap();
                    ledger
                        .update(&mut claim, |r| r.resumed(1, answer(204, at), at))
                        .await
                        .unwrap();
                    true
                }
                Begin::HeldElsewhere(_) | Begin::AlreadyDone(_) | Begin::DuplicateOf(_) => false,
                Begin::SendResume(..) => panic!("nobody finished the logic before the race"),
            }
        }));
    }
    let mut winners = 0;
    for worker in workers {
        winners += usize::from(worker.await.unwrap());
    }
    assert_eq!(winners, 1, "exactly one worker may run the logic");
    assert_eq!(logic_runs.load(Ordering::SeqCst), 1);
    let r = stored(&store, "race").await;
    assert_eq!((r.stage, r.logic_runs), (Stage::Resumed, 1));
}

pub async fn duplicate_callouts_run_nothing(fresh: Fresh) {
    let store = fresh.store;
    let ledger = Ledger::new(store.clone(), RETENTION);
    let at = now();
    // Standalone records at accept: the second copy (same or fresh nonce) is recognised.
    assert_eq!(
        ledger.record_accepted(&record("dup", at)).await.unwrap(),
        None
    );
    assert_eq!(
        ledger.record_accepted(&record("dup", at)).await.unwrap(),
        Some(Stage::Received)
    );
    // Under the host both copies reach `process`: the first runs, the second finds it done.
    let Begin::RunLogic(mut claim) = begin(&ledger, "dup", "copy-1", at).await else {
        panic!("the first copy runs the logic")
    };
    ledger
        .update(&mut claim, |r| r.finish_logic(completed(), at))
        .await
        .unwrap();
    ledger
        .update(&mut claim, |r| r.resumed(1, answer(204, at), at))
        .await
        .unwrap();
    let other_instance = Ledger::new(store.clone(), RETENTION);
    assert!(matches!(
        begin(&other_instance, "dup", "copy-2", at).await,
        Begin::AlreadyDone(Stage::Resumed)
    ));
    assert_eq!(
        ledger.record_accepted(&record("dup", at)).await.unwrap(),
        Some(Stage::Resumed)
    );
    assert_eq!(stored(&store, "dup").await.logic_runs, 1);
}

pub async fn redelivery_after_logic_finished_only_resumes(fresh: Fresh) {
    let store = fresh.store;
    let ledger = Ledger::new(store.clone(), RETENTION);
    let at = now();
    let failed = RecordedOutcome {
        status: RecordedStatus::Failed,
        reason: Some("mailbox missing".into()),
    };
    let Begin::RunLogic(mut claim) = begin(&ledger, "redeliver", "d1", at).await else {
        panic!("the first delivery runs the logic")
    };
    ledger
        .update(&mut claim, |r| r.finish_logic(failed.clone(), at))
        .await
        .unwrap();
    ledger
        .update(&mut claim, |r| {
            r.resume_not_accepted(3, answer(403, at), "forbidden", at)
        })
        .await
        .unwrap();
    match begin(&ledger, "redeliver", "d2", at).await {
        Begin::SendResume(_, outcome) => assert_eq!(outcome, failed),
        other => panic!("a redelivery after the logic finished must only resume: {other:?}"),
    }
    let r = stored(&store, "redeliver").await;
    assert_eq!((r.logic_runs, r.deliveries, r.resume_tries), (1, 2, 3));
    assert_eq!(r.graph.unwrap().status, Some(403));
}

pub async fn redelivery_after_resume_is_a_no_op(fresh: Fresh) {
    let store = fresh.store;
    let ledger = Ledger::new(store.clone(), RETENTION);
    let at = now();
    let Begin::RunLogic(mut claim) = begin(&ledger, "done", "d1", at).await else {
        panic!("the first delivery runs the logic")
    };
    ledger
        .update(&mut claim, |r| r.finish_logic(completed(), at))
        .await
        .unwrap();
    ledger
        .update(&mut claim, |r| r.resumed(1, answer(204, at), at))
        .await
        .unwrap();
    for n in 2..5 {
        assert!(matches!(
            begin(&ledger, "done", &format!("d{n}"), at).await,
            Begin::AlreadyDone(Stage::Resumed)
        ));
    }
    let r = stored(&store, "done").await;
    assert_eq!(
        (r.stage, r.logic_runs, r.resume_tries),
        (Stage::Resumed, 1, 1)
    );
}

pub async fn stale_lease_is_taken_over(fresh: Fresh) {
    let store = fresh.store;
    let dead = Ledger::new(store.clone(), RETENTION);
    let alive = Ledger::new(store.clone(), RETENTION);
    let at = now();
    let Begin::RunLogic(mut dead_claim) = begin(&dead, "stale", "d1", at).await else {
        panic!("the first delivery runs the logic")
    };
    let soon = at + time::Duration::seconds(10);
    assert!(
        matches!(begin(&alive, "stale", "d2", soon).await, Begin::HeldElsewhere(l) if l.holder.ends_with("/d1")),
        "a live lease must be respected"
    );
    let later = at + time::Duration::seconds(LEASE.as_secs() as i64 + 1);
    let Begin::RunLogic(_) = begin(&alive, "stale", "d3", later).await else {
        panic!("an expired lease must be taken over")
    };
    assert_eq!(
        dead.update(&mut dead_claim, |r| r.finish_logic(completed(), later))
            .await,
        Err(StoreError::Conflict),
        "the old holder's next step must find it lost its lease"
    );
    let r = stored(&store, "stale").await;
    assert_eq!((r.stage, r.logic_runs), (Stage::Running, 2));
    assert!(r.events.iter().any(|e| e.what.contains("taken over")));
}

pub async fn orphaned_leases_are_released_by_the_sole_user(fresh: Fresh) {
    let store = fresh.store;
    let previous_run = Ledger::new(store.clone(), RETENTION);
    let at = now();
    let Begin::RunLogic(_) = begin(&previous_run, "orphan", "d1", at).await else {
        panic!("the first delivery runs the logic")
    };
    let restarted = Ledger::new(store.clone(), RETENTION).with_sole_user_guard(());
    assert_eq!(restarted.release_orphans(at).await.unwrap(), 1);
    assert!(matches!(
        begin(&restarted, "orphan", "d2", at).await,
        Begin::RunLogic(_)
    ));
    assert_eq!(
        restarted.release_orphans(at).await.unwrap(),
        0,
        "its own leases are not orphans"
    );
}

pub async fn retention_purges_old_records(fresh: Fresh) {
    let store = fresh.store;
    let ledger = Ledger::new(store.clone(), Duration::from_secs(7 * 86_400));
    let at = now();
    let mut old = record("old", at - time::Duration::days(8));
    old.give_up("test", None, at - time::Duration::days(8));
    store.create(&old).await.unwrap();
    store
        .create(&record("recent", at - time::Duration::days(6)))
        .await
        .unwrap();
    assert_eq!(ledger.purge_expired(at).await.unwrap(), 1);
    assert_eq!(store.get(&TaskKey::lcw("old")).await.unwrap(), None);
    assert!(store.get(&TaskKey::lcw("recent")).await.unwrap().is_some());
}

pub async fn unfinished_tasks_carry_their_work_item(fresh: Fresh) {
    let store = fresh.store;
    let ledger = Ledger::new(store.clone(), RETENTION);
    let at = now();
    for (id, stage) in [
        ("a", Stage::Received),
        ("b", Stage::Running),
        ("c", Stage::Resumed),
    ] {
        let mut r = record(id, at);
        r.stage = stage;
        r.work_item = Some(serde_json::json!({"taskProcessingResultId": id}));
        store.create(&r).await.unwrap();
    }
    store.create(&record("no-item", at)).await.unwrap();
    let ids: Vec<String> = ledger
        .unfinished(at)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.key.id)
        .collect();
    let mut ids = ids;
    ids.sort();
    assert_eq!(ids, ["a", "b"]);
}

pub async fn queue_messages_tell_redelivery_from_duplicate(fresh: Fresh) {
    let store = fresh.store;
    let first = Ledger::new(store.clone(), RETENTION);
    let second = Ledger::new(store.clone(), RETENTION);
    let at = now();
    let key = TaskKey::lcw("messages");
    let begin_with = |ledger: &Ledger, invocation: &str, message: &str| {
        let ledger = ledger.clone();
        let (key, invocation, message) = (key.clone(), invocation.to_owned(), message.to_owned());
        async move {
            ledger
                .begin(
                    &key,
                    || record("messages", at),
                    &invocation,
                    Some(&message),
                    LEASE,
                    at,
                )
                .await
                .unwrap()
        }
    };
    let Begin::RunLogic(_) = begin_with(&first, "i1", "m1").await else {
        panic!("the first message runs the logic")
    };
    assert!(
        matches!(begin_with(&second, "i2", "m2").await, Begin::DuplicateOf(l) if l.message.as_deref() == Some("m1")),
        "another message for a held task is a duplicate"
    );
    assert!(
        matches!(begin_with(&second, "i3", "m1").await, Begin::RunLogic(_)),
        "the holder's own message delivered again means its invocation is over: take over"
    );
    let r = stored(&store, "messages").await;
    assert_eq!(r.logic_runs, 2);
}
