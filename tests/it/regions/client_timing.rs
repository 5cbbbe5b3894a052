//! The players' client across regions, in headless Chromium: the demo page (the JS
//! client library) connected to nrt shows a session homed in iad while another client
//! writes to iad (switches every 100–400 ms, pauses and resumes). Every sampled
//! displayed remaining time is within 5 ms + the frame's error bound of the
//! authoritative value (the iad state of the same version at iad's clock, measured
//! from the page over `/v1/time`). The harness is `clients/js/test/e2e/timing.js`
//! (`--page-url nrt --write-url iad --truth server`); `scripts/bench.sh` runs it for
//! 30 s, this test for `E2E_REGIONS_DURATION_S` (default 8).

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::support::procs::temp_dir;
use crate::support::regions::World;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_connected_to_nrt_shows_iads_time_while_iad_is_written() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let js = root.join("clients/js");
    assert!(
        js.join("node_modules/playwright-core").is_dir(),
        "clients/js/node_modules is missing: run `npm ci` in clients/js (scripts/test.sh does, \
         and installs node and chromium)"
    );
    let w = World::start().await;
    let url = |r: &str| w.node(r).proc.base_url();
    let out = temp_dir("client-timing");
    let duration = std::env::var("E2E_REGIONS_DURATION_S").unwrap_or_else(|_| "8".into());
    let args = [
        "test/e2e/timing.js".to_owned(),
        "--duration".into(),
        duration,
        "--page-url".into(),
        url("nrt"),
        "--write-url".into(),
        url("iad"),
        "--truth".into(),
        "server".into(),
        "--out".into(),
        out.display().to_string(),
    ];
    let run =
        tokio::task::block_in_place(|| Command::new("node").args(&args).current_dir(&js).output())
            .unwrap_or_else(|e| panic!("node (scripts/test.sh installs it): {e}"));
    let stdout = String::from_utf8_lossy(&run.stdout);
    println!("{stdout}{}", String::from_utf8_lossy(&run.stderr));
    assert!(
        run.status.success(),
        "the harness found violations (see above)"
    );
    let text = std::fs::read_to_string(out.join("client-timing.json")).expect("client-timing.json");
    let r: Value = serde_json::from_str(&text).expect("JSON");
    assert_eq!(r["violations"], 0, "{r}");
    assert_eq!(r["missing_states"], 0, "{r}");
    assert!(r["running_samples"].as_u64().unwrap_or(0) >= 40, "{r}");
    assert!(r["writer"]["switch"].as_u64().unwrap_or(0) >= 8, "{r}");
    // The page's clock is iad's (the home), known to nrt within about half the iad–nrt
    // round trip; what it displays is far closer than that (the links are symmetric).
    let p99 = r["displayed_error_ms"]["p99"].as_f64().expect("p99");
    assert!(p99 <= 10.0, "displayed-time error p99 {p99} ms");
    let _ = std::fs::remove_dir_all(out);
    w.assert_healthy();
}
