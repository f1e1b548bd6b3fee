//! Compilation: the generated Cedar text and schema (snapshots), and errors in deployment
//! policies named with their source, policy and position.

use tokutei_gateway::{Deployment, Gateway};

const POLICY: &str = include_str!("corpus/policy.toml");

fn compile(extra: &[(&str, &str)]) -> Result<Gateway, tokutei_gateway::CompileError> {
    let policy = tokutei_policy::parse(POLICY).expect("fixture policy parses");
    let deployment =
        Deployment { zones_required: true, required_training: vec!["privacy-basics".into()], ..Default::default() };
    Gateway::compile(&policy, &deployment, extra)
}

#[test]
fn generated_policies() {
    let gateway = compile(&[]).expect("compiles");
    insta::assert_snapshot!("cedar", gateway.cedar_text());
    insta::assert_snapshot!("schema", gateway.schema_text());
}

#[test]
fn every_generated_policy_names_its_clause() {
    let text = compile(&[]).expect("compiles").cedar_text();
    let policies = text.matches("permit (").count() + text.matches("forbid (").count();
    assert_eq!(text.matches("@clause(").count(), policies);
    assert_eq!(text.matches("@id(").count(), policies);
}

#[test]
fn slices_are_smaller_than_the_whole_set() {
    let (full, largest) = compile(&[]).expect("compiles").policy_counts();
    assert!(largest < full, "largest slice {largest} of {full}");
}

fn check(extra: &str, expected: &[&str]) {
    let err = compile(&[("site.cedar", extra)]).expect_err("must not compile");
    let message = err.to_string();
    for part in expected {
        assert!(message.contains(part), "`{message}` does not contain `{part}`");
    }
}

#[test]
fn deployment_policy_errors_name_policy_and_position() {
    // Syntax error on line 2.
    check("permit (principal, action, resource);\nforbid (principal action, resource);", &["`site.cedar`", "line 2"]);
    // Unknown attribute: fails schema validation, named by the policy's own @id.
    check(
        "permit (principal, action, resource);\n@id(\"bad\")\nforbid (principal, action, resource) when { resource.colour == \"red\" };",
        &["`site.cedar`", "policy `site.cedar/bad`", "line 3"],
    );
    // Unknown entity type.
    check(
        "forbid (principal == Tokutei::Robot::\"r\", action, resource);",
        &["`site.cedar`", "policy `site.cedar/0`", "line 1"],
    );
    // Templates are refused.
    check("permit (principal == ?principal, action, resource);", &["`site.cedar`", "templates"]);
}

#[test]
fn deployment_policy_is_added() {
    let gateway = compile(&[(
        "site.cedar",
        "@id(\"no-erase\") forbid (principal, action == Tokutei::Action::\"erase\", resource);",
    )])
    .expect("compiles");
    assert!(gateway.cedar_text().contains("no-erase"));
}
