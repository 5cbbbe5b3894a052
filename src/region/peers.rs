//! Finding the instances of a region: the static `cluster.peers` table, or on Fly the
//! AAAA records of `<region>.<app>.internal` (hickory-resolver), cached briefly.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use hickory_resolver::TokioResolver;

use crate::config::ClusterConfig;

const DNS_TTL: Duration = Duration::from_secs(5);

pub struct Peers {
    fixed: BTreeMap<String, Vec<String>>,
    dns: Option<(TokioResolver, String, u16)>,
    cache: Mutex<HashMap<String, (Instant, Vec<String>)>>,
}

impl Peers {
    pub fn new(c: &ClusterConfig) -> Peers {
        let dns = (c.discovery == "fly-dns")
            .then(|| {
                let resolver = TokioResolver::builder_tokio().ok()?.build().ok()?;
                Some((resolver, c.fly_app.clone()?, c.internal_port))
            })
            .flatten();
        if c.discovery == "fly-dns" && dns.is_none() {
            tracing::error!(
                "fly-dns discovery unavailable (resolver or FLY_APP_NAME missing); no peers"
            );
        }
        Peers {
            fixed: c.peers.clone(),
            dns,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// Internal base URLs of `region`'s instances (possibly empty).
    pub async fn urls(&self, region: &str) -> Vec<String> {
        let Some((resolver, app, port)) = &self.dns else {
            return self.fixed.get(region).cloned().unwrap_or_default();
        };
        if let Some((at, urls)) = self
            .cache
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(region)
        {
            if at.elapsed() < DNS_TTL {
                return urls.clone();
            }
        }
        let name = format!("{region}.{app}.internal.");
        let urls: Vec<String> = match resolver.lookup_ip(name.as_str()).await {
            Ok(ips) => ips
                .iter()
                .map(|ip| match ip {
                    std::net::IpAddr::V6(v6) => format!("http://[{v6}]:{port}"),
                    std::net::IpAddr::V4(v4) => format!("http://{v4}:{port}"),
                })
                .collect(),
            Err(e) => {
                tracing::warn!(%name, error = %crate::cause::chain(&e), "peer lookup failed");
                Vec::new()
            }
        };
        self.cache
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(region.to_owned(), (Instant::now(), urls.clone()));
        urls
    }
}
