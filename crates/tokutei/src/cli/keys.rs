//! `tokutei keys …`: key-encryption key rotation and retirement — the application layer's
//! audited actions (`tokutei_app::keys`), named for the person acting with `--by` — and the
//! listing of each key and what it wraps.

use clap::Subcommand;
use tokutei_app::Acting;

use crate::audit_log::AuditLog;
use crate::cli::GlobalArgs;
use crate::keyring::Keyring;
use crate::output::Report;

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Create a new key-encryption key and re-wrap every data key with it (audited first).
    Rotate {
        /// Who rotates: a chief manager or responsible person of the staff registry.
        #[arg(long, value_name = "STAFF_ID")]
        by: String,
    },
    /// List key-encryption keys and how many data keys each wraps.
    List,
    /// Delete a key-encryption key that no data key uses any more (audited first).
    Retire {
        /// The key id.
        id: String,
        /// Who retires it: a chief manager or responsible person of the staff registry.
        #[arg(long, value_name = "STAFF_ID")]
        by: String,
    },
}

pub fn run(global: &GlobalArgs, cmd: KeysCommand) -> anyhow::Result<Report> {
    let data = global.data_dir();
    let store = data.open_store()?;
    let audit = AuditLog::open_with_store(&data, &store)?;
    let app = crate::access::open_service(&data, &store, &audit)?;
    let now = jiff::Timestamp::now();
    match cmd {
        KeysCommand::Rotate { by } => {
            let mut keyring = Keyring::open_or_create(&data)?;
            let rotated = app.rotate_keys(&Acting::Person(by), &mut keyring, now)?;
            Ok(Report::new(
                format!(
                    "new key-encryption key `{}` is active; re-wrapped {} data keys and {} TOTP secrets' keys\n",
                    rotated.kek_id, rotated.data_keys, rotated.totp_keys
                ),
                serde_json::json!({
                    "id": rotated.kek_id, "previous": rotated.previous, "rewrapped": rotated.data_keys,
                    "rewrapped_totp": rotated.totp_keys, "audit_index": rotated.audit_index,
                }),
            ))
        }
        KeysCommand::List => {
            let rows = app.key_usage(&Keyring::open(&data)?)?;
            let mut human = String::from("key-encryption keys:\n");
            for r in &rows {
                human.push_str(&format!(
                    "  {:<24} {:>10} data keys {:>4} TOTP secrets{}{}\n",
                    r.id,
                    r.data_keys,
                    r.totp_secrets,
                    if r.active { "  (active)" } else { "" },
                    if r.key_file { "" } else { "  MISSING KEY FILE" }
                ));
            }
            let ok = rows.iter().all(|r| r.key_file);
            Ok(Report::new(human, rows).passed_if(ok))
        }
        KeysCommand::Retire { id, by } => {
            let mut keyring = Keyring::open(&data)?;
            let retired = app.retire_key(&Acting::Person(by), &mut keyring, &id, now)?;
            Ok(Report::new(
                format!("retired key-encryption key `{}`\n", retired.kek_id),
                serde_json::json!({ "id": retired.kek_id, "audit_index": retired.audit_index }),
            ))
        }
    }
}
