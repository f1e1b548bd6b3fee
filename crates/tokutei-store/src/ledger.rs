//! The audit ledger capability (filled in by the ledger work).
