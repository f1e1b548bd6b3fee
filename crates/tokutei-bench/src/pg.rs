//! PostgreSQL for the bench: fresh databases on the local server (created for a row and
//! dropped afterwards, also when the row fails), gateway instances over `PgStore` + `PgLedger`,
//! and the "what users do today" baseline: a plaintext subscriber table behind row-level
//! security by role and purpose (`current_setting('app.purpose')`), read through a function
//! that inserts one audit row per read.
//!
//! The server is `host=127.0.0.1 port=5432 user=postgres dbname=test` (trust), or the
//! connection string in `TOKUTEI_BENCH_DATABASE_URL` (`key=value` form).

use std::sync::Arc;

use anyhow::Context as _;
use postgres::{Client, NoTls};
use tokutei_app::App;
use tokutei_store_postgres::{PgLedger, PgStore};

use crate::fixture::{self, CATEGORIES, Keys};

const DEFAULT_URL: &str = "host=127.0.0.1 port=5432 user=postgres dbname=test";

fn admin_url() -> String {
    std::env::var("TOKUTEI_BENCH_DATABASE_URL").unwrap_or_else(|_| DEFAULT_URL.to_string())
}

fn admin() -> anyhow::Result<Client> {
    let url = admin_url();
    Client::connect(&url, NoTls)
        .with_context(|| format!("cannot reach PostgreSQL at `{url}` (start it, or set TOKUTEI_BENCH_DATABASE_URL)"))
}

/// A database that exists while this value does.
pub struct TempDb {
    pub name: String,
    pub url: String,
}

impl TempDb {
    pub fn create(purpose: &str) -> anyhow::Result<TempDb> {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.subsec_nanos();
        let name = format!("tokutei_bench_{purpose}_{}_{nanos}", std::process::id());
        admin()?.batch_execute(&format!("CREATE DATABASE {name}"))?;
        // In `key=value` form a later key wins.
        Ok(TempDb { url: format!("{} dbname={name}", admin_url()), name })
    }
}

impl Drop for TempDb {
    fn drop(&mut self) {
        if let Ok(mut admin) = admin() {
            let _ = admin.batch_execute(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name));
        }
    }
}

/// The shared data set in `db` (policy, subscribers, principal) and the keys that sealed it.
pub fn populate(db: &TempDb, subscribers: usize) -> anyhow::Result<(Arc<Keys>, Vec<String>)> {
    let store = PgStore::connect(&db.url)?;
    let (keys, ids) = fixture::populate(&store, subscribers)?;
    Ok((Arc::new(keys), ids))
}

/// One gateway instance: its own connection pool and its own ledger sequencer.
pub fn instance(db: &TempDb, keys: &Arc<Keys>) -> anyhow::Result<App> {
    let store = Arc::new(PgStore::connect(&db.url)?);
    let ledger = Arc::new(PgLedger::open(Arc::clone(&store))?);
    Ok(App::new(store, ledger, Arc::clone(keys) as _, fixture::deployment(), Vec::new()))
}

/// The row-level-security baseline: its own database, with a role that the clients switch to.
pub struct RlsBaseline {
    db: TempDb,
    role: String,
}

