-- The audit ledger partitioned by time (issue #7 §3; the store is `src/ledger.rs`, the
-- reasoning is in docs/scaling.md).
--
-- ledger_entries and ledger_subjects become declaratively partitioned by RANGE (time), one
-- partition per calendar month in Japan time (UTC+9, fixed: Japan has kept no daylight saving
-- time since 1951, so bounds never depend on a time zone database). Monthly, because at a
-- billion entries a year a month is ~80 million rows (tens of GB with indexes): small enough
-- to vacuum, index and archive one at a time, large enough that ten years of keeping are
-- 120 partitions, few enough for the planner; a fiscal-year or one-year query reads 12.
--
-- Partitions are named `ledger_entries_pYYYYMM` / `ledger_subjects_pYYYYMM` and are created
-- by `tokutei_ledger_partition(time)`, which the ledger's sequencer calls before writing a
-- batch whose month it has not seen yet: it makes sure that month and the next one exist,
-- so a partition is normally in place a month before it is needed and an append never fails
-- for lack of one. There is no DEFAULT partition: rows parked there would block creating
-- their month's partition later, and the ledger could not move them (it is append-only).
--
-- Uniqueness of idx: a unique index on a partitioned table must contain the partition key,
-- so (idx, time) is the primary key and does not by itself stop an index appearing twice in
-- two months. Indexes are handed out by the sequencer under a transaction-level advisory lock
-- (contiguous from the stored size); in addition every group commit records its run of
-- indexes in ledger_batches, whose exclusion constraint refuses two overlapping runs, so an
-- index can never be stored twice even by a writer that skips the lock.

-- The Japan-time month holding `at_time` (microseconds since the epoch, UTC): its bounds in
-- the same unit (lo inclusive, hi exclusive) and its name suffix `pYYYYMM`. Integer
-- arithmetic only: no rounding can move an instant across a bound.
CREATE FUNCTION tokutei_ledger_month(at_time BIGINT, OUT lo BIGINT, OUT hi BIGINT, OUT suffix TEXT)
LANGUAGE plpgsql IMMUTABLE STRICT AS $$
DECLARE
    local_second BIGINT := (at_time - (((at_time % 1000000) + 1000000) % 1000000)) / 1000000 + 32400;
    month TIMESTAMP := date_trunc('month', to_timestamp(local_second) AT TIME ZONE 'UTC');
BEGIN
    lo := (extract(epoch FROM month)::BIGINT - 32400) * 1000000;
    hi := (extract(epoch FROM month + INTERVAL '1 month')::BIGINT - 32400) * 1000000;
    suffix := 'p' || to_char(month, 'YYYYMM');
END;
$$;

-- Make sure the partitions of the month holding `at_time` and of the next month exist, on
-- both tables, each with the append-only triggers; returns the bounds of `at_time`'s month.
-- Creators take turns on the parents' SHARE UPDATE EXCLUSIVE lock (which appends and reads
-- do not conflict with); a partition is made empty and then attached, which never needs the
-- ACCESS EXCLUSIVE lock on the parent that `CREATE TABLE … PARTITION OF` takes.
CREATE FUNCTION tokutei_ledger_partition(at_time BIGINT, OUT lo BIGINT, OUT hi BIGINT)
LANGUAGE plpgsql AS $$
DECLARE
    month RECORD;
    parent TEXT;
    part TEXT;
BEGIN
    LOCK TABLE ledger_entries, ledger_subjects IN SHARE UPDATE EXCLUSIVE MODE;
    SELECT m.lo, m.hi INTO lo, hi FROM tokutei_ledger_month(at_time) m;
    FOR month IN SELECT * FROM tokutei_ledger_month(at_time)
                 UNION ALL SELECT n.* FROM tokutei_ledger_month(at_time) m, tokutei_ledger_month(m.hi) n
    LOOP
        FOREACH parent IN ARRAY ARRAY['ledger_entries', 'ledger_subjects'] LOOP
            part := parent || '_' || month.suffix;
            CONTINUE WHEN to_regclass(part) IS NOT NULL;
            EXECUTE format('CREATE TABLE %I (LIKE %I INCLUDING DEFAULTS INCLUDING CONSTRAINTS)', part, parent);
            EXECUTE format('ALTER TABLE %I ATTACH PARTITION %I FOR VALUES FROM (%s) TO (%s)',
                           parent, part, month.lo, month.hi);
            -- Row triggers are cloned from the parent; statement triggers are not.
            EXECUTE format('CREATE TRIGGER %I BEFORE TRUNCATE ON %I FOR EACH STATEMENT '
                           'EXECUTE FUNCTION tokutei_refuse(%L)',
                           part || '_no_truncate', part, 'the audit ledger is append-only');
        END LOOP;
    END LOOP;
END;
$$;

