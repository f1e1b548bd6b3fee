//! `tokutei init` and `tokutei policy …` end to end.

use crate::util::TestEnv;

#[test]
fn commands_need_an_initialised_data_directory() {
    let env = TestEnv::new();
    let run = env.run(&["policy", "show"]);
    run.assert_code(2);
    assert!(run.stderr.contains("is not initialised"), "{}", run.stderr);
    assert!(!env.data().exists(), "a failed command creates nothing");
}

#[test]
fn init_refuses_an_unreadable_policy_and_writes_nothing() {
    let env = TestEnv::new();
    let bad = env.write("bad.toml", "format = 1\n[header\n");
    let run = env.run(&["init", "--policy", bad.to_str().unwrap()]);
    run.assert_code(2);
    assert!(run.stderr.contains("bad.toml:2"), "names the file and line: {}", run.stderr);
    assert!(!env.data().exists());
}

const DEMO_POLICY: &str = include_str!("../../../tokutei-policy/policies/hoshizora-tsushin.toml");

#[test]
fn seed_imports_checks_and_renders_every_sentence() {
    // The issue's acceptance line: import → check → render reproduces the seed.
    let env = TestEnv::new();
    let seed = crate::util::seed_policy_path();
    let out = env.root().join("p.toml");
    env.run(&["policy", "import", seed.to_str().unwrap(), "-o", out.to_str().unwrap()]).assert_code(0);
    env.run(&["policy", "check", out.to_str().unwrap()]).assert_code(0);
    let render = env.run(&["policy", "render", out.to_str().unwrap(), "--lang", "ja", "--format", "text"]);
    render.assert_code(0);
    let normalise = |s: &str| -> String {
        s.chars()
            .filter(|c| !c.is_whitespace() && !matches!(c, '・' | '-' | '－' | '●' | '■' | '※'))
            .map(|c| match c {
                '（' => '(',
                '）' => ')',
                '：' => ':',
                other => other,
            })
            .collect()
    };
    let rendered = normalise(&render.stdout);
    let seed_text = std::fs::read_to_string(&seed).unwrap();
    let mut from = 0;
    for sentence in seed_text.split(['。', '\n']).map(normalise).filter(|s| !s.is_empty()) {
        let Some(at) = rendered[from..].find(&sentence) else {
            panic!("sentence missing or out of order: `{sentence}`");
        };
        from += at + sentence.len();
    }
}

#[test]
fn check_exit_codes_and_json() {
    let env = TestEnv::new();
    let good = env.write("good.toml", DEMO_POLICY);
    let run = env.run(&["policy", "check", good.to_str().unwrap(), "--json"]);
    run.assert_code(0);
    assert_eq!(run.json()["valid"], true);

    let broken = DEMO_POLICY.replacen("id = \"marketing\"", "id = \"Marketing!\"", 1);
    assert_ne!(broken, DEMO_POLICY);
    let bad = env.write("bad.toml", broken);
    let run = env.run(&["policy", "check", bad.to_str().unwrap(), "--json"]);
    run.assert_code(1);
    let json = run.json();
    assert_eq!(json["valid"], false);
    let diagnostics = json["diagnostics"].as_array().unwrap();
    assert!(diagnostics.iter().all(|d| d.get("id").is_some()), "list items carry an id");
    assert!(diagnostics.iter().any(|d| d["rule"] == "id-syntax"), "{json}");

    let run = env.run(&["policy", "check", env.root().join("missing.toml").to_str().unwrap()]);
    run.assert_code(2);
    assert!(run.stderr.contains("missing.toml"), "{}", run.stderr);
}

#[test]
fn publish_refuses_an_invalid_policy_and_changes_nothing() {
    let env = TestEnv::new();
    let good = env.write("good.toml", DEMO_POLICY);
    env.run(&["init", "--policy", good.to_str().unwrap()]).assert_code(0);
    let broken = DEMO_POLICY.replacen("categories = [", "categories = [\"no.such.category\", ", 1);
    let bad = env.write("bad.toml", broken);
    let run = env.run(&["policy", "publish", "--by", "chief", bad.to_str().unwrap()]);
    run.assert_code(2);
    assert!(run.stderr.contains("bad.toml:"), "names the file and line: {}", run.stderr);
    assert!(run.stderr.contains("no.such.category"), "{}", run.stderr);
    let show = env.run(&["policy", "show", "--json"]);
    show.assert_code(0);
    assert_eq!(show.json()["version"]["number"], 1, "still the first version");
}

