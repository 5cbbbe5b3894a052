//! The operators' dashboard on the real 3-region cluster under load, opened in
//! headless Chromium (Debian's `chromium`; `scripts/test.sh` installs it): every
//! region's column shows data in its panels (switch latency, client round trip,
//! forwarded writes, relay lag, connections), and a region cut off from the one
//! serving the page shows as unreachable. A screenshot of the loaded page is saved to
//! `target/dashboard.png` (and to `$DASHBOARD_SCREENSHOT` when set: that is how
//! `docs/dashboard.png`, shown in the README, is refreshed, with
//! `DASHBOARD_LOAD_MS=30000` for more history).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::regions::{Setup, World, REGIONS};
use crate::support::ws::WsClient;

const INTERVAL_MS: u64 = 400;

fn chromium() -> PathBuf {
    for p in ["/usr/bin/chromium", "/usr/bin/chromium-browser"] {
        if Path::new(p).exists() {
            return p.into();
        }
    }
    panic!("chromium is not installed (scripts/test.sh installs Debian's package)");
}

/// Runs headless Chromium on `url` with `extra` arguments; returns its stdout.
fn headless(url: &str, extra: &[String]) -> String {
    let profile = tempdir("chromium-profile");
    let out = Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            "--virtual-time-budget=4000",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(extra)
        .arg(url)
        .output()
        .expect("chromium runs");
    let _ = std::fs::remove_dir_all(&profile);
    assert!(
        out.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn tempdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "synckairos-{name}-{}-{}",
        std::process::id(),
        synckairos::clock::now_us()
    ));
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

/// The region columns of a rendered page: `(region, state, panels with data)`.
fn columns(dom: &str) -> Vec<(String, String, Vec<String>)> {
    let mut out = Vec::new();
    for part in dom.split("<section class=\"region\"").skip(1) {
        let attr = |name: &str| {
            part.split(&format!("{name}=\""))
                .nth(1)
                .and_then(|r| r.split('"').next())
                .unwrap_or("")
                .to_owned()
        };
        let with_data = part
            .split("<div class=\"panel\"")
            .skip(1)
            .filter(|p| {
                p.split("data-points=\"")
                    .nth(1)
                    .and_then(|r| r.split('"').next())
                    .and_then(|n| n.parse::<u32>().ok())
                    .is_some_and(|n| n > 0)
            })
            .filter_map(|p| {
                p.split("data-series=\"")
                    .nth(1)
                    .and_then(|r| r.split('"').next())
                    .map(str::to_owned)
            })
            .collect();
        out.push((attr("data-region"), attr("data-state"), with_data));
    }
    out
}

async fn data(w: &World, via: &str) -> Value {
    w.http(via).get("/dashboard/data").await.expect(200).json()
}

