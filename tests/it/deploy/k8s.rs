//! The Kubernetes manifests of `deploy/k8s/`, validated offline: `kubectl kustomize`
//! renders them, `kubernetes-validate --strict` checks every resource against the
//! Kubernetes schemas, and the rendered objects are checked against what the server
//! reads: the port, `/health` and `/ready` probes and `/metrics` annotations on routes
//! that exist, the ConfigMap as valid configuration without secrets, graceful shutdown
//! longer than `server.shutdown_grace_ms`, no session affinity, and an HPA on CPU,
//! memory and the `synckairos_websocket_connections` gauge that the prometheus-adapter
//! rule exposes.

use crate::support::deploy::*;
use serde_json::Value;
use synckairos::front::routes::Route;
use synckairos::metrics::WS_CONNECTIONS;

fn rendered() -> Vec<Value> {
    let yaml = succeed("kubectl", &["kustomize", "deploy/k8s"], &[]);
    yaml_docs(&yaml)
}

fn kind<'a>(docs: &'a [Value], kind: &str) -> &'a Value {
    let found: Vec<&Value> = docs.iter().filter(|d| d["kind"] == kind).collect();
    assert_eq!(found.len(), 1, "one {kind} expected");
    found[0]
}

fn container(deploy: &Value) -> &Value {
    let containers = deploy["spec"]["template"]["spec"]["containers"]
        .as_array()
        .expect("containers");
    assert_eq!(containers.len(), 1, "one container");
    &containers[0]
}

/// The environment of the pods: the ConfigMap's data.
fn config_env(docs: &[Value]) -> Vec<(String, String)> {
    string_map(&kind(docs, "ConfigMap")["data"], "ConfigMap data")
}

