//! A fresh database per test on the local PostgreSQL (`host=127.0.0.1 port=5432
//! user=postgres dbname=test`, or the URL in `TOKUTEI_TEST_DATABASE_URL`), dropped with its
//! connections when the test ends, also when it fails.

use std::hash::{BuildHasher, Hasher};

use postgres::{Client, NoTls};
use tokutei_store_postgres::PgStore;

const DEFAULT_URL: &str = "host=127.0.0.1 port=5432 user=postgres dbname=test";

pub fn admin_url() -> String {
    std::env::var("TOKUTEI_TEST_DATABASE_URL").unwrap_or_else(|_| DEFAULT_URL.to_string())
}

/// `url` with its database replaced by `dbname` (URL or `key=value` form).
fn with_dbname(url: &str, dbname: &str) -> String {
    if let Some((scheme, rest)) = url.split_once("://") {
        let (rest, query) = match rest.split_once('?') {
            Some((r, q)) => (r, format!("?{q}")),
            None => (rest, String::new()),
        };
        let authority = rest.split('/').next().unwrap_or(rest);
        format!("{scheme}://{authority}/{dbname}{query}")
    } else {
        // In `key=value` form a later key wins.
        format!("{url} dbname={dbname}")
    }
}

fn random_hex() -> String {
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u32(std::process::id());
    hasher.write_u128(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos());
    format!("{:016x}", hasher.finish())
}

/// A database that exists for one test; dropped (with its connections) when this is.
pub struct TestDb {
    pub name: String,
    pub url: String,
}

impl TestDb {
    pub fn new() -> TestDb {
        let name = format!("tokutei_t_{}", random_hex());
        let mut admin = Client::connect(&admin_url(), NoTls).expect("connect to the test PostgreSQL server");
        admin.batch_execute(&format!("CREATE DATABASE {name}")).unwrap();
        TestDb { url: with_dbname(&admin_url(), &name), name }
    }

    pub fn store(&self) -> PgStore {
        PgStore::connect(&self.url).unwrap()
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        // Runs while unwinding too; a failure here must not turn into a second panic.
        if let Ok(mut admin) = Client::connect(&admin_url(), NoTls) {
            let _ = admin.batch_execute(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name));
        }
    }
}
