//! Target: a base URL of a server speaking the v2 API (`http://host:port`),
//! resolved once, plus the label it carries in reports.

use anyhow::{bail, Context, Result};
use std::net::SocketAddr;

/// One server under test.
#[derive(Clone, Debug)]
pub struct Target {
    /// Short name used in tables and file names (`base`, `compare`, a region…).
    pub label: String,
    /// The URL as given, without a trailing slash.
    pub url: String,
    /// `host:port` for the Host header.
    pub authority: String,
    pub addr: SocketAddr,
    /// A bearer token sent with every HTTP request (a server with `auth.mode = "on"`).
    pub bearer: Option<String>,
}

impl Target {
    /// Parses and resolves `http://host[:port]` (https is not supported: loopback only).
    pub async fn parse(label: &str, url: &str) -> Result<Self> {
        let url = url.trim_end_matches('/');
        let rest = match url.strip_prefix("http://") {
            Some(r) => r,
            None if url.starts_with("https://") => bail!("https is not supported: {url}"),
            None => url,
        };
        if rest.contains('/') {
            bail!("base URL must not carry a path: {url}");
        }
        let authority = if rest.contains(':') {
            rest.to_string()
        } else {
            format!("{rest}:80")
        };
        let addr = tokio::net::lookup_host(&authority)
            .await
            .with_context(|| format!("resolving {authority}"))?
            .next()
            .with_context(|| format!("no address for {authority}"))?;
        Ok(Target {
            label: label.to_string(),
            url: format!("http://{rest}"),
            authority,
            addr,
            bearer: None,
        })
    }

    /// Parses a list of targets; labels are `base` and `compare` for one or two.
    pub async fn parse_pair(base: &str, compare: Option<&str>) -> Result<Vec<Target>> {
        let mut v = vec![Target::parse("base", base).await?];
        if let Some(c) = compare {
            v.push(Target::parse("compare", c).await?);
        }
        Ok(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn parses_loopback() {
        let t = Target::parse("x", "http://127.0.0.1:3100/").await.unwrap();
        assert_eq!(t.authority, "127.0.0.1:3100");
        assert_eq!(t.url, "http://127.0.0.1:3100");
        assert_eq!(t.addr.port(), 3100);
        assert!(Target::parse("x", "http://127.0.0.1:1/x").await.is_err());
    }
}
