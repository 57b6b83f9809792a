//! Security headers on every response, including a Content-Security-Policy that lets
//! the WebAssembly console run and nothing else, and what caches may keep: API answers
//! nothing (`no-store`), the console's content-hashed files for a year (`immutable`),
//! its page only after checking (`no-cache`).

use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;
use sha2::{Digest, Sha256};

use crate::AppState;

/// The CSP for the console in `dist/index.html`. Trunk writes one inline module script
/// that loads the app; its hash is allowed, so no `'unsafe-inline'` is needed.
pub fn content_security_policy(index_html: Option<&str>) -> String {
    let inline_hashes: String = index_html
        .map(inline_scripts)
        .unwrap_or_default()
        .iter()
        .map(|script| {
            let digest = Sha256::digest(script.as_bytes());
            format!(" 'sha256-{}'", base64(&digest))
        })
        .collect();
    format!(
        "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'{inline_hashes}; style-src 'self'; \
         img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; \
         frame-ancestors 'none'"
    )
}

/// The bodies of `<script>` elements without a `src`.
fn inline_scripts(html: &str) -> Vec<&str> {
    let mut scripts = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find("<script") {
        let Some(tag_end) = rest[start..].find('>') else { break };
        let tag = &rest[start..start + tag_end];
        let body_start = start + tag_end + 1;
        let Some(body_len) = rest[body_start..].find("</script>") else { break };
        if !tag.contains(" src=") {
            scripts.push(&rest[body_start..body_start + body_len]);
        }
        rest = &rest[body_start + body_len..];
    }
    scripts
}

fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Whether the path names a file Trunk named by its content (`keel-frontend-<hash>.js`,
/// `…_bg.wasm`, `base-<hash>.css`; the hash is a u64 in hex, 16 digits unless it starts
/// with zeros): a new build gives it a new name.
fn is_hashed_asset(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or_default();
    let stem = name.split('.').next().unwrap_or_default().trim_end_matches("_bg");
    stem.rsplit_once('-')
        .is_some_and(|(_, hash)| (12..=16).contains(&hash.len()) && hash.bytes().all(|byte| byte.is_ascii_hexdigit()))
}

/// What caches may keep of a response to `path` with this content type.
fn cache_control(path: &str, content_type: &str) -> &'static str {
    if path.starts_with("/api/") || content_type.contains("json") || content_type.starts_with("text/event-stream") {
        "no-store"
    } else if is_hashed_asset(path) {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    }
}

/// Middleware adding the security and caching headers.
pub async fn add_security_headers(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let path = request.uri().path().to_owned();
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    if !headers.contains_key(header::CACHE_CONTROL) {
        let content_type = headers.get(header::CONTENT_TYPE).and_then(|value| value.to_str().ok()).unwrap_or_default();
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache_control(&path, content_type)));
    }
    if let Ok(csp) = HeaderValue::from_str(&state.content_security_policy) {
        headers.insert(header::CONTENT_SECURITY_POLICY, csp);
    }
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    headers.insert(HeaderName::from_static("cross-origin-opener-policy"), HeaderValue::from_static("same-origin"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_scripts_are_allowed_by_hash_and_nothing_else_inline() {
        let html = r#"<script type="module">import init from '/app.js';</script><script src="/x.js"></script>"#;
        assert_eq!(inline_scripts(html), ["import init from '/app.js';"]);
        let csp = content_security_policy(Some(html));
        // echo -n "import init from '/app.js';" | openssl dgst -sha256 -binary | base64
        assert!(csp.contains("script-src 'self' 'wasm-unsafe-eval' 'sha256-"), "{csp}");
        assert!(!csp.contains("unsafe-inline"));
    }

    #[test]
    fn api_answers_are_not_stored_and_hashed_console_files_are_kept() {
        assert_eq!(cache_control("/api/models", "application/json"), "no-store");
        assert_eq!(cache_control("/metrics", "application/problem+json"), "no-store");
        assert_eq!(
            cache_control("/keel-frontend-0a1b2c3d4e5f6789.js", "text/javascript"),
            "public, max-age=31536000, immutable"
        );
        assert_eq!(
            cache_control("/keel-frontend-0a1b2c3d4e5f6789_bg.wasm", "application/wasm"),
            "public, max-age=31536000, immutable"
        );
        assert_eq!(cache_control("/style-0a1b2c3d4e5f6789.css", "text/css"), "public, max-age=31536000, immutable");
        assert_eq!(cache_control("/models/abc", "text/html"), "no-cache", "the page itself is checked each time");
        assert_eq!(cache_control("/favicon.svg", "image/svg+xml"), "no-cache");
    }

    #[test]
    fn base64_matches_the_standard_alphabet_with_padding() {
        assert_eq!(base64(b"Man"), "TWFu");
        assert_eq!(base64(b"Ma"), "TWE=");
        assert_eq!(base64(b"M"), "TQ==");
    }
}