fn has_points(region: &Value, series: &str) -> bool {
    region["series"][series]["n"]
        .as_array()
        .is_some_and(|n| n.iter().any(|c| c.as_u64() > Some(0)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_regions_panels_show_data_and_a_cut_off_region_shows_unreachable() {
    let w = World::start_with(Setup {
        env: vec![
            ("SYNCKAIROS_DASHBOARD__INTERVAL_MS", "400"),
            ("SYNCKAIROS_DASHBOARD__PEER_TIMEOUT_MS", "700"),
            ("SYNCKAIROS_WS__PING_INTERVAL_MS", "200"),
        ],
        ..Setup::default()
    })
    .await;
    // Load: a session homed in each region, watched in every region (pings give the
    // client round trip), switched through every region (remote ones are forwarded).
    let mut ids = Vec::new();
    for home in REGIONS {
        let (id, _) = w.create(home, None).await;
        w.op(home, &id, "start").await.expect(200);
        ids.push(id);
    }
    w.converge(&ids, Duration::from_secs(5))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let mut watchers = Vec::new();
    for r in REGIONS {
        for id in &ids {
            watchers.push(WsClient::connect_ready(&w.node(r).ws_url(id)).await.0);
        }
    }
    // `DASHBOARD_LOAD_MS` lengthens the load for a screenshot with more history.
    let load_ms = std::env::var("DASHBOARD_LOAD_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(INTERVAL_MS * 8);
    let end = Instant::now() + Duration::from_millis(load_ms);
    while Instant::now() < end {
        for via in REGIONS {
            for id in &ids {
                w.op(via, id, "switch").await.expect(200);
            }
        }
    }
    tokio::time::sleep(Duration::from_millis(INTERVAL_MS * 2)).await;

    // The figures every region serves describe every region.
    let d = data(&w, "iad").await;
    let regions = d["regions"].as_array().expect("regions");
    assert_eq!(regions.len(), 3, "{d}");
    for r in regions {
        let name = r["region"].as_str().unwrap_or_default();
        assert_eq!(r["reachable"], true, "{name}: {r}");
        assert!(has_points(r, "switch_ms"), "{name} switch: {r}");
        assert!(has_points(r, "client_rtt_ms"), "{name} rtt: {r}");
        assert!(
            r["gauges"]["connections"]["v"]
                .as_array()
                .is_some_and(|v| v.iter().any(|c| c.as_f64() > Some(0.0))),
            "{name} connections: {r}"
        );
        for other in REGIONS.iter().filter(|o| **o != name) {
            assert!(
                has_points(r, &format!("forward_ms:{other}")),
                "{name} → {other}: {r}"
            );
            assert!(
                has_points(r, &format!("relay_lag_ms:{other}")),
                "{name} ← {other}: {r}"
            );
        }
    }

    // The page, rendered: every column is reachable and its panels drew points.
    let url = format!("http://127.0.0.1:{}/dashboard", w.node("iad").proc.port);
    let dom = headless(&url, &["--dump-dom".to_owned()]);
    let cols = columns(&dom);
    assert_eq!(
        cols.iter().map(|c| c.0.as_str()).collect::<Vec<_>>(),
        vec!["iad", "lhr", "nrt"],
        "{dom}"
    );
    for (region, state, with_data) in &cols {
        assert_eq!(state, "ok", "{region}");
        for series in ["switch_ms", "client_rtt_ms", "connections", "requests"] {
            assert!(
                with_data.iter().any(|s| s == series),
                "{region}: panel {series} has no points ({with_data:?})"
            );
        }
        assert!(
            with_data.iter().any(|s| s.starts_with("forward_ms:"))
                && with_data.iter().any(|s| s.starts_with("relay_lag_ms:")),
            "{region}: {with_data:?}"
        );
    }
    let shot = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/dashboard.png");
    headless(
        &url,
        &[
            format!("--screenshot={}", shot.display()),
            "--window-size=1280,1500".to_owned(),
        ],
    );
    assert!(
        std::fs::metadata(&shot).is_ok_and(|m| m.len() > 10_000),
        "screenshot written"
    );
    if let Ok(to) = std::env::var("DASHBOARD_SCREENSHOT") {
        std::fs::copy(&shot, to).expect("screenshot copied");
    }

    // nrt cut off from iad (both ways): iad's page shows it unreachable, with why.
    w.cut("iad", "nrt");
    w.cut("nrt", "iad");
    let d = data(&w, "iad").await;
    let nrt = d["regions"]
        .as_array()
        .and_then(|r| r.iter().find(|r| r["region"] == "nrt"))
        .cloned()
        .unwrap_or_default();
    assert_eq!(nrt["reachable"], false, "{d}");
    assert!(
        nrt["error"].as_str().is_some_and(|e| !e.is_empty()),
        "{nrt}"
    );
    let cols = columns(&headless(&url, &["--dump-dom".to_owned()]));
    let states: Vec<(&str, &str)> = cols
        .iter()
        .map(|(r, s, _)| (r.as_str(), s.as_str()))
        .collect();
    assert_eq!(
        states,
        vec![("iad", "ok"), ("lhr", "ok"), ("nrt", "unreachable")]
    );
    w.mend("iad", "nrt");
    w.mend("nrt", "iad");
    drop(watchers);
    w.assert_healthy();
}
