//! The news desk: a web page at `/` for the people who ask "have we already
//! run this?" — check a text, see why it matches, look around the index.
//!
//! The page is three files embedded in the binary (`desk/`): no build step,
//! and the browser fetches nothing from anywhere but this service. It talks
//! to the same `/v1` API as every other client, so it can do nothing a
//! program could not.
//!
//! Safety rules, enforced here rather than trusted to the page:
//! - **Who may load it.** Without `--token-file`, anyone who can reach the
//!   port could use the index, so the page is served to loopback peers
//!   only; with a token, the page asks for it and keeps it for the tab
//!   (`sessionStorage`).
//! - **Who may call the API from a browser.** A request carrying an
//!   `Origin` header (every browser sends one on a cross-site POST or
//!   DELETE, which a plain form could otherwise fire at the service) must
//!   come from the service's own origin or from one named by
//!   `--allow-origin`; one marked `Sec-Fetch-Site: cross-site` is refused
//!   the same way. Without a token, a browser's request (it carries
//!   `Origin` or `Sec-Fetch-Mode`) must name the service by `localhost` or
//!   an IP address: a web site whose own name was pointed at 127.0.0.1
//!   (DNS rebinding) would otherwise read the index with same-origin GETs,
//!   which carry no `Origin`. Programs (no such headers) are not affected.
//! - **What the page may do.** A Content-Security-Policy allows scripts and
//!   styles from the service only; the aligned view is a sandboxed frame
//!   (no scripts at all) filled with the HTML of `lookalike::render::html`,
//!   which escapes every text; the page writes texts with `textContent`.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::extract::{ConnectInfo, Request, State as Shared};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::State;
use crate::error::ApiError;

const PAGE: &str = include_str!("../desk/index.html");
const SCRIPT: &str = include_str!("../desk/desk.js");
const STYLE: &str = include_str!("../desk/desk.css");

/// Scripts, styles, requests and frames from this service only. The
/// aligned view's frame is a `srcdoc` document, which inherits this policy;
/// its one `<style>` element is why inline styles are allowed (inline
/// scripts are not). Framing by other sites is refused with
/// `X-Frame-Options` rather than `frame-ancestors`: the inherited
/// `frame-ancestors 'none'` would blank the page's own view frame.
const POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
connect-src 'self'; img-src 'self' data:; frame-src 'self'; base-uri 'none'; form-action 'none'";

fn respond(content_type: &'static str, body: String) -> Response {
    let mut r = body.into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(POLICY),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    r
}

/// `GET /`: the page, with the service's limits and whether it needs a
/// token written into its `<body>` so the page can respect them before it
/// sends anything.
pub async fn page(Shared(state): Shared<Arc<State>>) -> Response {
    let l = &state.limits;
    let html = PAGE
        .replace(
            "{{token_required}}",
            if state.token.is_some() {
                "true"
            } else {
                "false"
            },
        )
        .replace("{{max_body}}", &l.max_body_bytes.to_string())
        .replace("{{max_document}}", &l.max_document_bytes.to_string())
        .replace("{{max_batch}}", &l.max_batch.to_string());
    respond("text/html; charset=utf-8", html)
}

/// `GET /desk.js`.
pub async fn script() -> Response {
    respond("text/javascript; charset=utf-8", SCRIPT.to_string())
}

/// `GET /desk.css`.
pub async fn style() -> Response {
    respond("text/css; charset=utf-8", STYLE.to_string())
}

/// The page's routes: without a token, loopback peers only. A request that
/// reached the router without a peer address (an in-process test) counts
/// as remote.
pub async fn loopback_unless_token(
    Shared(state): Shared<Arc<State>>,
    req: Request,
    next: Next,
) -> Response {
    if state.token.is_none() {
        let peer = req
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip());
        // `[::]` listens on IPv4 too; its IPv4 peers arrive as
        // `::ffff:127.0.0.1`.
        if !peer.is_some_and(|ip| ip.to_canonical().is_loopback()) {
            return ApiError::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                "without --token-file the desk page is served to this machine only; open it on the machine running `lookalike serve`, or restart it with --token-file",
            )
            .into_response();
        }
    }
    next.run(req).await
}

