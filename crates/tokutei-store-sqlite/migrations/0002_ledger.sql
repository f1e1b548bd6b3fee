-- The audit ledger (see docs/design/audit-log.md).
--
-- ledger_entries: one row per sequenced entry; `body` is the canonical encoding that is
-- hashed into the Merkle tree, `leaf` its leaf hash (the level-0 node). The other columns
-- are copies of body fields for indexed queries; `tokutei audit verify` never trusts them.
CREATE TABLE ledger_entries (
    idx       INTEGER PRIMARY KEY,
    time      INTEGER NOT NULL,      -- microseconds since the Unix epoch, UTC
    staff     TEXT,                  -- the acting staff id (NULL for systems)
    purpose   TEXT,                  -- access entries only
    decision  INTEGER,               -- 1 allow, 2 deny; access entries only
    body      BLOB NOT NULL,
    leaf      BLOB NOT NULL
);
CREATE INDEX ledger_entries_staff ON ledger_entries (staff, idx) WHERE staff IS NOT NULL;
CREATE INDEX ledger_entries_purpose ON ledger_entries (purpose, idx) WHERE purpose IS NOT NULL;
CREATE INDEX ledger_entries_decision ON ledger_entries (decision, idx) WHERE decision IS NOT NULL;
CREATE INDEX ledger_entries_time ON ledger_entries (time);

-- Which entries name which subscriber (an access entry may name several).
CREATE TABLE ledger_subjects (
    subscriber  TEXT NOT NULL,
    idx         INTEGER NOT NULL,
    PRIMARY KEY (subscriber, idx)
) WITHOUT ROWID;

-- Interior nodes: the hash of every complete, aligned subtree of 2^level leaves starting at
-- leaf idx << level (level >= 1; level 0 is ledger_entries.leaf). Written in the same
-- transaction as the entries they cover.
CREATE TABLE ledger_nodes (
    level  INTEGER NOT NULL,
    idx    INTEGER NOT NULL,
    hash   BLOB NOT NULL,
    PRIMARY KEY (level, idx)
) WITHOUT ROWID;

-- Signed checkpoints (C2SP signed notes), in the order written.
CREATE TABLE ledger_checkpoints (
    id          INTEGER PRIMARY KEY,
    size        INTEGER NOT NULL,
    note        TEXT NOT NULL,
    created_at  TEXT NOT NULL
);

-- The ledger is append-only.
CREATE TRIGGER ledger_entries_no_update BEFORE UPDATE ON ledger_entries
BEGIN SELECT RAISE(ABORT, 'the audit ledger is append-only'); END;
CREATE TRIGGER ledger_entries_no_delete BEFORE DELETE ON ledger_entries
BEGIN SELECT RAISE(ABORT, 'the audit ledger is append-only'); END;
CREATE TRIGGER ledger_nodes_no_update BEFORE UPDATE ON ledger_nodes
BEGIN SELECT RAISE(ABORT, 'the audit ledger is append-only'); END;
CREATE TRIGGER ledger_nodes_no_delete BEFORE DELETE ON ledger_nodes
BEGIN SELECT RAISE(ABORT, 'the audit ledger is append-only'); END;
CREATE TRIGGER ledger_checkpoints_no_update BEFORE UPDATE ON ledger_checkpoints
BEGIN SELECT RAISE(ABORT, 'the audit ledger is append-only'); END;
CREATE TRIGGER ledger_checkpoints_no_delete BEFORE DELETE ON ledger_checkpoints
BEGIN SELECT RAISE(ABORT, 'the audit ledger is append-only'); END;
