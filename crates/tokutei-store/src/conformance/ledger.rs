//! Conformance for the audit ledger capability (filled in by the ledger work).
