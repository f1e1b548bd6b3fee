//! The subscriber vault capability (filled in by the vault work).
