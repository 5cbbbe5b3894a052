//! Configuration loading (`Config::load_from`): defaults (v2-compatible and generous
//! enough for a test run), the region files (`default.toml`, then `<region>.toml`),
//! overrides, the v2 environment names and `SYNCKAIROS_*` variables, and errors that
//! name the offending key and its source (unknown keys, bad values, failed checks).
//!
//! Every test here reads the process environment through `load_from`, and one of them
//! sets variables, so they all hold `ENV` to stay out of each other's way.

use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard};

use figment::providers::{Format, Serialized, Toml};
use figment::Figment;
use synckairos::config::Config;

static ENV: Mutex<()> = Mutex::new(());

fn env_lock() -> MutexGuard<'static, ()> {
    ENV.lock().unwrap_or_else(|e| e.into_inner())
}

/// A fresh regions directory with the given `(file name, contents)`.
fn regions(files: &[(&str, &str)]) -> PathBuf {
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir =
        std::env::temp_dir().join(format!("synckairos-config-test-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    for (name, text) in files {
        std::fs::write(dir.join(name), text).unwrap();
    }
    dir
}

fn load(dir: &std::path::Path, extra: Figment) -> Result<Config, String> {
    let overrides = Figment::from(Serialized::default("regions_dir", dir)).merge(extra);
    Config::load_from(overrides).map_err(|e| e.to_string())
}

#[test]
fn defaults_are_v2_compatible_and_generous() {
    let c = Config::default();
    assert_eq!(c.region, "local");
    assert_eq!(c.server.port, 3000);
    assert_eq!(c.server.body_limit_bytes, 1024 * 1024);
    assert_eq!(c.server.cors_origins, vec!["*".to_owned()]);
    assert_eq!(c.ws.ping_interval_ms, 5_000);
    assert_eq!(c.sessions.ttl_secs, 3_600);
    assert!(
        c.rate_limit.general_per_minute >= 1_000,
        "a test run must not be limited"
    );
    assert!(c.rate_limit.switch_per_second >= 10);
    assert!(c.redis.url.is_none() && c.audit.database_url.is_none());
    assert_eq!(c.server.worker_threads, 0, "one worker per CPU unless told");
}

#[test]
fn an_empty_regions_dir_gives_the_defaults() {
    let _g = env_lock();
    let dir = regions(&[]);
    let c = load(&dir, Figment::new()).expect("loads");
    let want = Config::default();
    assert_eq!(c.regions_dir, dir);
    // The environment of the test run may set v2 variables; compare what it cannot.
    assert_eq!(c.ws, want.ws);
    assert_eq!(c.sessions, want.sessions);
}

#[test]
fn region_files_layer_default_then_region_then_overrides() {
    let _g = env_lock();
    let dir = regions(&[
        (
            "default.toml",
            "[server]\nbody_limit_bytes = 2048\n[ws]\nqueue_capacity = 11\n",
        ),
        (
            "syd.toml",
            "[ws]\nqueue_capacity = 22\nmax_message_bytes = 4096\n",
        ),
    ]);
    let c = load(&dir, Figment::new()).unwrap();
    assert_eq!(c.server.body_limit_bytes, 2048);
    assert_eq!(c.ws.queue_capacity, 11, "no region file applies to `local`");
    let c = load(&dir, Figment::from(Serialized::default("region", "syd"))).unwrap();
    assert_eq!(c.region, "syd");
    assert_eq!(c.server.body_limit_bytes, 2048, "from default.toml");
    assert_eq!(c.ws.queue_capacity, 22, "syd.toml wins over default.toml");
    assert_eq!(c.ws.max_message_bytes, 4096);
    let c = load(
        &dir,
        Figment::from(Serialized::default("region", "syd"))
            .merge(Toml::string("[ws]\nqueue_capacity = 33\n")),
    )
    .unwrap();
    assert_eq!(c.ws.queue_capacity, 33, "overrides win over files");
    // The region may also come from default.toml itself.
    let dir = regions(&[
        ("default.toml", "region = \"nrt\"\n"),
        ("nrt.toml", "[rate_limit]\nswitch_per_second = 3\n"),
    ]);
    let c = load(&dir, Figment::new()).unwrap();
    assert_eq!(
        (c.region.as_str(), c.rate_limit.switch_per_second),
        ("nrt", 3)
    );
}

#[test]
fn an_unknown_key_in_a_file_names_the_key_and_the_file() {
    let _g = env_lock();
    let dir = regions(&[("default.toml", "[server]\nbody_limit = 5\n")]);
    let err = load(&dir, Figment::new()).expect_err("unknown key refused");
    println!("{err}");
    assert!(err.contains("body_limit"), "{err}");
    assert!(err.contains("default.toml"), "{err}");
    let dir = regions(&[("default.toml", "colour = \"blue\"\n")]);
    let err = load(&dir, Figment::new()).expect_err("unknown top-level key refused");
    assert!(
        err.contains("colour") && err.contains("default.toml"),
        "{err}"
    );
    // Also in a region file.
    let dir = regions(&[
        ("default.toml", "region = \"iad\"\n"),
        ("iad.toml", "[ws]\npingg = 1\n"),
    ]);
    let err = load(&dir, Figment::new()).expect_err("unknown key refused");
    assert!(err.contains("pingg") && err.contains("iad.toml"), "{err}");
}

#[test]
fn a_bad_value_names_the_key_and_the_file() {
    let _g = env_lock();
    let dir = regions(&[("default.toml", "[server]\nport = \"abc\"\n")]);
    let err = load(&dir, Figment::new()).expect_err("bad port refused");
    println!("{err}");
    assert!(err.contains("port"), "{err}");
    assert!(err.contains("default.toml"), "{err}");
    let dir = regions(&[("default.toml", "[server]\nport = 70000\n")]);
    let err = load(&dir, Figment::new()).expect_err("port out of range");
    assert!(err.contains("port"), "{err}");
    let dir = regions(&[("default.toml", "[server\nport = 1\n")]);
    let err = load(&dir, Figment::new()).expect_err("broken TOML refused");
    assert!(err.contains("default.toml"), "{err}");
}

#[test]
fn semantic_checks_name_the_key() {
    let _g = env_lock();
    let dir = regions(&[]);
    let cases = [
        ("[ws]\nmax_message_bytes = 10\n", "ws.max_message_bytes"),
        ("[ws]\nping_interval_ms = 5\n", "ws.ping_interval_ms"),
        ("[ws]\nqueue_capacity = 0\n", "ws.queue_capacity"),
        (
            "[server]\nbody_limit_bytes = 0\n",
            "server.body_limit_bytes",
        ),
        ("region = \"Not A Region\"\n", "region"),
        ("[log]\nformat = \"xml\"\n", "log.format"),
        ("[sessions]\nttl_secs = 0\n", "sessions.ttl_secs"),
        ("[server]\nworker_threads = 5000\n", "server.worker_threads"),
    ];
    for (toml, key) in cases {
        let err = load(&dir, Figment::from(Toml::string(toml))).expect_err(toml);
        assert!(err.contains(key), "{toml}: {err}");
    }
}

#[test]
fn cors_origins_accept_a_comma_separated_string() {
    let _g = env_lock();
    let dir = regions(&[(
        "default.toml",
        "[server]\ncors_origins = \"https://a.example, https://b.example\"\n",
    )]);
    let c = load(&dir, Figment::new()).unwrap();
    assert_eq!(
        c.server.cors_origins,
        vec![
            "https://a.example".to_owned(),
            "https://b.example".to_owned()
        ]
    );
}

/// The only test that changes the process environment (restored at the end).
#[test]
fn environment_overrides_files_and_unknown_variables_are_refused() {
    let _g = env_lock();
    let dir = regions(&[(
        "default.toml",
        "[ws]\nqueue_capacity = 11\n[server]\nport = 4000\n",
    )]);
    let vars = [
        ("SYNCKAIROS_WS__QUEUE_CAPACITY", "9"),
        ("PORT", "4567"),
        ("RATE_LIMIT_GENERAL", "77"),
        ("RATE_LIMIT_SWITCH", "7"),
        ("CORS_ORIGIN", "https://x.example,https://y.example"),
        ("FLY_REGION", "ams"),
    ];
    let saved: Vec<_> = vars
        .iter()
        .map(|(k, _)| (*k, std::env::var_os(k)))
        .collect();
    for (k, v) in vars {
        std::env::set_var(k, v);
    }
    let result = std::panic::catch_unwind(|| {
        let c = load(&dir, Figment::new()).expect("loads");
        assert_eq!(c.ws.queue_capacity, 9, "SYNCKAIROS_* wins over the file");
        assert_eq!(c.server.port, 4567, "PORT");
        assert_eq!(c.rate_limit.general_per_minute, 77);
        assert_eq!(c.rate_limit.switch_per_second, 7);
        assert_eq!(c.server.cors_origins.len(), 2);
        assert_eq!(c.region, "ams", "FLY_REGION");
        // Overrides passed to load_from win over the environment.
        let c = load(
            &dir,
            Figment::from(Toml::string("[ws]\nqueue_capacity = 5\n")),
        )
        .unwrap();
        assert_eq!(c.ws.queue_capacity, 5);
        // A misspelt variable is an error naming it.
        std::env::set_var("SYNCKAIROS_WS__QUEUE_CAPACTY", "3");
        let err = load(&dir, Figment::new()).expect_err("unknown variable refused");
        std::env::remove_var("SYNCKAIROS_WS__QUEUE_CAPACTY");
        println!("{err}");
        assert!(err.to_lowercase().contains("queue_capacty"), "{err}");
        // A bad value from the environment names the variable's key.
        std::env::set_var("PORT", "abc");
        let err = load(&dir, Figment::new()).expect_err("bad PORT refused");
        println!("{err}");
        assert!(err.to_lowercase().contains("server.port"), "{err}");
        assert!(err.contains("environment"), "{err}");
    });
    std::env::remove_var("SYNCKAIROS_WS__QUEUE_CAPACTY");
    for (k, v) in saved {
        match v {
            Some(v) => std::env::set_var(k, v),
            None => std::env::remove_var(k),
        }
    }
    if let Err(p) = result {
        std::panic::resume_unwind(p);
    }
}

/// `server.worker_threads` sizes the runtime of the real binary: its worker threads
/// are counted in `/proc` (tokio names them `tokio-rt-worker`).
#[test]
fn the_binary_runs_as_many_workers_as_configured() {
    let workers = |n: &str| {
        let inst = crate::support::procs::Instance::start(&[(
            "SYNCKAIROS_SERVER__WORKER_THREADS",
            n.to_owned(),
        )]);
        let pid = inst.pid().expect("running");
        std::fs::read_dir(format!("/proc/{pid}/task"))
            .expect("its threads")
            .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
            .filter(|comm| comm.trim() == "tokio-rt-worker")
            .count()
    };
    assert_eq!(workers("1"), 1);
    assert_eq!(workers("3"), 3);
}
