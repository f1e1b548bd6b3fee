//! Console sign-in as the binary runs it: TOTP secrets sealed at rest (also the ones an older
//! tokutei stored in clear, sealed when `serve` starts), kept readable through a key rotation
//! and the retirement of the old key, and a password reset by a manager that ends every
//! session of the person.

use crate::util::{TestEnv, exchange, start};

/// The one-time password and the raw TOTP secret `init` printed for `chief`.
pub(crate) fn chief_of(init: &str) -> (String, Vec<u8>) {
    let field = |name: &str| {
        init.lines()
            .find_map(|l| l.trim().strip_prefix(name))
            .unwrap_or_else(|| panic!("`{name}` in:\n{init}"))
            .trim()
            .to_string()
    };
    let password = field("one-time password:");
    let secret = totp_rs::Secret::Encoded(field("authenticator (TOTP) secret:")).to_bytes().unwrap();
    (password, secret)
}

fn db(env: &TestEnv) -> rusqlite::Connection {
    rusqlite::Connection::open(env.data().join("tokutei.sqlite3")).unwrap()
}

/// `(totp_secret, totp_sealed)` of `principal`'s row.
type TotpColumns = (Option<Vec<u8>>, Option<Vec<u8>>);

fn totp_columns(env: &TestEnv, principal: &str) -> TotpColumns {
    db(env)
        .query_row("SELECT totp_secret, totp_sealed FROM auth_credentials WHERE principal = ?1", [principal], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap()
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

pub(crate) fn code(secret: &[u8]) -> String {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    totp_rs::TOTP::new(totp_rs::Algorithm::SHA1, 6, 1, 30, secret.to_vec(), None, "x".into()).unwrap().generate(now)
}

pub(crate) fn percent(text: &str) -> String {
    text.bytes().map(|b| format!("%{b:02X}")).collect()
}

/// The value of `Set-Cookie: name=…` in a response head.
pub(crate) fn set_cookie(head: &str, name: &str) -> Option<String> {
    head.lines()
        .filter_map(|l| l.split_once(':'))
        .filter(|(k, _)| k.eq_ignore_ascii_case("set-cookie"))
        .map(|(_, v)| v.trim().split(';').next().unwrap().to_string())
        .find(|c| c.starts_with(&format!("{name}=")))
}

pub(crate) fn location(head: &str) -> Option<String> {
    head.lines()
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.eq_ignore_ascii_case("location"))
        .map(|(_, v)| v.trim().to_string())
}

/// Sign in over HTTP: (status, where to, the session cookie).
pub(crate) fn sign_in(addr: &str, id: &str, password: &str, code: &str) -> (u16, Option<String>, Option<String>) {
    let (_, head, _) =
        exchange(addr, &format!("GET /admin/login HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"));
    let csrf_cookie = set_cookie(&head, "tokutei_login_csrf").expect("the sign-in form's cookie");
    let csrf = csrf_cookie.split_once('=').unwrap().1;
    let body = format!("csrf={csrf}&id={id}&password={}&totp={code}", percent(password));
    let (status, head, _) = exchange(
        addr,
        &format!(
            "POST /admin/login HTTP/1.1\r\nHost: {addr}\r\nCookie: {csrf_cookie}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ),
    );
    (status, location(&head), set_cookie(&head, "tokutei_session"))
}

/// GET `path` with a cookie: (status, where to).
pub(crate) fn get_with(addr: &str, path: &str, cookie: &str) -> (u16, Option<String>) {
    let (status, head, _) = exchange(
        addr,
        &format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nCookie: {cookie}\r\nConnection: close\r\n\r\n"),
    );
    (status, location(&head))
}

#[test]
fn totp_secrets_are_stored_sealed_never_in_clear() {
    let env = TestEnv::new();
    let policy = format!("{}/tests/it/fixtures/vault-policy.toml", env!("CARGO_MANIFEST_DIR"));
    let init = env.run(&["init", "--policy", &policy]);
    init.assert_code(0);
    let (_, chief_secret) = chief_of(&init.stdout);
    env.run(&["staff", "add", "--by", "chief", "audit-1", "--name", "監査 一郎", "--role", "auditor"]).assert_code(0);
    env.run(&["staff", "password", "--by", "chief", "audit-1"]).assert_code(0);
    let enrolled = env.run(&["--json", "staff", "totp", "--by", "chief", "audit-1"]);
    enrolled.assert_code(0);
    let auditor_secret =
        totp_rs::Secret::Encoded(enrolled.json()["secret"].as_str().unwrap().to_string()).to_bytes().unwrap();
    // Read the rows as an attacker with a copy of the database would: no raw secret anywhere.
    for (principal, secret) in [("chief", &chief_secret), ("audit-1", &auditor_secret)] {
        let (clear, sealed) = totp_columns(&env, principal);
        assert_eq!(clear, None, "{principal}: the clear column is empty");
        let sealed = sealed.expect("a sealed secret");
        assert!(!contains(&sealed, secret), "{principal}: the sealed bytes do not hold the secret");
        let file = std::fs::read(env.data().join("tokutei.sqlite3")).unwrap();
        assert!(!contains(&file, secret), "{principal}: nor does the database file");
    }
    // Enrolling needs a password first, and a person.
    env.run(&["staff", "add", "--by", "chief", "ops", "--name", "運用", "--system", "ops"]).assert_code(0);
    let system = env.run(&["staff", "totp", "--by", "chief", "ops"]);
    system.assert_code(2);
    assert!(system.stderr.contains("is a system"), "{}", system.stderr);
    env.run(&["staff", "add", "--by", "chief", "audit-2", "--name", "監査 二郎", "--role", "auditor"]).assert_code(0);
    let no_password = env.run(&["staff", "totp", "--by", "chief", "audit-2"]);
    no_password.assert_code(2);
    assert!(no_password.stderr.contains("has no password yet"), "{}", no_password.stderr);
}

#[test]
fn a_clear_totp_secret_from_an_older_tokutei_is_sealed_when_serve_starts() {
    let env = TestEnv::new();
    let init = env.run(&["init"]);
    init.assert_code(0);
    let (password, secret) = chief_of(&init.stdout);
    // The row as tokutei before migration 0010 left it: the raw secret, nothing sealed.
    db(&env)
        .execute(
            "UPDATE auth_credentials SET totp_secret = ?1, totp_kek_id = NULL, totp_wrapped_key = NULL,
                 totp_sealed = NULL, totp_last_step = NULL WHERE principal = 'chief'",
            [&secret],
        )
        .unwrap();
    assert_eq!(totp_columns(&env, "chief").0.as_deref(), Some(secret.as_slice()));
    let server = start(&env, &["serve", "--listen", "127.0.0.1:0"]);
    let (clear, sealed) = totp_columns(&env, "chief");
    assert_eq!(clear, None, "sealed before the server answered anything");
    assert!(sealed.is_some_and(|s| !contains(&s, &secret)));
    // Audited: one `staff_changed` entry for the chief, `totp_sealed`.
    let audit = env.run(&["--json", "audit", "query"]);
    let sealed_entries =
        audit.json().as_array().unwrap().iter().filter(|e| e.to_string().contains("totp_sealed")).count();
    assert_eq!(sealed_entries, 1, "{}", audit.stdout);
    // The chief still signs in with the authenticator app as before.
    let (status, to, cookie) = sign_in(&server.addr, "chief", &password, &code(&secret));
    assert_eq!((status, to.as_deref()), (303, Some("/admin/password")), "the one-time password must be changed");
    assert!(cookie.is_some());
    // A second start finds nothing left to seal.
    drop(server);
    let again = start(&env, &["serve", "--listen", "127.0.0.1:0"]);
    drop(again);
    assert_eq!(totp_columns(&env, "chief").0, None);
}

#[test]
fn a_key_rotation_keeps_totp_working_and_a_reset_ends_every_session() {
    let env = TestEnv::new();
    let init = env.run(&["init"]);
    init.assert_code(0);
    let (password, secret) = chief_of(&init.stdout);
    let old = env.run(&["--json", "keys", "list"]).json()[0]["id"].as_str().unwrap().to_string();
    let rotated = env.run(&["--json", "keys", "rotate", "--by", "chief"]);
    rotated.assert_code(0);
    assert_eq!(rotated.json()["rewrapped_totp"], 1, "{}", rotated.stdout);
    // The old KEK wraps nothing any more and can go; the chief's secret does not go with it.
    env.run(&["keys", "retire", "--by", "chief", &old]).assert_code(0);

    let server = start(&env, &["serve", "--listen", "127.0.0.1:0"]);
    let (status, to, cookie) = sign_in(&server.addr, "chief", &password, &code(&secret));
    assert_eq!((status, to.as_deref()), (303, Some("/admin/password")));
    let cookie = cookie.unwrap();
    assert_eq!(get_with(&server.addr, "/admin/password", &cookie).0, 200);
    // The one-time password is enforced on every page, not only after sign-in.
    assert_eq!(get_with(&server.addr, "/admin/audit", &cookie), (303, Some("/admin/password".into())));

    // A manager resets the chief's password: whoever held a session is signed out.
    env.run(&["staff", "password", "--by", "chief", "chief"]).assert_code(0);
    assert_eq!(get_with(&server.addr, "/admin/password", &cookie), (303, Some("/admin/login".into())));
    // Resetting an id that is not a person changes nothing and says why.
    let unknown = env.run(&["staff", "password", "--by", "chief", "nobody"]);
    unknown.assert_code(2);
    assert!(unknown.stderr.contains("no principal `nobody`"), "{}", unknown.stderr);
}
