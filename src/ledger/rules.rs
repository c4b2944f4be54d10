//! The rules of a task's life, in one place: what a worker may do with a task given its
//! record, and how each step changes the record.
//!
//! Everything here is a pure function of the record and the clock; [`super::Ledger`] applies
//! it through the store's compare-and-set, so a rule is only ever acted on if the record it was
//! decided from is still the stored one.
//!
//! - a task with no record: run the logic;
//! - a task in a final stage (resumed, given up, no resume needed): nothing to do — a duplicate
//!   callout or a redelivered message is acknowledged and runs nothing;
//! - a task held by another worker whose lease is live: if this delivery is *another* queue
//!   message, it is a duplicate and is dropped (the holder's own message carries the task, and
//!   comes back if the holder fails); if it is the holder's *own* message delivered again, the
//!   holder's invocation is over (a queue hides a message while its invocation runs), so the
//!   lease is stale and is taken over; if the message is unknown, retry later;
//! - a task whose logic finished: only (re)send the resume, with the recorded outcome;
//! - otherwise (received, or running under a lease that expired because its holder died): take
//!   the lease and run the logic.

use time::OffsetDateTime;

use super::record::{GraphAnswer, Lease, RecordedOutcome, Stage, TaskRecord};

/// What a worker that received a task may do with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Run the logic. `taken_over` is the expired lease of a worker presumed dead.
    RunLogic {
        /// The stale lease replaced, if any.
        taken_over: Option<Lease>,
    },
    /// The logic already finished: send the resume with this outcome, run nothing.
    SendResume(RecordedOutcome),
    /// Nothing more to do: the task is in this final stage.
    AlreadyDone(Stage),
    /// Another worker holds a live lease on the task; retry later.
    HeldElsewhere(Lease),
    /// Another worker holds a live lease while processing another queue message: this
    /// delivery is a duplicate message and can be dropped.
    DuplicateOf(Lease),
}

/// What `holder`, processing queue message `message` (when known), may do with the task of
/// `record` at `now`.
pub fn verdict(
    record: &TaskRecord,
    holder: &str,
    message: Option<&str>,
    now: OffsetDateTime,
) -> Verdict {
    if record.stage.is_final() {
        return Verdict::AlreadyDone(record.stage);
    }
    if let Some(lease) = record.live_lease(now)
        && lease.holder != holder
    {
        match (lease.message.as_deref(), message) {
            // The holder's own message, delivered again: its invocation is over.
            (Some(held), Some(this)) if held == this => {}
            (Some(_), Some(_)) => return Verdict::DuplicateOf(lease.clone()),
            _ => return Verdict::HeldElsewhere(lease.clone()),
        }
    }
    let stale = record
        .lease
        .as_ref()
        .filter(|lease| lease.holder != holder)
        .cloned();
    match (&record.stage, &record.outcome) {
        (Stage::LogicFinished | Stage::ResumeSent, Some(outcome)) => {
            Verdict::SendResume(outcome.clone())
        }
        _ => Verdict::RunLogic { taken_over: stale },
    }
}

impl TaskRecord {
    /// Takes the lease for what `verdict` allows (`RunLogic` or `SendResume`).
    pub fn claim(&mut self, verdict: &Verdict, lease: Lease, now: OffsetDateTime) {
        self.deliveries += 1;
        let holder = lease.holder.clone();
        self.lease = Some(lease);
        self.updated_at = now;
        match verdict {
            Verdict::RunLogic { taken_over } => {
                self.stage = Stage::Running;
                self.logic_runs += 1;
                let what = match taken_over {
                    Some(stale) => format!(
                        "lease of {} expired at {} (holder presumed dead); taken over by {holder}; logic started (run {})",
                        stale.holder, stale.expires_at, self.logic_runs
                    ),
                    None => format!(
                        "delivery {}: logic started by {holder} (run {})",
                        self.deliveries, self.logic_runs
                    ),
                };
                self.note(now, what);
            }
            Verdict::SendResume(outcome) => {
                let what = format!(
                    "delivery {}: logic already finished ({}); resume only, by {holder}",
                    self.deliveries,
                    outcome.status.as_str()
                );
                self.note(now, what);
            }
            Verdict::AlreadyDone(_) | Verdict::HeldElsewhere(_) | Verdict::DuplicateOf(_) => {}
        }
    }

