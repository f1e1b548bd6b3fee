-- The oversight registers (issue 16): the designation (告示 date, services), the filings to the
-- ministry (the 情報取扱規程, the notification of a chief manager), the chief manager
-- (特定利用者情報統括管理者) appointments and the chief manager's opinions with the company's
-- responses. Every row is legal evidence: nothing is deleted or edited; corrections are new
-- rows. An appointment's one change is its end (`to_date`), set once; at most one appointment
-- is open (a partial unique index) and appointments never overlap (a trigger). Dates are
-- Asia/Tokyo civil dates `YYYY-MM-DD`; timestamps are microseconds.
-- Same tables and guards as PostgreSQL's `0014_oversight`.

CREATE TABLE oversight_designations (
    number       INTEGER PRIMARY KEY,
    notified_on  TEXT NOT NULL,
    services     TEXT NOT NULL,
    recorded_by  TEXT NOT NULL,
    recorded_at  INTEGER NOT NULL,
    audit_index  INTEGER NOT NULL
);

CREATE TABLE chief_manager_appointments (
    id           TEXT PRIMARY KEY,
    principal    TEXT NOT NULL,
    from_date    TEXT NOT NULL,
    to_date      TEXT CHECK (to_date IS NULL OR to_date >= from_date),
    evidence     TEXT,
    appointed_by TEXT NOT NULL,
    appointed_at INTEGER NOT NULL,
    audit_index  INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX chief_manager_appointments_from ON chief_manager_appointments (from_date);
-- Exactly one appointee at a time: at most one open appointment.
CREATE UNIQUE INDEX chief_manager_one_open ON chief_manager_appointments ((to_date IS NULL)) WHERE to_date IS NULL;

CREATE TABLE oversight_filings (
    number       INTEGER PRIMARY KEY,
    kind         TEXT NOT NULL CHECK (kind IN ('rules', 'manager_notification')),
    appointment  TEXT REFERENCES chief_manager_appointments (id),
    filed_on     TEXT NOT NULL,
    reference    TEXT NOT NULL,
    recorded_by  TEXT NOT NULL,
    recorded_at  INTEGER NOT NULL,
    audit_index  INTEGER NOT NULL,
    CHECK ((kind = 'manager_notification') = (appointment IS NOT NULL))
);
CREATE INDEX oversight_filings_appointment ON oversight_filings (appointment);

CREATE TABLE chief_manager_opinions (
    id           TEXT PRIMARY KEY,
    appointment  TEXT NOT NULL REFERENCES chief_manager_appointments (id),
    given_on     TEXT NOT NULL,
    subject      TEXT NOT NULL,
    text         TEXT NOT NULL,
    recorded_by  TEXT NOT NULL,
    recorded_at  INTEGER NOT NULL,
    audit_index  INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE chief_manager_opinion_responses (
    number       INTEGER PRIMARY KEY,
    opinion      TEXT NOT NULL REFERENCES chief_manager_opinions (id),
    responded_on TEXT NOT NULL,
    text         TEXT NOT NULL,
    recorded_by  TEXT NOT NULL,
    recorded_at  INTEGER NOT NULL,
    audit_index  INTEGER NOT NULL
);
CREATE INDEX chief_manager_opinion_responses_opinion ON chief_manager_opinion_responses (opinion, number);

CREATE TRIGGER chief_manager_no_overlap BEFORE INSERT ON chief_manager_appointments
WHEN EXISTS (SELECT 1 FROM chief_manager_appointments a
             WHERE a.from_date <= COALESCE(NEW.to_date, '9999-12-31')
               AND NEW.from_date <= COALESCE(a.to_date, '9999-12-31'))
BEGIN SELECT RAISE(ABORT, 'chief manager appointments never overlap'); END;
CREATE TRIGGER chief_manager_appointments_end_once BEFORE UPDATE ON chief_manager_appointments
WHEN OLD.to_date IS NOT NULL OR NEW.to_date IS NULL
    OR NEW.id IS NOT OLD.id OR NEW.principal IS NOT OLD.principal OR NEW.from_date IS NOT OLD.from_date
    OR NEW.evidence IS NOT OLD.evidence OR NEW.appointed_by IS NOT OLD.appointed_by
    OR NEW.appointed_at IS NOT OLD.appointed_at OR NEW.audit_index IS NOT OLD.audit_index
BEGIN SELECT RAISE(ABORT, 'an appointment is only ever ended, once'); END;
CREATE TRIGGER chief_manager_appointments_no_delete BEFORE DELETE ON chief_manager_appointments
BEGIN SELECT RAISE(ABORT, 'oversight records are append-only'); END;

CREATE TRIGGER oversight_designations_no_update BEFORE UPDATE ON oversight_designations
BEGIN SELECT RAISE(ABORT, 'oversight records are append-only'); END;
CREATE TRIGGER oversight_designations_no_delete BEFORE DELETE ON oversight_designations
BEGIN SELECT RAISE(ABORT, 'oversight records are append-only'); END;
CREATE TRIGGER oversight_filings_no_update BEFORE UPDATE ON oversight_filings
BEGIN SELECT RAISE(ABORT, 'oversight records are append-only'); END;
CREATE TRIGGER oversight_filings_no_delete BEFORE DELETE ON oversight_filings
BEGIN SELECT RAISE(ABORT, 'oversight records are append-only'); END;
CREATE TRIGGER chief_manager_opinions_no_update BEFORE UPDATE ON chief_manager_opinions
BEGIN SELECT RAISE(ABORT, 'oversight records are append-only'); END;
CREATE TRIGGER chief_manager_opinions_no_delete BEFORE DELETE ON chief_manager_opinions
BEGIN SELECT RAISE(ABORT, 'oversight records are append-only'); END;
CREATE TRIGGER chief_manager_opinion_responses_no_update BEFORE UPDATE ON chief_manager_opinion_responses
BEGIN SELECT RAISE(ABORT, 'oversight records are append-only'); END;
CREATE TRIGGER chief_manager_opinion_responses_no_delete BEFORE DELETE ON chief_manager_opinion_responses
BEGIN SELECT RAISE(ABORT, 'oversight records are append-only'); END;
