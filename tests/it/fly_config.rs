//! The operator files checked against what the server reads, since this machine cannot
//! reach Fly or build images: `fly.toml` (service port = `PORT` = the server's port,
//! checks and metrics on routes that exist, WebSocket-sized concurrency, the internal
//! port never public, `[env]` valid configuration without secrets), `regions/*.toml`
//! (every region loads through `Config::load_from` with a Redis URL, no secrets, the
//! repository's defaults stay single-node) and the `Dockerfile` (builds `synckairos`,
//! ships `regions/`, runs as non-root). Pure file parsing and config loading: fast.

use std::net::IpAddr;
use std::path::PathBuf;

use figment::value::Value as FigValue;
use figment::Figment;
use hyper::Method;
use synckairos::config::Config;
use synckairos::front::routes::{route, Matched, Route};
use toml::{Table, Value};

const SECRET: &str = "0123456789abcdef0123456789abcdef";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(root().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn parse(rel: &str) -> Table {
    read(rel)
        .parse::<Table>()
        .unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn fly() -> Table {
    parse("fly.toml")
}

/// The value at a dotted path (`http_service.concurrency.soft_limit`).
fn at<'a>(t: &'a Table, path: &str) -> &'a Value {
    let mut parts = path.split('.');
    let first = parts.next().unwrap();
    let mut v = t
        .get(first)
        .unwrap_or_else(|| panic!("fly.toml: {path} missing"));
    for p in parts {
        v = v
            .get(p)
            .unwrap_or_else(|| panic!("fly.toml: {path} missing"));
    }
    v
}

fn int(t: &Table, path: &str) -> i64 {
    at(t, path)
        .as_integer()
        .unwrap_or_else(|| panic!("fly.toml: {path} is not an integer"))
}

fn string<'a>(t: &'a Table, path: &str) -> &'a str {
    at(t, path)
        .as_str()
        .unwrap_or_else(|| panic!("fly.toml: {path} is not a string"))
}

/// `"15s"`, `"500ms"`, `"1m"` → milliseconds.
fn duration_ms(s: &str) -> u64 {
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (n, unit) = s.split_at(split);
    let n: u64 = n.parse().unwrap_or_else(|_| panic!("bad duration {s}"));
    match unit {
        "ms" => n,
        "s" | "" => n * 1_000,
        "m" => n * 60_000,
        _ => panic!("bad duration unit in {s}"),
    }
}

fn service_port(fly: &Table) -> u16 {
    int(fly, "http_service.internal_port") as u16
}

/// `[env]` of fly.toml as configuration overrides, keyed the way `Config` reads the
/// environment (`SYNCKAIROS_A__B` → `a.b`, `PORT` → `server.port`), values parsed as
/// figment parses environment values.
fn fly_env(fly: &Table) -> Figment {
    let env = at(fly, "env").as_table().expect("[env] is a table");
    let mut fig = Figment::new();
    for (name, value) in env {
        let value = value
            .as_str()
            .unwrap_or_else(|| panic!("[env] {name}: not a string"));
        let key = match name.as_str() {
            "PORT" => "server.port".to_owned(),
            "LOG_LEVEL" => "log.level".to_owned(),
            n => match n.strip_prefix("SYNCKAIROS_") {
                Some(rest) => rest.to_ascii_lowercase().replace("__", "."),
                None => panic!("[env] {n}: not a variable the server reads"),
            },
        };
        let parsed: FigValue = value.parse().expect("infallible");
        fig = fig.merge((key, parsed));
    }
    fig
}

fn cluster_regions() -> Vec<String> {
    let t = parse("regions/default.toml");
    t["cluster"]["regions"]
        .as_array()
        .expect("cluster.regions is an array")
        .iter()
        .map(|v| v.as_str().expect("region names are strings").to_owned())
        .collect()
}

/// Loads the configuration of `region` as on Fly: the repository's regions/, fly.toml's
/// `[env]`, the app name Fly sets and a secret (a Fly secret in production).
fn load_on_fly(region: &str) -> Config {
    let fly = fly();
    let overrides = Figment::new()
        .merge(("regions_dir", root().join("regions")))
        .merge(fly_env(&fly))
        .merge(("region", region))
        .merge(("cluster.fly_app", string(&fly, "app")))
        .merge(("cluster.secret", SECRET));
    Config::load_from(overrides).unwrap_or_else(|e| panic!("region {region}: {e}"))
}