-- The tables as 0002 made them give way to partitioned ones with the same columns
-- (ledger_subjects gains the entry's time, its partition key); rows are copied over.
ALTER TABLE ledger_entries RENAME TO ledger_entries_0002;
ALTER INDEX ledger_entries_pkey RENAME TO ledger_entries_0002_pkey;
ALTER INDEX ledger_entries_staff RENAME TO ledger_entries_0002_staff;
ALTER INDEX ledger_entries_purpose RENAME TO ledger_entries_0002_purpose;
ALTER INDEX ledger_entries_decision RENAME TO ledger_entries_0002_decision;
ALTER INDEX ledger_entries_time RENAME TO ledger_entries_0002_time;
ALTER TABLE ledger_subjects RENAME TO ledger_subjects_0002;
ALTER INDEX ledger_subjects_pkey RENAME TO ledger_subjects_0002_pkey;

CREATE TABLE ledger_entries (
    idx       BIGINT NOT NULL,
    time      BIGINT NOT NULL,       -- microseconds since the Unix epoch, UTC
    staff     TEXT COLLATE "C",      -- the acting staff id (NULL for systems)
    purpose   TEXT COLLATE "C",      -- access entries only
    decision  BIGINT,                -- 1 allow, 2 deny; access entries only
    body      BYTEA NOT NULL,
    leaf      BYTEA NOT NULL,
    PRIMARY KEY (idx, time)          -- lookups by idx; see ledger_batches for uniqueness
) PARTITION BY RANGE (time);
-- (column, idx): each partition's index returns its rows in index order, so a query merges
-- the partitions it keeps instead of sorting.
CREATE INDEX ledger_entries_staff ON ledger_entries (staff, idx) WHERE staff IS NOT NULL;
CREATE INDEX ledger_entries_purpose ON ledger_entries (purpose, idx) WHERE purpose IS NOT NULL;
CREATE INDEX ledger_entries_decision ON ledger_entries (decision, idx) WHERE decision IS NOT NULL;
CREATE INDEX ledger_entries_time ON ledger_entries (time);

-- Which entries name which subscriber (an access entry may name several), with the entry's
-- time so that one subscriber's entries over a period read only that period's partitions.
CREATE TABLE ledger_subjects (
    subscriber  TEXT COLLATE "C" NOT NULL,
    idx         BIGINT NOT NULL,
    time        BIGINT NOT NULL,
    PRIMARY KEY (subscriber, idx, time)
) PARTITION BY RANGE (time);

-- One row per group commit: the run of indexes [first_idx, first_idx + size) it stored and
-- the earliest and latest entry time in it. It is where the ledger's size is read (one index
-- probe instead of one per partition), how a lookup by index finds the partitions to read
-- (entries carry their own times, so a run can span a month boundary), and, through the
-- exclusion constraint, what makes every index unique across partitions.
CREATE TABLE ledger_batches (
    first_idx  BIGINT PRIMARY KEY CHECK (first_idx >= 0),
    size       BIGINT NOT NULL CHECK (size > 0),
    min_time   BIGINT NOT NULL,
    max_time   BIGINT NOT NULL CHECK (max_time >= min_time),
    EXCLUDE USING gist (int8range(first_idx, first_idx + size) WITH &&)
);

-- The ledger is append-only: on the parents (row triggers reach every partition, present
-- and future) and, for TRUNCATE, on every partition too (tokutei_ledger_partition).
CREATE TRIGGER ledger_entries_no_update BEFORE UPDATE ON ledger_entries
FOR EACH ROW EXECUTE FUNCTION tokutei_refuse('the audit ledger is append-only');
CREATE TRIGGER ledger_entries_no_delete BEFORE DELETE ON ledger_entries
FOR EACH ROW EXECUTE FUNCTION tokutei_refuse('the audit ledger is append-only');
CREATE TRIGGER ledger_entries_no_truncate BEFORE TRUNCATE ON ledger_entries
FOR EACH STATEMENT EXECUTE FUNCTION tokutei_refuse('the audit ledger is append-only');
CREATE TRIGGER ledger_subjects_no_update BEFORE UPDATE ON ledger_subjects
FOR EACH ROW EXECUTE FUNCTION tokutei_refuse('the audit ledger is append-only');
CREATE TRIGGER ledger_subjects_no_delete BEFORE DELETE ON ledger_subjects
FOR EACH ROW EXECUTE FUNCTION tokutei_refuse('the audit ledger is append-only');
CREATE TRIGGER ledger_subjects_no_truncate BEFORE TRUNCATE ON ledger_subjects
FOR EACH STATEMENT EXECUTE FUNCTION tokutei_refuse('the audit ledger is append-only');
CREATE TRIGGER ledger_batches_no_update BEFORE UPDATE ON ledger_batches
FOR EACH ROW EXECUTE FUNCTION tokutei_refuse('the audit ledger is append-only');
CREATE TRIGGER ledger_batches_no_delete BEFORE DELETE ON ledger_batches
FOR EACH ROW EXECUTE FUNCTION tokutei_refuse('the audit ledger is append-only');
CREATE TRIGGER ledger_batches_no_truncate BEFORE TRUNCATE ON ledger_batches
FOR EACH STATEMENT EXECUTE FUNCTION tokutei_refuse('the audit ledger is append-only');

-- Existing rows: partitions for every month that has entries, then the rows, then runs of
-- up to 4096 indexes for ledger_batches (the entries of one run may span months).
SELECT tokutei_ledger_partition(t.time)
FROM (SELECT DISTINCT ON (m.lo) e.time FROM ledger_entries_0002 e, tokutei_ledger_month(e.time) m) t;
INSERT INTO ledger_entries (idx, time, staff, purpose, decision, body, leaf)
SELECT idx, time, staff, purpose, decision, body, leaf FROM ledger_entries_0002;
INSERT INTO ledger_subjects (subscriber, idx, time)
SELECT s.subscriber, s.idx, e.time FROM ledger_subjects_0002 s JOIN ledger_entries_0002 e USING (idx);
INSERT INTO ledger_batches (first_idx, size, min_time, max_time)
SELECT MIN(idx), MAX(idx) - MIN(idx) + 1, MIN(time), MAX(time) FROM ledger_entries_0002 GROUP BY idx / 4096;

DROP TABLE ledger_entries_0002;
DROP TABLE ledger_subjects_0002;
