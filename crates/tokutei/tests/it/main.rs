//! End-to-end tests of the `tokutei` binary: one test binary (one link step), one module per
//! area. Each test gets its own temporary data directory through [`util::TestEnv`].

mod access;
mod admin;
mod alerts;
mod audit;
mod auth;
mod csv_fuzz;
mod exports;
mod incidents;
mod incidents_api;
mod migrate;
mod moving;
mod oversight;
mod oversight_api;
mod policy;
mod portal;
mod postgres;
mod requests;
mod schemathesis;
mod serve;
mod util;
mod vault;
mod witness;
mod zones;