fn routes_to(path: &str, want: Route<'static>) {
    assert_eq!(
        route(&Method::GET, path),
        Matched::Route(want),
        "GET {path} is not {want:?}"
    );
}

#[test]
fn the_public_service_is_the_servers_port() {
    let fly = fly();
    let port = service_port(&fly);
    assert_eq!(port, Config::default().server.port, "server default port");
    assert_eq!(string(&fly, "env.PORT"), port.to_string(), "[env] PORT");
    assert_eq!(
        load_on_fly("iad").server.port,
        port,
        "PORT as the server reads it"
    );
}

#[test]
fn the_internal_port_is_never_a_public_service() {
    let fly = fly();
    let internal = load_on_fly("iad").cluster.internal_port;
    assert_eq!(
        string(&fly, "env.SYNCKAIROS_CLUSTER__INTERNAL_PORT"),
        internal.to_string()
    );
    assert_ne!(service_port(&fly), internal);
    if let Some(services) = fly.get("services").and_then(Value::as_array) {
        for s in services {
            assert_ne!(
                s.get("internal_port").and_then(Value::as_integer),
                Some(internal as i64),
                "[[services]] exposes the internal port"
            );
        }
    }
    assert!(
        !read("Dockerfile").contains(&format!("EXPOSE {internal}")),
        "Dockerfile exposes the internal port"
    );
}

#[test]
fn checks_use_the_health_and_ready_routes() {
    let fly = fly();
    let checks = at(&fly, "http_service.checks")
        .as_array()
        .expect("[[http_service.checks]]");
    let mut paths = Vec::new();
    for c in checks {
        let method = c.get("method").and_then(Value::as_str).unwrap_or("GET");
        assert!(method.eq_ignore_ascii_case("get"), "check method {method}");
        let path = c.get("path").and_then(Value::as_str).expect("check path");
        if let Some(p) = c.get("port").and_then(Value::as_integer) {
            assert_eq!(p, service_port(&fly) as i64, "check port");
        }
        let timeout = c.get("timeout").and_then(Value::as_str).unwrap_or("2s");
        let interval = c.get("interval").and_then(Value::as_str).unwrap_or("15s");
        assert!(
            duration_ms(timeout) < duration_ms(interval),
            "{path}: timeout ≥ interval"
        );
        paths.push(path.to_owned());
    }
    assert!(paths.iter().any(|p| p == "/health"), "no /health check");
    assert!(paths.iter().any(|p| p == "/ready"), "no /ready check");
    routes_to("/health", Route::Health);
    routes_to("/ready", Route::Ready);
}

#[test]
fn metrics_are_scraped_from_the_metrics_route() {
    let fly = fly();
    assert_eq!(int(&fly, "metrics.port"), service_port(&fly) as i64);
    assert_eq!(string(&fly, "metrics.path"), "/metrics");
    routes_to(string(&fly, "metrics.path"), Route::Metrics);
}

#[test]
fn concurrency_is_sized_for_websockets() {
    let fly = fly();
    assert_eq!(string(&fly, "http_service.concurrency.type"), "connections");
    let soft = int(&fly, "http_service.concurrency.soft_limit");
    let hard = int(&fly, "http_service.concurrency.hard_limit");
    assert!(
        soft >= 1_000,
        "soft_limit {soft}: Fly's default (20) throttles WebSockets"
    );
    assert!(hard >= soft, "hard_limit {hard} < soft_limit {soft}");
}

#[test]
fn env_is_valid_configuration_without_secrets() {
    let fly = fly();
    let env = at(&fly, "env").as_table().unwrap();
    for name in env.keys() {
        let upper = name.to_ascii_uppercase();
        assert!(
            !upper.contains("SECRET")
                && !upper.contains("PASSWORD")
                && !upper.contains("DATABASE_URL"),
            "[env] {name}: secrets belong in `fly secrets`"
        );
        // One REDIS_URL for the whole app would override every region's own Redis.
        assert!(
            !upper.contains("REDIS"),
            "[env] {name}: Redis is per region (regions/*.toml)"
        );
    }
    let cfg = load_on_fly("iad");
    assert_eq!(cfg.log.format, "json");
}