impl RlsBaseline {
    /// Create the tables, policy and audited read function, and store `ids` × the categories
    /// in plaintext.
    pub fn create(ids: &[String]) -> anyhow::Result<RlsBaseline> {
        let db = TempDb::create("rls")?;
        let role = format!("{}_reader", db.name);
        admin()?.batch_execute(&format!("CREATE ROLE {role} NOLOGIN"))?;
        let baseline = RlsBaseline { db, role };
        let role = &baseline.role;
        let mut client = Client::connect(&baseline.db.url, NoTls)?;
        client.batch_execute(&format!(
            "CREATE TABLE subscriber_values (
                 subscriber text NOT NULL, category text NOT NULL, service text NOT NULL, value text NOT NULL,
                 PRIMARY KEY (subscriber, category));
             CREATE TABLE purpose_grants (
                 role name NOT NULL, purpose text NOT NULL, service text NOT NULL, category text NOT NULL,
                 PRIMARY KEY (role, purpose, service, category));
             CREATE TABLE access_audit (
                 id bigserial PRIMARY KEY, at timestamptz NOT NULL DEFAULT now(), actor name NOT NULL,
                 purpose text NOT NULL, subscriber text NOT NULL, categories text[] NOT NULL);
             ALTER TABLE subscriber_values ENABLE ROW LEVEL SECURITY;
             ALTER TABLE subscriber_values FORCE ROW LEVEL SECURITY;
             CREATE POLICY by_role_and_purpose ON subscriber_values FOR SELECT USING (
                 EXISTS (SELECT 1 FROM purpose_grants g
                         WHERE g.role = current_user AND g.purpose = current_setting('app.purpose', true)
                           AND g.service = subscriber_values.service AND g.category = subscriber_values.category));
             CREATE FUNCTION audited_read(sub text, cats text[]) RETURNS TABLE (category text, value text)
             LANGUAGE plpgsql AS $$
             BEGIN
                 INSERT INTO access_audit (actor, purpose, subscriber, categories)
                 VALUES (current_user, current_setting('app.purpose'), sub, cats);
                 RETURN QUERY SELECT v.category, v.value FROM subscriber_values v
                              WHERE v.subscriber = sub AND v.category = ANY (cats);
             END $$;
             GRANT SELECT ON subscriber_values, purpose_grants TO {role};
             GRANT INSERT ON access_audit TO {role};
             GRANT USAGE ON SEQUENCE access_audit_id_seq TO {role};"
        ))?;
        for purpose in ["support", "billing"] {
            for category in CATEGORIES {
                client.execute(
                    "INSERT INTO purpose_grants VALUES ($1, $2, 'fiber', $3)",
                    &[&role.as_str(), &purpose, &category],
                )?;
            }
        }
        let mut tx = client.transaction()?;
        let insert = tx.prepare("INSERT INTO subscriber_values VALUES ($1, $2, 'fiber', $3)")?;
        for id in ids {
            for category in CATEGORIES {
                tx.execute(&insert, &[id, &category, &fixture::plaintext(id, category)])?;
            }
        }
        tx.commit()?;
        client.batch_execute("ANALYZE")?;
        baseline.check(&ids[0])?;
        Ok(baseline)
    }

    /// A client as the application holds it: switched to the reader role, purpose set.
    pub fn client(&self, purpose: &str) -> anyhow::Result<Client> {
        let mut client = Client::connect(&self.db.url, NoTls)?;
        client.batch_execute(&format!("SET ROLE {}; SET app.purpose = '{purpose}'", self.role))?;
        Ok(client)
    }

    /// One audited read of `id`'s three categories; the number of rows returned.
    pub fn read(client: &mut Client, statement: &postgres::Statement, id: &str) -> anyhow::Result<usize> {
        let categories: Vec<&str> = CATEGORIES.to_vec();
        Ok(client.query(statement, &[&id, &categories])?.len())
    }

    pub const READ: &str = "SELECT category, value FROM audited_read($1, $2)";

    /// The policy is really enforced: a granted purpose sees the rows, another sees none, and
    /// both reads are audited.
    fn check(&self, id: &str) -> anyhow::Result<()> {
        let mut support = self.client("support")?;
        let statement = support.prepare(Self::READ)?;
        anyhow::ensure!(Self::read(&mut support, &statement, id)? == 3, "the RLS baseline hides granted rows");
        let mut marketing = self.client("marketing")?;
        let statement = marketing.prepare(Self::READ)?;
        anyhow::ensure!(
            Self::read(&mut marketing, &statement, id)? == 0,
            "the RLS baseline shows rows to a purpose without a grant"
        );
        let mut admin = Client::connect(&self.db.url, NoTls)?;
        let audited: i64 = admin.query_one("SELECT count(*) FROM access_audit", &[])?.get(0);
        anyhow::ensure!(audited == 2, "the RLS baseline did not audit its reads");
        Ok(())
    }

    /// Rows in the audit table.
    pub fn audited(&self) -> anyhow::Result<i64> {
        let mut admin = Client::connect(&self.db.url, NoTls)?;
        Ok(admin.query_one("SELECT count(*) FROM access_audit", &[])?.get(0))
    }
}

impl Drop for RlsBaseline {
    fn drop(&mut self) {
        if let Ok(mut admin) = admin() {
            let _ = admin.batch_execute(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.db.name));
            let _ = admin.batch_execute(&format!("DROP ROLE IF EXISTS {}", self.role));
        }
    }
}