#[test]
fn every_manifest_passes_the_kubernetes_schemas() {
    let dir = std::env::temp_dir().join(format!("synckairos-k8s-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("rendered.yaml");
    std::fs::write(&file, succeed("kubectl", &["kustomize", "deploy/k8s"], &[])).unwrap();
    let out = succeed(
        "python3",
        &[
            "-m",
            "kubernetes_validate",
            "--strict",
            file.to_str().unwrap(),
            "deploy/k8s/prometheus-adapter.yaml",
        ],
        &[],
    );
    let _ = std::fs::remove_dir_all(&dir);
    for kind in [
        "namespace",
        "configmap",
        "deployment",
        "service",
        "poddisruptionbudget",
        "horizontalpodautoscaler",
    ] {
        assert!(
            out.contains(&format!("passed for resource {kind}/")),
            "{out}"
        );
    }
    assert!(out.contains("configmap/synckairos-adapter-rules"), "{out}");
}

#[test]
fn the_pods_serve_the_servers_port_with_its_probes_and_metrics() {
    let docs = rendered();
    let deploy = kind(&docs, "Deployment");
    let c = container(deploy);
    let cfg = load_with_env(&config_env(&docs));
    let port = c["ports"][0]["containerPort"].as_u64().unwrap();
    assert_eq!(port, cfg.server.port as u64, "containerPort = PORT");
    assert_eq!(c["ports"][0]["name"], "http");
    for (probe, path, route) in [
        ("readinessProbe", "/ready", Route::Ready),
        ("livenessProbe", "/health", Route::Health),
        ("startupProbe", "/health", Route::Health),
    ] {
        let get = &c[probe]["httpGet"];
        assert_eq!(get["path"], path, "{probe}");
        assert_eq!(get["port"], "http", "{probe}");
        routes_to(path, route);
    }
    let ann = &deploy["spec"]["template"]["metadata"]["annotations"];
    assert_eq!(ann["prometheus.io/scrape"], "true");
    assert_eq!(ann["prometheus.io/port"], port.to_string());
    routes_to(ann["prometheus.io/path"].as_str().unwrap(), Route::Metrics);
    // The image's user (Dockerfile: uid 10001), never root.
    let sc = &deploy["spec"]["template"]["spec"]["securityContext"];
    assert_eq!(sc["runAsNonRoot"], true);
    assert!(read("Dockerfile").contains(&format!("--uid {}", sc["runAsUser"])));
}

#[test]
fn configuration_comes_from_the_configmap_and_secrets_from_a_secret() {
    let docs = rendered();
    let env = config_env(&docs);
    for (name, _) in &env {
        let upper = name.to_ascii_uppercase();
        assert!(
            !["REDIS_URL", "DATABASE_URL", "SECRET", "PASSWORD"]
                .iter()
                .any(|s| upper.contains(s)),
            "{name}: secrets belong in the Secret synckairos-secrets"
        );
    }
    load_with_env(&env);
    let from = &container(kind(&docs, "Deployment"))["envFrom"];
    assert_eq!(from[0]["configMapRef"]["name"], "synckairos-config");
    assert_eq!(from[1]["secretRef"]["name"], "synckairos-secrets");
    // The deploy script creates that Secret with the keys the server reads.
    let script = read("scripts/deploy/k8s.sh");
    for key in ["REDIS_URL=", "DATABASE_URL="] {
        assert!(script.contains(key), "k8s.sh does not set {key}");
    }
    assert!(script.contains("synckairos-secrets"));
}

#[test]
fn shutdown_outlasts_the_servers_grace_and_the_prestop_pause() {
    let docs = rendered();
    let deploy = kind(&docs, "Deployment");
    let grace_ms = load_with_env(&config_env(&docs)).server.shutdown_grace_ms;
    let pre_stop = &container(deploy)["lifecycle"]["preStop"]["exec"]["command"];
    assert_eq!(pre_stop[0], "sleep", "preStop pauses for endpoint removal");
    let pause_s: u64 = pre_stop[1].as_str().unwrap().parse().unwrap();
    let termination_s = deploy["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
        .as_u64()
        .unwrap();
    assert!(
        termination_s * 1000 > pause_s * 1000 + grace_ms,
        "terminationGracePeriodSeconds {termination_s} ≤ preStop {pause_s} s + grace {grace_ms} ms"
    );
    let rolling = &deploy["spec"]["strategy"]["rollingUpdate"];
    assert_eq!(rolling["maxUnavailable"], 0, "rollouts never drop capacity");
}

#[test]
fn no_session_affinity_and_a_disruption_budget_on_the_same_pods() {
    let docs = rendered();
    let deploy = kind(&docs, "Deployment");
    let labels = &deploy["spec"]["selector"]["matchLabels"];
    let svc = kind(&docs, "Service");
    assert_eq!(svc["spec"]["sessionAffinity"], "None");
    assert_eq!(&svc["spec"]["selector"], labels);
    assert_eq!(svc["spec"]["ports"][0]["targetPort"], "http");
    assert!(
        deploy["spec"]["template"]["spec"]["affinity"].is_null(),
        "no pod affinity"
    );
    let pdb = kind(&docs, "PodDisruptionBudget");
    assert_eq!(&pdb["spec"]["selector"]["matchLabels"], labels);
    assert_eq!(pdb["spec"]["maxUnavailable"], 1);
}

#[test]
fn the_hpa_scales_on_cpu_memory_and_websockets_per_pod() {
    let docs = rendered();
    let hpa = kind(&docs, "HorizontalPodAutoscaler");
    assert_eq!(hpa["apiVersion"], "autoscaling/v2");
    assert_eq!(hpa["spec"]["scaleTargetRef"]["kind"], "Deployment");
    assert_eq!(
        hpa["spec"]["scaleTargetRef"]["name"],
        kind(&docs, "Deployment")["metadata"]["name"]
    );
    let metrics = hpa["spec"]["metrics"].as_array().unwrap();
    let resource = |name: &str| {
        metrics
            .iter()
            .any(|m| m["type"] == "Resource" && m["resource"]["name"] == name)
    };
    assert!(resource("cpu") && resource("memory"), "{metrics:?}");
    let pods = metrics
        .iter()
        .find(|m| m["type"] == "Pods")
        .expect("a Pods metric");
    assert_eq!(pods["pods"]["metric"]["name"], WS_CONNECTIONS);
    assert_eq!(pods["pods"]["target"]["type"], "AverageValue");
    assert!(hpa["spec"]["minReplicas"].as_u64().unwrap() >= 2);
}

#[test]
fn the_adapter_rule_exposes_the_connection_gauge_per_pod() {
    let cm = yaml_file("deploy/k8s/prometheus-adapter.yaml");
    assert_eq!(cm["kind"], "ConfigMap");
    let config = yaml_docs(cm["data"]["config.yaml"].as_str().expect("config.yaml"));
    let rules = config[0]["rules"].as_array().expect("rules");
    let rule = rules
        .iter()
        .find(|r| r["name"]["as"] == WS_CONNECTIONS)
        .expect("a rule naming the connection gauge");
    assert!(rule["seriesQuery"]
        .as_str()
        .unwrap()
        .contains(WS_CONNECTIONS));
    let overrides = &rule["resources"]["overrides"];
    assert_eq!(overrides["pod"]["resource"], "pod");
    assert_eq!(overrides["namespace"]["resource"], "namespace");
    assert!(rule["metricsQuery"]
        .as_str()
        .unwrap()
        .contains("<<.Series>>"));
    // The helm release the deploy script installs uses this ConfigMap.
    let script = read("scripts/deploy/k8s.sh");
    assert!(script.contains(&format!(
        "rules.existing={}",
        cm["metadata"]["name"].as_str().unwrap()
    )));
}
