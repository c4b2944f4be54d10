//! The ledger conformance suite, run for every backend.
//!
//! Each check in [`suite`] is a function of a fresh, empty store; [`conformance!`] turns the
//! whole list into tests for one backend. Adding a backend is one line at the bottom of this
//! file: `conformance!(name, factory);` with a factory `async fn() -> Fresh`.

mod blob_backend;
mod sqlite_backend;
mod suite;

pub use suite::Fresh;

/// One `#[tokio::test]` per check of [`suite`], in a module named after the backend.
macro_rules! conformance {
    ($backend:ident, $factory:path) => {
        mod $backend {
            macro_rules! check {
                ($name:ident) => {
                    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                    async fn $name() {
                        lcw_emulator::time_limit::test_body(stringify!($name), async {
                            crate::suite::$name($factory().await).await
                        })
                        .await
                    }
                };
            }
            check!(store_compare_and_set);
            check!(list_and_purge_go_by_last_change);
            check!(concurrent_workers_run_the_logic_once);
            check!(duplicate_callouts_run_nothing);
            check!(redelivery_after_logic_finished_only_resumes);
            check!(redelivery_after_resume_is_a_no_op);
            check!(stale_lease_is_taken_over);
            check!(orphaned_leases_are_released_by_the_sole_user);
            check!(retention_purges_old_records);
            check!(unfinished_tasks_carry_their_work_item);
            check!(queue_messages_tell_redelivery_from_duplicate);
        }
    };
}

conformance!(sqlite, crate::sqlite_backend::fresh);
conformance!(blob, crate::blob_backend::fresh);