#[test]
fn publish_show_and_diff_versions() {
    let env = TestEnv::new();
    let v1 = env.write("v1.toml", DEMO_POLICY);
    env.run(&["init", "--policy", v1.to_str().unwrap()]).assert_code(0);
    // Same content again: nothing to publish.
    env.run(&["policy", "publish", "--by", "chief", v1.to_str().unwrap()]).assert_code(2);

    let v2_text = DEMO_POLICY.replacen("consent = \"opt_out\"", "consent = \"opt_in\"", 1);
    assert_ne!(v2_text, DEMO_POLICY);
    let v2 = env.write("v2.toml", &v2_text);
    let run = env.run(&["policy", "publish", "--by", "chief", v2.to_str().unwrap(), "--json"]);
    run.assert_code(0);
    assert_eq!(run.json()["number"], 2);

    let diff = env.run(&["policy", "diff", v1.to_str().unwrap(), v2.to_str().unwrap(), "--lang", "en"]);
    diff.assert_code(0);
    assert!(diff.stdout.contains("opt_out → opt_in"), "{}", diff.stdout);
    let diff = env.run(&["policy", "diff", v1.to_str().unwrap(), v1.to_str().unwrap()]);
    assert!(diff.stdout.contains("no differences"), "{}", diff.stdout);

    let show = env.run(&["policy", "show", "--json"]);
    let json = show.json();
    assert_eq!(json["version"]["number"], 2);
    assert!(json["purposes"].as_array().unwrap().iter().all(|p| p.get("id").is_some()));
}

#[test]
fn render_html_is_a_complete_page_and_text_renders_in_english() {
    let env = TestEnv::new();
    let file = env.write("p.toml", DEMO_POLICY);
    let html = env.run(&["policy", "render", file.to_str().unwrap(), "--format", "html"]);
    html.assert_code(0);
    assert!(html.stdout.starts_with("<!DOCTYPE html>"));
    assert!(html.stdout.contains(r#"<html lang="ja">"#));
    let en = env.run(&["policy", "render", file.to_str().unwrap(), "--lang", "en", "--format", "text"]);
    en.assert_code(0);
    assert!(en.stdout.contains("Specified User Information"), "{}", en.stdout);
}

#[test]
fn every_publication_is_recorded_in_the_audit_ledger() {
    // DESIGN §3 promise 4: publishing a new version is audited.
    let env = TestEnv::new();
    let v1 = env.write("v1.toml", DEMO_POLICY);
    env.run(&["init", "--policy", v1.to_str().unwrap()]).assert_code(0);
    let v2 = env.write("v2.toml", DEMO_POLICY.replacen("consent = \"opt_out\"", "consent = \"opt_in\"", 1));
    env.run(&["policy", "publish", "--by", "chief", v2.to_str().unwrap()]).assert_code(0);
    // A refused publication leaves no record.
    env.run(&["policy", "publish", "--by", "chief", v2.to_str().unwrap()]).assert_code(2);

    let entries = env.run(&["audit", "query", "--json"]);
    entries.assert_code(0);
    let entries = entries.json();
    let published: Vec<&serde_json::Value> =
        entries.as_array().unwrap().iter().filter(|e| e["event"]["action"] == "policy_published").collect();
    assert_eq!(published.len(), 2, "{entries}");
    assert_eq!(published[0]["event"]["subject"], "policy/v1");
    assert_eq!(published[1]["event"]["subject"], "policy/v2");
    let show = env.run(&["policy", "show", "--json"]).json();
    let digest = show["version"]["digest"].as_str().unwrap().trim_start_matches("sha256:").to_string();
    assert_eq!(published[1]["event"]["digest"], digest.as_str(), "the record names the published digest");
    env.run(&["audit", "verify"]).assert_code(0);
}

#[test]
fn cedar_prints_generated_policies_and_rejects_bad_deployment_policies() {
    let env = TestEnv::new();
    let file = env.write("p.toml", DEMO_POLICY);
    let run = env.run(&["policy", "cedar", file.to_str().unwrap()]);
    run.assert_code(0);
    assert!(run.stdout.contains(r#"@id("permit.purpose.marketing")"#), "{}", run.stdout);
    assert!(run.stdout.contains("forbid"), "forbid rules are generated");
    let schema = env.run(&["policy", "cedar", file.to_str().unwrap(), "--schema"]);
    schema.assert_code(0);
    assert!(schema.stdout.contains("namespace Tokutei"));

    let extra = env.write("site.cedar", "forbid (principal, action, resource) when { resource.no_such_attribute };\n");
    let run = env.run(&["policy", "cedar", file.to_str().unwrap(), "--with", extra.to_str().unwrap()]);
    assert_ne!(run.code, 0, "a deployment policy that does not validate is refused");
    assert!(format!("{}{}", run.stdout, run.stderr).contains("site.cedar"), "names the file: {}", run.stderr);
}
