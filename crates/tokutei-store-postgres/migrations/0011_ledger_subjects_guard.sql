-- Same name as SQLite's `0011_ledger_subjects_guard`, which adds the append-only guards
-- this backend's subscriber index already has (`0002`, `0007`). Here it adds what both
-- need for `tokutei audit verify` to compare each entry's subscriber rows with the entry:
-- an index by entry (on the partitioned table, so every monthly partition, present and to
-- come, gets it; the lookup is joined on time as well, which keeps it to one partition).
CREATE INDEX IF NOT EXISTS ledger_subjects_entry ON ledger_subjects (idx, time);
