//! Import of a published policy text (placeholder; filled in below).
