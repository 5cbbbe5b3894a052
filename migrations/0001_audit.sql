-- SyncKairos audit trail. Starts from v2's sync_sessions / sync_events /
-- sync_participants and fills what v2 left empty (total_cycles, cycle_number,
-- time_elapsed_ms, participants) plus what exactly-once needs (event_id).
-- Session and participant ids are text: they are opaque, case-sensitive strings.

CREATE TABLE IF NOT EXISTS sync_sessions (
    session_id          text PRIMARY KEY,
    sync_mode           text NOT NULL,
    time_per_cycle_ms   bigint,
    increment_ms        bigint NOT NULL DEFAULT 0,
    max_time_ms         bigint,
    action_on_timeout   text NOT NULL DEFAULT 'continue',
    home_region         text NOT NULL,
    created_at          timestamptz NOT NULL,
    started_at          timestamptz,
    completed_at        timestamptz,
    deleted_at          timestamptz,
    last_status         text NOT NULL,
    final_status        text,
    total_cycles        bigint NOT NULL DEFAULT 0,
    total_participants  integer NOT NULL DEFAULT 0,
    last_version        bigint NOT NULL,
    last_updated_at     timestamptz NOT NULL,
    metadata            jsonb NOT NULL DEFAULT '{}'
);

CREATE TABLE IF NOT EXISTS sync_events (
    -- "<home region>:<home sequence>:<index within the commit>", globally unique.
    event_id            text PRIMARY KEY,
    session_id          text NOT NULL,
    event_type          varchar(50) NOT NULL,
    participant_id      text,
    group_id            text,
    time_remaining_ms   bigint,
    time_elapsed_ms     bigint,
    cycle_number        bigint,
    version             bigint NOT NULL,
    seq                 bigint NOT NULL,
    event_index         integer NOT NULL,
    home_region         text NOT NULL,
    handled_region      text NOT NULL,
    occurred_at         timestamptz NOT NULL,
    recorded_at         timestamptz NOT NULL DEFAULT now(),
    state_snapshot      jsonb,
    metadata            jsonb NOT NULL DEFAULT '{}'
);

CREATE TABLE IF NOT EXISTS sync_participants (
    session_id            text NOT NULL,
    participant_id        text NOT NULL,
    participant_index     integer NOT NULL,
    total_time_ms         bigint NOT NULL,
    time_used_ms          bigint NOT NULL,
    group_id              text,
    total_cycles          bigint NOT NULL DEFAULT 0,
    has_expired           boolean NOT NULL DEFAULT false,
    last_version          bigint NOT NULL,
    added_at              timestamptz NOT NULL,
    last_active_at        timestamptz,
    PRIMARY KEY (session_id, participant_id)
);

-- History pages walk (session, home sequence, index) in either direction.
CREATE INDEX IF NOT EXISTS idx_sync_events_session_order
    ON sync_events (session_id, seq, event_index);
CREATE INDEX IF NOT EXISTS idx_sync_events_type ON sync_events (event_type);
CREATE INDEX IF NOT EXISTS idx_sync_events_occurred ON sync_events (occurred_at DESC);
CREATE INDEX IF NOT EXISTS idx_sync_events_participant
    ON sync_events (participant_id) WHERE participant_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS idx_sync_sessions_created ON sync_sessions (created_at DESC);
CREATE INDEX IF NOT EXISTS idx_sync_sessions_status
    ON sync_sessions (final_status) WHERE final_status IS NOT NULL;
CREATE INDEX IF NOT EXISTS idx_sync_sessions_mode ON sync_sessions (sync_mode);
CREATE INDEX IF NOT EXISTS idx_sync_participants_group
    ON sync_participants (group_id) WHERE group_id IS NOT NULL;
