//! Shared by the `deploy_*` tests: the operator files of `deploy/` read as data (YAML
//! through Python's PyYAML, which `scripts/test.sh` installs with kubernetes-validate),
//! external validators run as commands (promtool, docker-compose, haproxy,
//! kubernetes-validate, botocore), and environment variables loaded through
//! `Config::load_from` as the server would read them.
//!
//! Lives in a directory so that cargo does not build it as a test target of its own.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use figment::value::Value as FigValue;
use figment::Figment;
use hyper::Method;
use serde_json::Value;
use synckairos::config::Config;
use synckairos::front::routes::{route, Matched, Route};

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn read(rel: &str) -> String {
    std::fs::read_to_string(root().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// Runs `program args` in the repository root; panics with its output when it cannot
/// start (naming what installs it).
pub fn output(program: &str, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(program);
    cmd.args(args).current_dir(root());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output()
        .unwrap_or_else(|e| panic!("{program}: {e} (scripts/test.sh installs it when missing)"))
}

/// Like `output`, and the command must succeed; returns stdout.
#[track_caller]
pub fn succeed(program: &str, args: &[&str], env: &[(&str, &str)]) -> String {
    let out = output(program, args, env);
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    assert!(
        out.status.success(),
        "{program} {args:?} failed ({}):\n{}\n{}",
        out.status,
        text(&out.stdout),
        text(&out.stderr)
    );
    text(&out.stdout)
}

const YAML_TO_JSON: &str =
    "import json, sys, yaml; json.dump(list(yaml.safe_load_all(sys.stdin)), sys.stdout)";

/// Every document of a YAML text, as JSON values.
pub fn yaml_docs(text: &str) -> Vec<Value> {
    use std::io::Write;
    let mut child = Command::new("python3")
        .args(["-c", YAML_TO_JSON])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("python3");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "YAML does not parse (is PyYAML installed?): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON from PyYAML")
}

/// The single document of a YAML file of the repository.
pub fn yaml_file(rel: &str) -> Value {
    let mut docs = yaml_docs(&read(rel));
    assert_eq!(docs.len(), 1, "{rel}: one document expected");
    docs.remove(0)
}

/// Environment variables as configuration overrides, keyed the way `Config` reads the
/// environment (`SYNCKAIROS_A__B` → `a.b`, the v2 names), values parsed as figment
/// parses environment values. Panics on a variable the server does not read.
pub fn env_figment(vars: &[(String, String)]) -> Figment {
    let mut fig = Figment::new();
    for (name, value) in vars {
        let key = match name.as_str() {
            "PORT" => "server.port".to_owned(),
            "REDIS_URL" => "redis.url".to_owned(),
            "DATABASE_URL" => "audit.database_url".to_owned(),
            "LOG_LEVEL" => "log.level".to_owned(),
            n => match n.strip_prefix("SYNCKAIROS_") {
                Some(rest) => rest.to_ascii_lowercase().replace("__", "."),
                None => panic!("{n}: not a variable the server reads"),
            },
        };
        let parsed: FigValue = value.parse().expect("infallible");
        fig = fig.merge((key, parsed));
    }
    fig
}

/// The configuration an instance would run with, given these variables (and a
/// regions dir that does not exist, so only the built-in defaults and the variables
/// count).
pub fn load_with_env(vars: &[(String, String)]) -> Config {
    let overrides = Figment::new()
        .merge(("regions_dir", root().join("no-such-regions-dir")))
        .merge(env_figment(vars));
    Config::load_from(overrides).unwrap_or_else(|e| panic!("{vars:?}: {e}"))
}

/// `GET path` is the route `want` of the server.
#[track_caller]
pub fn routes_to(path: &str, want: Route<'static>) {
    assert_eq!(
        route(&Method::GET, path),
        Matched::Route(want),
        "GET {path} is not {want:?}"
    );
}

/// A JSON object's string values as (name, value) pairs (an env map).
pub fn string_map(v: &Value, what: &str) -> Vec<(String, String)> {
    v.as_object()
        .unwrap_or_else(|| panic!("{what}: not a map"))
        .iter()
        .map(|(k, v)| {
            let s = match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            (k.clone(), s)
        })
        .collect()
}

/// A file under the repository exists.
pub fn exists(rel: &str) -> bool {
    Path::new(&root().join(rel)).exists()
}

/// `scripts/deploy.sh --dry-run` for one platform; returns what it printed.
pub fn dry_run(platform: &str, args: &[&str], env: &[(&str, &str)]) -> String {
    let mut all = vec!["scripts/deploy.sh", "--dry-run"];
    all.extend_from_slice(args);
    let mut vars = vec![("PLATFORM", platform)];
    vars.extend_from_slice(env);
    succeed("bash", &all, &vars)
}