#[test]
fn every_region_has_a_file_that_loads_with_its_redis() {
    let regions = cluster_regions();
    assert!(regions.len() >= 2, "cluster.regions: {regions:?}");
    for r in &regions {
        let rel = format!("regions/{r}.toml");
        assert!(root().join(&rel).is_file(), "{rel} missing");
        let file = parse(&rel);
        let secret = file.get("cluster").and_then(|c| c.get("secret"));
        assert!(secret.is_none(), "{rel}: secrets belong in `fly secrets`");

        let cfg = load_on_fly(r);
        assert_eq!(&cfg.region, r);
        assert!(cfg.multi_region(), "{r}: not in multi-region mode");
        assert_eq!(cfg.cluster.discovery, "fly-dns");
        cfg.cluster
            .internal_bind
            .parse::<IpAddr>()
            .unwrap_or_else(|_| panic!("{r}: cluster.internal_bind is not an address"));
        let url = cfg
            .redis
            .url
            .as_deref()
            .unwrap_or_else(|| panic!("{r}: no Redis"));
        assert!(url.starts_with("redis://"), "{r}: {url}");
        assert!(
            url.contains(r.as_str()),
            "{r} uses another region's Redis: {url}"
        );
        assert!(!url.contains('@'), "{r}: credentials in {url}");
    }
    // And no region file that is not in the cluster.
    for entry in std::fs::read_dir(root().join("regions")).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        if let Some(r) = name.strip_suffix(".toml") {
            assert!(
                r == "default" || regions.iter().any(|x| x == r),
                "{name} not in cluster.regions"
            );
        }
    }
}

#[test]
fn the_primary_region_and_app_are_the_clusters() {
    let fly = fly();
    let primary = string(&fly, "primary_region");
    assert!(
        cluster_regions().iter().any(|r| r == primary),
        "primary_region {primary}"
    );
    let default = parse("regions/default.toml");
    assert_eq!(
        default["cluster"].get("fly_app").and_then(Value::as_str),
        Some(string(&fly, "app")),
        "cluster.fly_app in regions/default.toml"
    );
}

#[test]
fn the_repository_defaults_stay_single_node() {
    // `cargo run` from the repository with no environment: region `local`.
    let cfg = Config::load_from(
        Figment::new()
            .merge(("regions_dir", root().join("regions")))
            .merge(("region", "local")),
    )
    .expect("repository defaults load");
    assert!(!cfg.multi_region());
}

#[test]
fn fly_waits_for_the_ordered_shutdown() {
    let fly = fly();
    assert_eq!(string(&fly, "kill_signal"), "SIGTERM");
    let kill = duration_ms(string(&fly, "kill_timeout"));
    let grace = load_on_fly("iad").server.shutdown_grace_ms;
    assert!(
        kill > grace,
        "kill_timeout {kill} ms ≤ shutdown grace {grace} ms"
    );
}

#[test]
fn the_dockerfile_builds_the_server_and_ships_regions() {
    let docker = read("Dockerfile");
    let lines: Vec<&str> = docker.lines().map(str::trim).collect();
    assert!(docker.contains("cargo build --release --locked -p synckairos"));
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("COPY") && l.contains("regions/") && !l.contains("--from")),
        "Dockerfile does not copy regions/"
    );
    let dir = lines
        .iter()
        .find_map(|l| l.strip_prefix("ENV SYNCKAIROS_REGIONS_DIR="))
        .expect("ENV SYNCKAIROS_REGIONS_DIR=...");
    assert!(
        lines.iter().any(|l| l.starts_with("COPY regions/ ")
            && l.trim_end_matches('/').ends_with(dir.trim_end_matches('/'))),
        "regions/ is not copied to {dir}"
    );
    assert!(lines.contains(&r#"CMD ["synckairos"]"#));
    let port = service_port(&fly());
    assert!(
        lines.contains(&format!("EXPOSE {port}").as_str()),
        "EXPOSE {port}"
    );
    let user = lines
        .iter()
        .rev()
        .find_map(|l| l.strip_prefix("USER "))
        .expect("a USER line");
    assert!(
        !user.starts_with("root") && !user.starts_with('0'),
        "runs as {user}"
    );
    let ignored = read(".dockerignore");
    for needed in ["regions", "Cargo.lock", "src", "migrations"] {
        assert!(
            !ignored
                .lines()
                .any(|l| l.trim().trim_end_matches('/') == needed),
            ".dockerignore excludes {needed}"
        );
    }
}
