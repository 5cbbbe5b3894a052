//! Railway, AWS App Runner and Fly's autoscaling, validated offline, and
//! `scripts/deploy.sh --dry-run` for all five platforms. `deploy/railway.toml` is
//! checked against Railway's config-as-code keys and its Dockerfile against the root
//! one; `deploy/apprunner.yaml` against botocore's model of App Runner's
//! `CreateService` input (the same model the AWS CLI validates with); both against
//! what the server reads. Every dry run prints the commands it would run and never a
//! secret.

use crate::support::deploy::*;
use serde_json::Value;
use synckairos::front::routes::Route;
use toml::Table;

fn railway() -> Table {
    read("deploy/railway.toml").parse().expect("railway.toml")
}

/// Railway's config-as-code keys (railway.com/railway.schema.json) and their types.
const RAILWAY_BUILD: &[(&str, &str)] = &[
    ("builder", "string"),
    ("dockerfilePath", "string"),
    ("watchPatterns", "array"),
    ("buildCommand", "string"),
    ("nixpacksConfigPath", "string"),
    ("nixpacksPlan", "table"),
    ("nixpacksVersion", "string"),
];
const RAILWAY_DEPLOY: &[(&str, &str)] = &[
    ("startCommand", "string"),
    ("preDeployCommand", "array"),
    ("numReplicas", "integer"),
    ("multiRegionConfig", "table"),
    ("healthcheckPath", "string"),
    ("healthcheckTimeout", "integer"),
    ("restartPolicyType", "string"),
    ("restartPolicyMaxRetries", "integer"),
    ("cronSchedule", "string"),
    ("overlapSeconds", "integer"),
    ("drainingSeconds", "integer"),
    ("sleepApplication", "boolean"),
    ("region", "string"),
];

fn check_keys(section: &Table, allowed: &[(&str, &str)], what: &str) {
    for (key, value) in section {
        let (_, ty) = allowed
            .iter()
            .find(|(k, _)| k == key)
            .unwrap_or_else(|| panic!("railway.toml: {what}.{key} is not a Railway setting"));
        assert_eq!(&value.type_str(), ty, "railway.toml: {what}.{key}");
    }
}