    /// The logic finished with `outcome`; the lease is kept for the resume.
    pub fn finish_logic(&mut self, outcome: RecordedOutcome, now: OffsetDateTime) {
        self.stage = Stage::LogicFinished;
        self.updated_at = now;
        let what = match &outcome.reason {
            Some(reason) => format!("logic finished: {} ({reason})", outcome.status.as_str()),
            None => format!("logic finished: {}", outcome.status.as_str()),
        };
        self.reason = outcome.reason.clone();
        self.outcome = Some(outcome);
        self.note(now, what);
    }

    /// The logic asked to be tried again: back to the queue, lease released.
    pub fn retry_logic(&mut self, reason: &str, now: OffsetDateTime) {
        self.stage = Stage::Received;
        self.lease = None;
        self.updated_at = now;
        self.reason = Some(reason.to_owned());
        self.note(now, format!("logic asked to be retried: {reason}"));
    }

    /// Resume requests were sent and Graph did not accept one; the task goes back to the queue.
    pub fn resume_not_accepted(
        &mut self,
        tries: u32,
        answer: GraphAnswer,
        reason: &str,
        now: OffsetDateTime,
    ) {
        self.stage = Stage::ResumeSent;
        self.lease = None;
        self.updated_at = now;
        self.resume_tries += tries;
        self.graph = Some(answer);
        self.reason = Some(reason.to_owned());
        self.note(
            now,
            format!("{tries} resume request(s) not accepted: {reason}"),
        );
    }

    /// Graph accepted the resume.
    pub fn resumed(&mut self, tries: u32, answer: GraphAnswer, now: OffsetDateTime) {
        self.stage = Stage::Resumed;
        self.lease = None;
        self.updated_at = now;
        self.resume_tries += tries;
        let status = self
            .outcome
            .as_ref()
            .map_or("?", |outcome| outcome.status.as_str());
        let request_id = answer.request_id.clone().unwrap_or_default();
        self.graph = Some(answer);
        self.note(
            now,
            format!("resumed {status} after {tries} request(s); request-id {request_id}"),
        );
    }

    /// Nothing more will be tried.
    pub fn give_up(&mut self, reason: &str, answer: Option<GraphAnswer>, now: OffsetDateTime) {
        self.stage = Stage::GivenUp;
        self.lease = None;
        self.updated_at = now;
        if answer.is_some() {
            self.graph = answer;
        }
        self.reason = Some(reason.to_owned());
        self.note(now, format!("given up: {reason}"));
    }

    /// The logic finished and no resume is expected (launch-and-continue).
    pub fn no_resume(&mut self, now: OffsetDateTime) {
        self.stage = Stage::NoResume;
        self.lease = None;
        self.updated_at = now;
        self.note(now, "launch-and-continue: no resume expected");
    }

    /// A worker found the task done or held elsewhere; remembered for `explain`.
    pub fn note_duplicate(&mut self, what: &str, now: OffsetDateTime) {
        self.deliveries += 1;
        self.updated_at = now;
        self.note(now, what);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::record::{RecordedStatus, TaskFacts, TaskKey};
    use time::Duration;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-12-07 12:00 UTC);

    fn record() -> TaskRecord {
        TaskRecord::new(
            TaskKey::lcw("r1"),
            TaskFacts::default(),
            NOW,
            NOW + Duration::minutes(29),
            NOW,
        )
    }

    fn lease(holder: &str, expires_at: OffsetDateTime) -> Lease {
        Lease {
            holder: holder.into(),
            expires_at,
            message: Some(format!("message-of-{holder}")),
        }
    }

    fn completed() -> RecordedOutcome {
        RecordedOutcome {
            status: RecordedStatus::Completed,
            reason: None,
        }
    }

