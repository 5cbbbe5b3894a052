//! The Docker Compose stack of `deploy/docker/`, validated offline (no Docker engine
//! here): `docker-compose config` checks the file against the Compose schema and
//! resolves it, `haproxy -c` checks the load balancer's configuration, and both are
//! checked against what the server reads: several stateless instances behind the
//! balancer without stickiness, health checks on `/ready`, the environment as valid
//! configuration, a shutdown longer than `server.shutdown_grace_ms`, and Redis run
//! durable (AOF, `appendfsync always`, `noeviction`).

use crate::support::deploy::*;
use serde_json::Value;
use synckairos::front::routes::Route;

const FILE: &str = "deploy/docker/compose.yaml";

/// The resolved compose file (`docker-compose config`), as JSON.
fn resolved() -> Value {
    let out = succeed(
        "docker-compose",
        &["-f", FILE, "config"],
        &[("POSTGRES_PASSWORD", "test-password")],
    );
    yaml_docs(&out).remove(0)
}

fn env_of(service: &Value) -> Vec<(String, String)> {
    string_map(&service["environment"], "environment")
}

/// `15s`, `1m30s`, `500ms` (Compose durations) → milliseconds.
fn compose_ms(s: &str) -> u64 {
    let (mut total, mut num) = (0u64, String::new());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() {
            num.push(c);
            continue;
        }
        let n: u64 = num.parse().unwrap_or_else(|_| panic!("bad duration {s}"));
        num.clear();
        total += match c {
            'm' if chars.peek() == Some(&'s') => {
                chars.next();
                n
            }
            'h' => n * 3_600_000,
            'm' => n * 60_000,
            's' => n * 1_000,
            _ => panic!("bad duration {s}"),
        };
    }
    assert!(num.is_empty(), "duration without unit: {s}");
    total
}

#[test]
fn compose_validates_and_needs_a_database_password() {
    resolved();
    let out = output("docker-compose", &["-f", FILE, "config"], &[]);
    assert!(
        !out.status.success(),
        "the stack must not start with a default database password"
    );
    assert!(
        !read(FILE).contains("POSTGRES_PASSWORD: ") || read(FILE).contains("${POSTGRES_PASSWORD"),
        "no literal password"
    );
}

#[test]
fn several_instances_read_valid_configuration_and_shut_down_in_order() {
    let c = resolved();
    let app = &c["services"]["synckairos"];
    assert!(
        app["deploy"]["replicas"].as_u64().unwrap() >= 2,
        "several instances"
    );
    assert!(
        app["ports"].is_null(),
        "instances are reached through the balancer only"
    );
    let cfg = load_with_env(&env_of(app));
    let redis = cfg.redis.url.as_deref().expect("REDIS_URL");
    assert!(redis.starts_with("redis://redis:"), "{redis}");
    let db = cfg.audit.database_url.as_deref().expect("DATABASE_URL");
    assert!(db.contains("@postgres:5432/"), "{db}");
    assert_eq!(app["stop_signal"], "SIGTERM");
    let stop_ms = compose_ms(app["stop_grace_period"].as_str().unwrap());
    assert!(
        stop_ms > cfg.server.shutdown_grace_ms,
        "stop_grace_period {stop_ms} ms ≤ shutdown grace {} ms",
        cfg.server.shutdown_grace_ms
    );
    let check = app["healthcheck"]["test"].to_string();
    assert!(check.contains("GET /ready"), "{check}");
    assert!(
        check.contains(&format!("127.0.0.1/{}", cfg.server.port)),
        "{check}"
    );
    routes_to("/ready", Route::Ready);
    for dep in ["redis", "postgres"] {
        assert_eq!(app["depends_on"][dep]["condition"], "service_healthy");
    }
}

#[test]
fn redis_keeps_every_acknowledged_write_and_never_evicts() {
    let c = resolved();
    let cmd: Vec<String> = c["services"]["redis"]["command"]
        .as_array()
        .expect("redis command")
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    let joined = cmd.join(" ");
    for want in [
        "--appendonly yes",
        "--appendfsync always",
        "--maxmemory-policy noeviction",
    ] {
        assert!(
            joined.contains(want),
            "redis-server {joined}: missing {want}"
        );
    }
    assert!(
        c["services"]["redis"]["volumes"].is_array(),
        "AOF on a volume"
    );
}

#[test]
fn the_balancer_spreads_without_stickiness_and_checks_ready() {
    let out = succeed("haproxy", &["-c", "-f", "deploy/docker/haproxy.cfg"], &[]);
    assert!(out.contains("valid"), "{out}");
    let cfg_text = read("deploy/docker/haproxy.cfg");
    let lines: Vec<&str> = cfg_text
        .lines()
        .map(str::trim)
        .filter(|l| !l.starts_with('#'))
        .collect();
    for sticky in [
        "cookie",
        "stick ",
        "stick-table",
        "balance source",
        "hash-type",
    ] {
        assert!(
            !lines.iter().any(|l| l.starts_with(sticky)),
            "haproxy: {sticky} makes sessions sticky"
        );
    }
    assert!(lines.contains(&"option httpchk GET /ready"));
    assert!(
        lines.iter().any(|l| l.starts_with("timeout tunnel")),
        "WebSockets need a tunnel timeout"
    );
    let c = resolved();
    let app_cfg = load_with_env(&env_of(&c["services"]["synckairos"]));
    let target = format!("synckairos:{}", app_cfg.server.port);
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("server-template") && l.ends_with(&target)),
        "haproxy does not target {target}"
    );
    // The client address header haproxy sets is the one the server trusts.
    let header = app_cfg.server.client_ip_header.expect("client_ip_header");
    assert!(
        lines.iter().any(|l| l
            .to_ascii_lowercase()
            .starts_with(&format!("http-request set-header {header} "))),
        "haproxy does not set {header}"
    );
    let bind: Vec<&str> = lines
        .iter()
        .filter_map(|l| l.strip_prefix("bind :"))
        .collect();
    let lb = &c["services"]["lb"];
    assert_eq!(
        lb["ports"][0]["target"].to_string(),
        bind[0],
        "published port = bind port"
    );
    assert!(lb["volumes"][0]
        .as_str()
        .unwrap()
        .ends_with("haproxy.cfg:/usr/local/etc/haproxy/haproxy.cfg:ro"));
}

#[test]
fn monitoring_uses_the_repositorys_rules_and_dashboard() {
    let c = resolved();
    let mounts = |svc: &str| c["services"][svc]["volumes"].to_string();
    let prom = mounts("prometheus");
    assert!(prom.contains("deploy/prometheus/prometheus.yml:"), "{prom}");
    assert!(prom.contains("deploy/prometheus/alerts.yml:"), "{prom}");
    assert!(mounts("grafana").contains("deploy/grafana/synckairos.json:"));
    for profile in ["prometheus", "grafana"] {
        assert_eq!(c["services"][profile]["profiles"][0], "monitoring");
    }
    for rel in [
        "deploy/docker/grafana-provisioning/datasources/prometheus.yaml",
        "deploy/docker/grafana-provisioning/dashboards/synckairos.yaml",
    ] {
        yaml_file(rel);
    }
}
