-- The alert outbox (issue 14): alerts waiting for delivery by webhook or e-mail, and the
-- delivery log of every attempt. An alert names the audit entry that enqueued it and carries
-- ids, codes, dates and the text to send — never a subscriber's personal data. The log is
-- append-only; an alert is never deleted, its identity and payload never change, and a
-- delivered alert is final. Timestamps are microseconds.
-- Same tables and guards as PostgreSQL's `0013_alerts`.

CREATE TABLE alerts (
    id               TEXT PRIMARY KEY,
    kind             TEXT NOT NULL,
    subject          TEXT NOT NULL,
    dedupe_key       TEXT NOT NULL UNIQUE,
    channel          TEXT NOT NULL CHECK (channel IN ('webhook', 'email')),
    recipient        TEXT NOT NULL,
    payload          TEXT NOT NULL,
    created_at       INTEGER NOT NULL,
    audit_index      INTEGER NOT NULL,
    state            TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'failed')),
    attempts         INTEGER NOT NULL CHECK (attempts >= 0),
    next_attempt_at  INTEGER NOT NULL,
    claimed_until    INTEGER,
    updated_at       INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX alerts_due ON alerts (state, next_attempt_at);
CREATE INDEX alerts_created ON alerts (created_at);

CREATE TABLE alert_deliveries (
    id               INTEGER PRIMARY KEY,
    alert            TEXT NOT NULL REFERENCES alerts (id),
    attempted_at     INTEGER NOT NULL,
    duration_ms      INTEGER NOT NULL CHECK (duration_ms >= 0),
    status           INTEGER,
    error            TEXT,
    result           TEXT NOT NULL CHECK (result IN ('delivered', 'retry', 'failed')),
    next_attempt_at  INTEGER,
    audit_index      INTEGER NOT NULL
);
CREATE INDEX alert_deliveries_alert ON alert_deliveries (alert, id);

CREATE TRIGGER alerts_no_delete BEFORE DELETE ON alerts
BEGIN SELECT RAISE(ABORT, 'alerts are never deleted'); END;
CREATE TRIGGER alerts_fixed BEFORE UPDATE OF id, kind, subject, dedupe_key, channel, recipient, payload,
    created_at, audit_index ON alerts
BEGIN SELECT RAISE(ABORT, 'an alert''s identity and payload never change'); END;
CREATE TRIGGER alerts_delivered_final BEFORE UPDATE ON alerts
WHEN OLD.state = 'delivered'
BEGIN SELECT RAISE(ABORT, 'a delivered alert is final'); END;
CREATE TRIGGER alert_deliveries_no_update BEFORE UPDATE ON alert_deliveries
BEGIN SELECT RAISE(ABORT, 'the delivery log is append-only'); END;
CREATE TRIGGER alert_deliveries_no_delete BEFORE DELETE ON alert_deliveries
BEGIN SELECT RAISE(ABORT, 'the delivery log is append-only'); END;
