//! Helpers shared by the end-to-end tests: a temporary data directory and a way to run the
//! binary in it and look at what it printed and how it exited.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A temporary working area with a data directory path (not yet initialised).
pub struct TestEnv {
    dir: tempfile::TempDir,
}

/// What a run printed and how it exited.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    fn from(output: Output) -> Run {
        Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// Parse stdout as the one JSON document `--json` promises.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", self.stdout))
    }

    #[track_caller]
    pub fn assert_code(&self, code: i32) -> &Run {
        assert_eq!(self.code, code, "exit code\nstdout:\n{}\nstderr:\n{}", self.stdout, self.stderr);
        self
    }
}

impl TestEnv {
    pub fn new() -> TestEnv {
        TestEnv { dir: tempfile::tempdir().unwrap() }
    }

    /// The temporary directory everything lives in.
    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    /// The data directory passed with `--data`.
    pub fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// Write a file under the root and return its path.
    pub fn write(&self, name: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, contents).unwrap();
        path
    }

    /// Run `tokutei ARGS… --data DATA` (the data directory is always this env's).
    pub fn run(&self, args: &[&str]) -> Run {
        Run::from(self.command(args).output().unwrap())
    }

    /// The command, for tests that need to control the child (kill it, feed stdin).
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_tokutei"));
        cmd.args(args).env("TOKUTEI_DATA", self.data()).env_remove("TOKUTEI_DATABASE_URL").current_dir(self.root());
        cmd
    }
}

/// The seed policy text our first customer publishes (test input, never copied into the repo).
pub fn seed_policy_path() -> PathBuf {
    let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/seed");
    std::fs::read_dir(&shared)
        .unwrap_or_else(|e| panic!("cannot read `{}`: {e}", shared.display()))
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "txt"))
        .expect("a seed policy text in shared/seed")
}
