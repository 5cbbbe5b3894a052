//! Route matching by hand: method + path → a `Route`, a 405, or a 404. Like v2
//! (Express defaults), static segments match case-insensitively and one trailing
//! slash is ignored; the `:id` segment is kept exactly as sent.
//!
//! Owns: the route table and each route's metrics label. Must not: do any work.

use hyper::Method;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SessionOp {
    Start,
    Switch,
    Pause,
    Resume,
    Complete,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route<'a> {
    Health,
    Ready,
    Metrics,
    ApiDocsJson,
    ApiDocs,
    /// Per-region latency dashboard (HTML drawing `/dashboard/data`).
    Dashboard,
    /// The dashboard's figures for every region (JSON).
    DashboardData,
    /// Two-player clock demo page of the JS client (`clients/js/demo`).
    Demo,
    /// The JS client bundle the demo page imports (`clients/js/dist/synckairos.js`).
    DemoScript,
    Time,
    WebSocket,
    CreateSession,
    GetSession(&'a str),
    DeleteSession(&'a str),
    /// The audit history of a session (extension).
    Events(&'a str),
    Op(&'a str, SessionOp),
    /// Move a session's home (operators; issue 11).
    Rehome(&'a str),
    /// The cluster as this region sees it (operators).
    RegionStatus,
    /// Re-home every session of a region to its successors (operators).
    RegionDrain(&'a str),
}

#[derive(Debug, PartialEq, Eq)]
pub enum Matched<'a> {
    Route(Route<'a>),
    MethodNotAllowed,
    NotFound,
}

impl Route<'_> {
    /// The route pattern used as the metrics `route` label.
    pub fn label(&self) -> &'static str {
        match self {
            Route::Health => "/health",
            Route::Ready => "/ready",
            Route::Metrics => "/metrics",
            Route::ApiDocsJson => "/api-docs.json",
            Route::ApiDocs => "/api-docs",
            Route::Dashboard => "/dashboard",
            Route::DashboardData => "/dashboard/data",
            Route::Demo => "/demo",
            Route::DemoScript => "/demo/synckairos.js",
            Route::Time => "/v1/time",
            Route::WebSocket => "/ws",
            Route::CreateSession => "/v1/sessions",
            Route::GetSession(_) | Route::DeleteSession(_) => "/v1/sessions/:id",
            Route::Events(_) => "/v1/sessions/:id/events",
            Route::Rehome(_) => "/v1/sessions/:id/rehome",
            Route::RegionStatus => "/v1/regions/status",
            Route::RegionDrain(_) => "/v1/regions/:region/drain",
            Route::Op(_, op) => match op {
                SessionOp::Start => "/v1/sessions/:id/start",
                SessionOp::Switch => "/v1/sessions/:id/switch",
                SessionOp::Pause => "/v1/sessions/:id/pause",
                SessionOp::Resume => "/v1/sessions/:id/resume",
                SessionOp::Complete => "/v1/sessions/:id/complete",
            },
        }
    }

    /// Routes outside the general rate limiter (as in v2).
    pub fn is_exempt(&self) -> bool {
        matches!(
            self,
            Route::Health
                | Route::Ready
                | Route::Metrics
                | Route::Dashboard
                | Route::DashboardData
                | Route::Demo
                | Route::DemoScript
                | Route::ApiDocsJson
                | Route::ApiDocs
                | Route::WebSocket
        )
    }
}

fn eq(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

pub fn route<'a>(method: &Method, path: &'a str) -> Matched<'a> {
    let trimmed = match path.strip_suffix('/') {
        Some(p) if !p.is_empty() => p,
        _ => path,
    };
    let segs: Vec<&'a str> = trimmed.split('/').skip(1).collect();
    let get = method == Method::GET || method == Method::HEAD;
    let post = method == Method::POST;
    let pick = |ok: bool, r: Route<'a>| {
        if ok {
            Matched::Route(r)
        } else {
            Matched::MethodNotAllowed
        }
    };
    match segs.as_slice() {
        [s] if eq(s, "health") => pick(get, Route::Health),
        [s] if eq(s, "ready") => pick(get, Route::Ready),
        [s] if eq(s, "metrics") => pick(get, Route::Metrics),
        [s] if eq(s, "api-docs.json") => pick(get, Route::ApiDocsJson),
        [s, ..] if eq(s, "api-docs") => pick(get, Route::ApiDocs),
        [s] if eq(s, "ws") => pick(get, Route::WebSocket),
        [s] if eq(s, "dashboard") => pick(get, Route::Dashboard),
        [s, d] if eq(s, "dashboard") && eq(d, "data") => pick(get, Route::DashboardData),
        [s] if eq(s, "demo") => pick(get, Route::Demo),
        [s, f] if eq(s, "demo") && eq(f, "synckairos.js") => pick(get, Route::DemoScript),
        [v, t] if eq(v, "v1") && eq(t, "time") => pick(get, Route::Time),
        [v, s] if eq(v, "v1") && eq(s, "sessions") => pick(post, Route::CreateSession),
        [v, s, id] if eq(v, "v1") && eq(s, "sessions") => {
            if get {
                Matched::Route(Route::GetSession(id))
            } else if method == Method::DELETE {
                Matched::Route(Route::DeleteSession(id))
            } else {
                Matched::MethodNotAllowed
            }
        }
        [v, s, id, e] if eq(v, "v1") && eq(s, "sessions") && eq(e, "events") => {
            pick(get, Route::Events(id))
        }
        [v, s, id, r] if eq(v, "v1") && eq(s, "sessions") && eq(r, "rehome") => {
            pick(post, Route::Rehome(id))
        }
        [v, r, s] if eq(v, "v1") && eq(r, "regions") && eq(s, "status") => {
            pick(get, Route::RegionStatus)
        }
        [v, r, region, d] if eq(v, "v1") && eq(r, "regions") && eq(d, "drain") => {
            pick(post, Route::RegionDrain(region))
        }
        [v, s, id, op] if eq(v, "v1") && eq(s, "sessions") => {
            let op = match op.to_ascii_lowercase().as_str() {
                "start" => SessionOp::Start,
                "switch" => SessionOp::Switch,
                "pause" => SessionOp::Pause,
                "resume" => SessionOp::Resume,
                "complete" => SessionOp::Complete,
                _ => return Matched::NotFound,
            };
            pick(post, Route::Op(id, op))
        }
        _ => Matched::NotFound,
    }
}

/// The `Allow` header value for `path` (for a 405): the methods it has a route for.
pub fn allowed(path: &str) -> String {
    let mut methods: Vec<&str> = [Method::GET, Method::POST, Method::DELETE]
        .iter()
        .filter(|m| matches!(route(m, path), Matched::Route(_)))
        .map(Method::as_str)
        .collect();
    if methods.contains(&"GET") {
        methods.insert(1, "HEAD");
    }
    methods.push("OPTIONS");
    methods.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_contract_routes() {
        let id = "223e4567-e89b-12d3-a456-426614174001";
        let p = format!("/v1/sessions/{id}/switch");
        assert_eq!(
            route(&Method::POST, &p),
            Matched::Route(Route::Op(id, SessionOp::Switch))
        );
        assert_eq!(route(&Method::GET, &p), Matched::MethodNotAllowed);
        let p = format!("/V1/Sessions/{id}/");
        assert_eq!(
            route(&Method::GET, &p),
            Matched::Route(Route::GetSession(id))
        );
        assert_eq!(
            route(&Method::DELETE, &p),
            Matched::Route(Route::DeleteSession(id))
        );
        assert_eq!(
            route(&Method::GET, "/v1/sessions"),
            Matched::MethodNotAllowed
        );
        assert_eq!(route(&Method::GET, "/nope"), Matched::NotFound);
        assert_eq!(route(&Method::GET, "/"), Matched::NotFound);
        assert_eq!(
            route(&Method::HEAD, "/health/"),
            Matched::Route(Route::Health)
        );
        assert_eq!(
            route(&Method::GET, "/api-docs/index.html"),
            Matched::Route(Route::ApiDocs)
        );
        assert_eq!(route(&Method::GET, "/demo/"), Matched::Route(Route::Demo));
        assert_eq!(
            route(&Method::GET, "/demo/synckairos.js"),
            Matched::Route(Route::DemoScript)
        );
        assert_eq!(route(&Method::POST, "/demo"), Matched::MethodNotAllowed);
        assert_eq!(route(&Method::GET, "/demo/other.js"), Matched::NotFound);
    }
}
