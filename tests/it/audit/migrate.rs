//! `synckairos migrate`: applies the audit schema (three tables and their indexes) to
//! `DATABASE_URL`, is idempotent and non-destructive when run again, and refuses to
//! run without a database URL.

use std::process::{Command, Output};

use crate::support::procs::Postgres;

fn migrate(database_url: Option<&str>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_synckairos"));
    cmd.arg("migrate")
        .env(
            "SYNCKAIROS_REGIONS_DIR",
            std::env::temp_dir().join("synckairos-no-regions"),
        )
        .env_remove("DATABASE_URL")
        .env_remove("SYNCKAIROS_AUDIT__DATABASE_URL");
    if let Some(url) = database_url {
        cmd.env("DATABASE_URL", url);
    }
    cmd.output().expect("run synckairos migrate")
}

#[test]
fn migrate_applies_the_schema_and_is_idempotent() {
    let pg = Postgres::start();
    let out = migrate(Some(&pg.url()));
    assert!(out.status.success(), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("migrations applied"));
    let tables = pg.query(
        "SELECT string_agg(table_name, ',' ORDER BY table_name) FROM information_schema.tables \
         WHERE table_schema = 'public'",
    );
    assert_eq!(
        tables,
        "_sqlx_migrations,sync_events,sync_participants,sync_sessions"
    );
    let indexes = "SELECT string_agg(indexname, ',' ORDER BY indexname) FROM pg_indexes \
                   WHERE indexname LIKE 'idx_sync_%'";
    let idx = pg.query(indexes);
    assert_eq!(
        idx,
        "idx_sync_events_actor,idx_sync_events_occurred,idx_sync_events_participant,\
         idx_sync_events_session_order,idx_sync_events_type,idx_sync_participants_group,idx_sync_sessions_created,\
         idx_sync_sessions_mode,idx_sync_sessions_status"
    );
    let unique = pg.query(
        "SELECT count(*) FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid \
         WHERE c.relname = 'sync_events' AND i.indisprimary",
    );
    assert_eq!(
        unique, "1",
        "event_id is the primary key (idempotent inserts)"
    );
    assert_eq!(
        pg.query("SELECT version, success FROM _sqlx_migrations ORDER BY version"),
        "1|t\n2|t"
    );

    // A second run changes nothing and keeps the data (v2's 001 dropped everything).
    pg.query(
        "INSERT INTO sync_events (event_id, session_id, event_type, version, seq, \
         event_index, home_region, handled_region, occurred_at) \
         VALUES ('local:1:0', 's', 'session_created', 1, 1, 0, 'local', 'local', now())",
    );
    let again = migrate(Some(&pg.url()));
    assert!(again.status.success(), "{again:?}");
    assert_eq!(pg.query("SELECT count(*) FROM _sqlx_migrations"), "2");
    assert_eq!(pg.query("SELECT count(*) FROM sync_events"), "1");
    assert_eq!(pg.query(indexes), idx);
}

#[test]
fn migrate_without_a_database_url_fails_and_says_why() {
    let out = migrate(None);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("DATABASE_URL"), "{err}");
}
