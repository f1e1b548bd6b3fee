//! Conformance for the subscriber vault capability (filled in by the vault work).
