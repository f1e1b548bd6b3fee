//! The subscriber vault on SQLite (filled in by the vault work).
