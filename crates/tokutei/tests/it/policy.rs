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