    #[test]
    fn a_received_task_runs() {
        let verdict = verdict(&record(), "a/1", None, NOW);
        assert_eq!(verdict, Verdict::RunLogic { taken_over: None });
        let mut r = record();
        r.claim(&verdict, lease("a/1", NOW + Duration::minutes(3)), NOW);
        assert_eq!(
            (r.stage, r.logic_runs, r.deliveries),
            (Stage::Running, 1, 1)
        );
    }

    #[test]
    fn a_live_lease_of_another_worker_is_respected_and_a_stale_one_taken_over() {
        let mut r = record();
        r.claim(
            &Verdict::RunLogic { taken_over: None },
            lease("a/1", NOW + Duration::minutes(3)),
            NOW,
        );
        assert!(
            matches!(verdict(&r, "b/2", None, NOW), Verdict::HeldElsewhere(l) if l.holder == "a/1")
        );
        let later = NOW + Duration::minutes(4);
        let v = verdict(&r, "b/2", None, later);
        assert!(matches!(&v, Verdict::RunLogic { taken_over: Some(l) } if l.holder == "a/1"));
        r.claim(&v, lease("b/2", later + Duration::minutes(3)), later);
        assert_eq!(r.logic_runs, 2);
        assert!(r.events.last().unwrap().what.contains("taken over"));
    }

    #[test]
    fn a_redelivered_message_takes_over_and_another_message_is_a_duplicate() {
        let mut r = record();
        r.claim(
            &Verdict::RunLogic { taken_over: None },
            lease("a/1", NOW + Duration::minutes(3)),
            NOW,
        );
        let own = Some("message-of-a/1");
        assert!(matches!(
            verdict(&r, "b/2", own, NOW),
            Verdict::RunLogic { taken_over: Some(l) } if l.holder == "a/1"
        ));
        assert!(matches!(
            verdict(&r, "b/2", Some("another message"), NOW),
            Verdict::DuplicateOf(l) if l.holder == "a/1"
        ));
        r.lease.as_mut().unwrap().message = None;
        assert!(matches!(
            verdict(&r, "b/2", Some("another message"), NOW),
            Verdict::HeldElsewhere(_)
        ));
    }

    #[test]
    fn finished_logic_only_resends_the_resume_and_final_stages_do_nothing() {
        let mut r = record();
        r.claim(
            &Verdict::RunLogic { taken_over: None },
            lease("a/1", NOW + Duration::minutes(3)),
            NOW,
        );
        r.finish_logic(completed(), NOW);
        let answer = GraphAnswer {
            status: Some(403),
            request_id: Some("req-1".into()),
            code: None,
            at: NOW,
        };
        r.resume_not_accepted(3, answer.clone(), "forbidden", NOW);
        assert_eq!(
            verdict(&r, "b/2", None, NOW),
            Verdict::SendResume(completed())
        );
        r.resumed(1, answer, NOW);
        assert_eq!(r.resume_tries, 4);
        for stage in [Stage::Resumed, Stage::GivenUp, Stage::NoResume] {
            r.stage = stage;
            assert_eq!(verdict(&r, "b/2", None, NOW), Verdict::AlreadyDone(stage));
        }
    }

    #[test]
    fn a_retry_releases_the_lease() {
        let mut r = record();
        r.claim(
            &Verdict::RunLogic { taken_over: None },
            lease("a/1", NOW + Duration::minutes(3)),
            NOW,
        );
        r.retry_logic("webhook down", NOW);
        assert_eq!(r.lease, None);
        assert_eq!(
            verdict(&r, "b/2", None, NOW),
            Verdict::RunLogic { taken_over: None }
        );
    }

    #[test]
    fn events_are_bounded() {
        let mut r = record();
        for i in 0..200 {
            r.note(NOW, format!("event {i}"));
        }
        assert_eq!(r.events.len(), crate::ledger::record::MAX_EVENTS);
        assert_eq!(r.events.last().unwrap().what, "event 199");
    }
}