/// The name or address in a Host header, without its port.
fn host_name(host: &str) -> &str {
    match host.strip_prefix('[') {
        // [::1]:7878
        Some(rest) => rest.split(']').next().unwrap_or(""),
        None => host.rsplit_once(':').map_or(host, |(name, _)| name),
    }
}

/// Whether `host` (a Host header: name or address, maybe a port) names this
/// machine's loopback interface or the address the service listens on.
fn is_local_host(host: &str, listen: SocketAddr) -> bool {
    let name = host_name(host);
    if name.eq_ignore_ascii_case("localhost") {
        return true;
    }
    match name.parse::<IpAddr>() {
        Ok(ip) => {
            let ip = ip.to_canonical();
            ip.is_loopback() || (ip == listen.ip().to_canonical() && !ip.is_unspecified())
        }
        Err(_) => false,
    }
}

/// Whether `host` is `localhost` or an IP address: names a DNS rebinding
/// attack cannot use (it needs a name of its own pointed at this machine).
fn is_unrebindable(host: &str) -> bool {
    let name = host_name(host);
    name.eq_ignore_ascii_case("localhost") || name.parse::<IpAddr>().is_ok()
}

/// Refuse browser requests from other origins (see the module's notes).
/// Requests without an `Origin` header (curl, programs, the page's own
/// same-origin reads) pass.
pub fn check_origin(headers: &HeaderMap, state: &State) -> Result<(), ApiError> {
    let text = |name: &str| headers.get(name).and_then(|h| h.to_str().ok());
    let host = text("host").unwrap_or("");
    let from_browser = headers.contains_key(header::ORIGIN) || text("sec-fetch-mode").is_some();
    if state.token.is_none() && from_browser && !is_unrebindable(host) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            format!(
                "a browser reached this service as {host:?}; without --token-file it answers browsers only at localhost or an IP address (a web site's own name pointed at this machine must not read the index): use http://localhost:PORT/, or restart it with --token-file"
            ),
        ));
    }
    let origin = text("origin");
    if let Some(origin) = origin
        && state.allow_origins.iter().any(|o| o == origin)
    {
        return Ok(());
    }
    let cross_site = text("sec-fetch-site") == Some("cross-site");
    let Some(origin) = origin else {
        if cross_site {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "cross_origin",
                "requests from other web sites are refused; restart the service with --allow-origin ORIGIN to let one call it",
            ));
        }
        return Ok(());
    };
    // The page as served (http), or behind a proxy that adds TLS (https).
    let same_origin = !host.is_empty()
        && (origin == format!("http://{host}") || origin == format!("https://{host}"));
    if same_origin && !cross_site && (state.token.is_some() || is_local_host(host, state.listen)) {
        return Ok(());
    }
    Err(ApiError::new(
        StatusCode::FORBIDDEN,
        "cross_origin",
        format!(
            "requests from the web origin {origin:?} are refused; to let pages of that origin call this service, restart it with --allow-origin {origin}"
        ),
    ))
}

/// [`check_origin`] as a layer over every route.
pub async fn same_origin_only(
    Shared(state): Shared<Arc<State>>,
    req: Request,
    next: Next,
) -> Response {
    match check_origin(req.headers(), &state) {
        Ok(()) => next.run(req).await,
        Err(e) => e.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_hosts() {
        let any: SocketAddr = "0.0.0.0:7878".parse().expect("addr");
        let lan: SocketAddr = "192.168.1.5:7878".parse().expect("addr");
        for h in [
            "localhost:7878",
            "127.0.0.1:7878",
            "[::1]:7878",
            "LOCALHOST",
            "127.0.0.1",
        ] {
            assert!(is_local_host(h, any), "{h}");
        }
        for h in [
            "evil.example:7878",
            "192.168.1.5:7878",
            "0.0.0.0:7878",
            "[::]:7878",
            "",
        ] {
            assert!(!is_local_host(h, any), "{h}");
        }
        assert!(is_local_host("192.168.1.5:7878", lan));
        assert!(is_local_host("[::ffff:127.0.0.1]:7878", any));
        for h in [
            "localhost:1",
            "10.0.0.2:7878",
            "[fe80::1]:7878",
            "127.0.0.1",
        ] {
            assert!(is_unrebindable(h), "{h}");
        }
        for h in [
            "evil.example:7878",
            "localhost.evil.example",
            "7f000001.example",
            "",
        ] {
            assert!(!is_unrebindable(h), "{h}");
        }
    }
}
