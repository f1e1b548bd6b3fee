//! The audit ledger on SQLite (filled in by the ledger work).