/// A Dockerfile's instructions without comments, continuation lines joined, BuildKit
/// cache mounts dropped and whitespace collapsed.
fn instructions(text: &str) -> Vec<String> {
    let mut joined = String::new();
    for line in text.lines().map(str::trim) {
        if line.starts_with('#') || line.is_empty() {
            continue;
        }
        match line.strip_suffix('\\') {
            Some(part) => joined.push_str(&format!("{part} ")),
            None => joined.push_str(&format!("{line}\n")),
        }
    }
    joined
        .lines()
        .map(|l| {
            l.split_whitespace()
                .filter(|w| !w.starts_with("--mount=type=cache"))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect()
}

#[test]
fn railway_config_uses_known_settings_and_the_servers_routes() {
    let t = railway();
    for top in t.keys() {
        assert!(
            ["build", "deploy", "environments", "$schema"].contains(&top.as_str()),
            "{top}"
        );
    }
    let build = t["build"].as_table().unwrap();
    let deploy = t["deploy"].as_table().unwrap();
    check_keys(build, RAILWAY_BUILD, "build");
    check_keys(deploy, RAILWAY_DEPLOY, "deploy");
    assert_eq!(build["builder"].as_str(), Some("DOCKERFILE"));
    assert!(exists(build["dockerfilePath"].as_str().unwrap()));
    assert_eq!(deploy["healthcheckPath"].as_str(), Some("/ready"));
    routes_to("/ready", Route::Ready);
    assert!(
        ["ON_FAILURE", "ALWAYS", "NEVER"].contains(&deploy["restartPolicyType"].as_str().unwrap())
    );
    let draining_ms = deploy["drainingSeconds"].as_integer().unwrap() as u64 * 1000;
    let grace = load_with_env(&[]).server.shutdown_grace_ms;
    assert!(draining_ms > grace, "drainingSeconds ≤ shutdown grace");
    for (region, cfg) in deploy["multiRegionConfig"].as_table().unwrap() {
        assert!(
            cfg["numReplicas"].as_integer().unwrap() >= 2,
            "{region}: several replicas"
        );
    }
    // No secret in the file: the stores are variable references set by the script.
    let text = read("deploy/railway.toml");
    assert!(!text.contains("redis://") && !text.contains("postgres://"));
    let script = read("scripts/deploy/railway.sh");
    assert!(script.contains("REDIS_URL=${{Redis.REDIS_URL}}"));
    assert!(script.contains("DATABASE_URL=${{Postgres.DATABASE_URL}}"));
}

#[test]
fn railways_dockerfile_is_the_root_one_without_cache_mounts() {
    let root = instructions(&read("Dockerfile"));
    let railway = instructions(&read("deploy/railway.Dockerfile"));
    assert_eq!(railway, root);
    assert!(!read("deploy/railway.Dockerfile").contains("--mount="));
}

const BOTOCORE_CHECK: &str = r#"
import json, sys, yaml, botocore.session
from botocore.validate import ParamValidator
spec = yaml.safe_load(open(sys.argv[1]))
model = botocore.session.get_session().get_service_model("apprunner")
report = ParamValidator().validate(spec, model.operation_model("CreateService").input_shape)
if report.has_errors():
    sys.exit(report.generate_report())
json.dump(spec, sys.stdout)
"#;

#[test]
fn apprunner_spec_is_a_valid_create_service_input_for_this_server() {
    let out = succeed(
        "python3",
        &["-c", BOTOCORE_CHECK, "deploy/apprunner.yaml"],
        &[],
    );
    let spec: Value = serde_json::from_str(&out).unwrap();
    let image = &spec["SourceConfiguration"]["ImageRepository"]["ImageConfiguration"];
    let env = string_map(
        &image["RuntimeEnvironmentVariables"],
        "RuntimeEnvironmentVariables",
    );
    let with_region: Vec<(String, String)> = env
        .into_iter()
        .map(|(k, v)| (k, v.replace("${SYNCKAIROS_REGION}", "us-east-1")))
        .collect();
    let cfg = load_with_env(&with_region);
    assert_eq!(image["Port"], cfg.server.port.to_string());
    let secrets: Vec<&String> = image["RuntimeEnvironmentSecrets"]
        .as_object()
        .unwrap()
        .keys()
        .collect();
    assert_eq!(
        secrets,
        ["REDIS_URL", "DATABASE_URL"],
        "stores from Secrets Manager"
    );
    let health = &spec["HealthCheckConfiguration"];
    assert_eq!(health["Protocol"], "HTTP");
    routes_to(health["Path"].as_str().unwrap(), Route::Health);
    // Every placeholder is one the deploy script fills.
    let script = read("scripts/deploy/apprunner.sh");
    let text = read("deploy/apprunner.yaml");
    for part in text.split("${").skip(1) {
        let name = &part[..part.find('}').unwrap()];
        assert!(
            script.contains(&format!("'${{{name}}}'")),
            "placeholder {name} not filled"
        );
    }
}

#[test]
fn fly_autostarts_and_autostops_with_a_machine_kept_per_region() {
    let fly: Table = read("fly.toml").parse().unwrap();
    let svc = fly["http_service"].as_table().unwrap();
    assert_eq!(svc["auto_start_machines"].as_bool(), Some(true));
    let stop = svc["auto_stop_machines"].as_str().unwrap();
    assert!(
        ["stop", "suspend"].contains(&stop),
        "auto_stop_machines {stop}"
    );
    assert!(svc["min_machines_running"].as_integer().unwrap() >= 1);
    let conc = svc["concurrency"].as_table().unwrap();
    assert!(conc["soft_limit"].as_integer() < conc["hard_limit"].as_integer());
    // min_machines_running covers the primary region only: the script pins one
    // machine per region (deadlines, relay and WebSockets need one everywhere).
    let out = dry_run("fly", &[], &[]);
    let regions: Vec<String> = std::fs::read_dir(root().join("regions"))
        .unwrap()
        .filter_map(|e| e.unwrap().file_name().into_string().ok())
        .filter_map(|n| n.strip_suffix(".toml").map(str::to_owned))
        .filter(|n| n != "default")
        .collect();
    for r in &regions {
        assert!(
            out.contains(&format!("fly scale count 2 --region {r} ")),
            "{out}"
        );
        assert!(
            out.contains(&format!(
                "fly machine update <first machine in {r}> --autostop=off"
            )),
            "{out}"
        );
    }
}

#[test]
fn every_platform_dry_run_prints_its_commands_and_no_secret() {
    let secret_env = [
        (
            "REDIS_URL",
            "rediss://app:redis-pass-123@redis.example:6379",
        ),
        ("DATABASE_URL", "postgres://app:pg-pass-456@db.example/sk"),
        ("POSTGRES_PASSWORD", "pg-pass-789"),
        ("IMAGE", "registry.example/synckairos:1"),
        ("AWS_REGION", "us-east-1"),
    ];
    let cases: [(&str, &[&str]); 5] = [
        ("fly", &["fly deploy --remote-only", "fly status"]),
        (
            "railway",
            &["railway up --service synckairos", "railway variables"],
        ),
        (
            "apprunner",
            &[
                "aws apprunner create-service --cli-input-yaml",
                "docker push",
            ],
        ),
        (
            "docker",
            &[
                "docker compose -p synckairos -f deploy/docker/compose.yaml up -d --build",
                "/ready",
            ],
        ),
        (
            "k8s",
            &[
                "kubectl apply -f deploy/k8s/prometheus-adapter.yaml",
                "kubectl apply -k",
                "rollout status",
            ],
        ),
    ];
    for (platform, wants) in cases {
        let out = dry_run(platform, &[], &secret_env);
        assert!(out.starts_with(&format!("# dry run ({platform})")), "{out}");
        for want in wants {
            assert!(out.contains(want), "{platform}: no `{want}` in\n{out}");
        }
        for (_, v) in &secret_env[..3] {
            let pass = v.rsplit(':').next().unwrap().split('@').next().unwrap();
            assert!(!out.contains(pass), "{platform} printed a secret:\n{out}");
        }
    }
    let bad = output(
        "bash",
        &["scripts/deploy.sh", "--dry-run"],
        &[("PLATFORM", "heroku")],
    );
    assert!(!bad.status.success());
}
