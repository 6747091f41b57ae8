//! The operator's session and the console's CSRF tokens.
//!
//! - **Session**: signing in with the operator token creates a random 256-bit session id,
//!   given to the browser in the `rightsnet_session` cookie (HttpOnly, SameSite=Strict, `Secure`
//!   behind TLS) and kept server side, by the SHA-256 of the id, in a bounded table. A session
//!   ends [`SESSION_IDLE`] after its last request, and [`SESSION_TTL`] after sign-in whatever
//!   its use. The operator token itself is compared once, in constant time, and never
//!   stored in a cookie, a URL or a log.
//! - **CSRF**: every form carries a hidden `csrf` field. An operator form's token is the
//!   session's own random token; a public form's (sign-in, credential check, screening) is an
//!   HMAC, under a key drawn when the console starts, of a random `rightsnet_csrf` cookie, so
//!   anonymous visitors cost the server no state. A POST whose `csrf` is not the right one is
//!   answered 403.
//!
//! The table belongs to the router the console is mounted on: restarting the node signs every
//! operator out.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::HeaderMap;
use axum::http::header::COOKIE;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::api::constant_time_equal;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "rightsnet_session";
/// The anonymous CSRF cookie's name.
pub const CSRF_COOKIE: &str = "rightsnet_csrf";
/// Most operator sessions held at once; signing in beyond it ends the session closest to
/// expiry.
pub const MAX_SESSIONS: usize = 256;
/// How long a session lasts after signing in (absolute, not renewed by use).
pub const SESSION_TTL: Duration = Duration::from_secs(8 * 60 * 60);
/// How long a session lasts without a request (renewed by every request that presents it).
pub const SESSION_IDLE: Duration = Duration::from_secs(30 * 60);

/// One signed-in operator.
struct Session {
    csrf: String,
    expires: Instant,
    last_used: Instant,
}

impl Session {
    /// Whether the session still holds at `now`: before its absolute expiry, and used within
    /// the idle limit.
    fn live(&self, now: Instant) -> bool {
        self.expires > now && now.saturating_duration_since(self.last_used) < SESSION_IDLE
    }
}

/// A signed-in operator's session, as a handler sees it.
#[derive(Debug, Clone)]
pub struct OperatorSession {
    /// The session id from the cookie (to sign out).
    pub id: String,
    /// The CSRF token of the session's forms.
    pub csrf: String,
}

/// The operator sessions and the CSRF key.
pub struct Sessions {
    table: Mutex<HashMap<[u8; 32], Session>>,
    csrf_key: [u8; 32],
    secure: bool,
}

/// 32 random bytes from the operating system, as 64 lowercase hex characters.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// Whether `value` has the form of a token this module issues (64 lowercase hex characters).
fn is_token(value: &str) -> bool {
    value.len() == 64
        && value
            .bytes()
            .all(|byte| matches!(byte, b'0'..=b'9' | b'a'..=b'f'))
}

/// The value of cookie `name` in the request's `Cookie` headers, if it has a token's form.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, value)| *key == name && is_token(value))
        .map(|(_, value)| value.to_owned())
}

impl Sessions {
    /// An empty table; `secure` marks the cookies `Secure` (the node is behind TLS).
    pub fn new(secure: bool) -> Self {
        let mut csrf_key = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut csrf_key);
        Self {
            table: Mutex::new(HashMap::new()),
            csrf_key,
            secure,
        }
    }

    fn key(id: &str) -> [u8; 32] {
        Sha256::digest(id.as_bytes()).into()
    }

    /// Starts a session; returns its id (for the cookie) and its CSRF token.
    pub fn create(&self) -> OperatorSession {
        self.create_at(Instant::now())
    }

    fn create_at(&self, now: Instant) -> OperatorSession {
        let id = random_token();
        let csrf = random_token();
        if let Ok(mut table) = self.table.lock() {
            table.retain(|_, session| session.live(now));
            if table.len() >= MAX_SESSIONS {
                let soonest = table
                    .iter()
                    .min_by_key(|(_, session)| session.expires)
                    .map(|(key, _)| *key);
                if let Some(key) = soonest {
                    table.remove(&key);
                }
            }
            table.insert(
                Self::key(&id),
                Session {
                    csrf: csrf.clone(),
                    expires: now + SESSION_TTL,
                    last_used: now,
                },
            );
        }
        OperatorSession { id, csrf }
    }

    /// The live session the request's cookie names, if any; the request renews its idle limit.
    pub fn current(&self, headers: &HeaderMap) -> Option<OperatorSession> {
        self.current_at(headers, Instant::now())
    }

    fn current_at(&self, headers: &HeaderMap, now: Instant) -> Option<OperatorSession> {
        let id = cookie(headers, SESSION_COOKIE)?;
        let mut table = self.table.lock().ok()?;
        let key = Self::key(&id);
        let session = table.get_mut(&key)?;
        if session.live(now) {
            session.last_used = now;
            Some(OperatorSession {
                id,
                csrf: session.csrf.clone(),
            })
        } else {
            table.remove(&key);
            None
        }
    }

    /// Ends a session.
    pub fn remove(&self, id: &str) {
        if let Ok(mut table) = self.table.lock() {
            table.remove(&Self::key(id));
        }
    }

    /// The CSRF token of public forms for the anonymous cookie `cookie`.
    pub fn public_csrf(&self, cookie: &str) -> String {
        let Ok(mut mac) = <Hmac<Sha256> as Mac>::new_from_slice(&self.csrf_key) else {
            // HMAC takes keys of any length; this branch cannot run.
            return random_token();
        };
        mac.update(b"rightsnet console csrf\0");
        mac.update(cookie.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    /// Whether `token` is the CSRF token of public forms for the request's anonymous cookie.
    pub fn public_csrf_ok(&self, headers: &HeaderMap, token: &str) -> bool {
        cookie(headers, CSRF_COOKIE).is_some_and(|cookie| {
            constant_time_equal(self.public_csrf(&cookie).as_bytes(), token.as_bytes())
        })
    }

    fn attributes(&self) -> &'static str {
        if self.secure {
            "; Path=/; HttpOnly; SameSite=Strict; Secure"
        } else {
            "; Path=/; HttpOnly; SameSite=Strict"
        }
    }

    /// The `Set-Cookie` value giving the browser session `id`.
    pub fn session_cookie(&self, id: &str) -> String {
        format!(
            "{SESSION_COOKIE}={id}{}; Max-Age={}",
            self.attributes(),
            SESSION_TTL.as_secs()
        )
    }

    /// The `Set-Cookie` value that removes the session cookie.
    pub fn cleared_session_cookie(&self) -> String {
        format!("{SESSION_COOKIE}={}; Max-Age=0", self.attributes())
    }

    /// The `Set-Cookie` value giving the browser the anonymous CSRF cookie `value` (for the
    /// browser's session).
    pub fn csrf_cookie(&self, value: &str) -> String {
        format!("{CSRF_COOKIE}={value}{}", self.attributes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn with_cookie(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(
            COOKIE,
            HeaderValue::from_str(value).expect("a header value"),
        );
        headers
    }

    #[test]
    fn console_sessions_are_found_by_cookie_and_end_when_removed() {
        let sessions = Sessions::new(false);
        let session = sessions.create();
        let headers = with_cookie(&format!("other=1; {SESSION_COOKIE}={}", session.id));
        let found = sessions.current(&headers).expect("the session");
        assert_eq!(found.csrf, session.csrf);
        sessions.remove(&session.id);
        assert!(sessions.current(&headers).is_none());
        assert!(
            sessions
                .current(&with_cookie(&format!("{SESSION_COOKIE}=not-a-token")))
                .is_none()
        );
    }

    #[test]
    fn console_sessions_end_when_idle_and_use_keeps_them() {
        let sessions = Sessions::new(false);
        let start = Instant::now();
        let session = sessions.create_at(start);
        let headers = with_cookie(&format!("{SESSION_COOKIE}={}", session.id));
        // A request every half idle limit keeps the session past several idle limits.
        let step = SESSION_IDLE / 2;
        for n in 1..=6 {
            assert!(
                sessions.current_at(&headers, start + step * n).is_some(),
                "used within the limit ({n})"
            );
        }
        let last = start + step * 6;
        assert!(
            sessions.current_at(&headers, last + SESSION_IDLE).is_none(),
            "idle for the limit"
        );
        assert!(
            sessions.table.lock().expect("the table").is_empty(),
            "the idle session was dropped"
        );
        // However it is used, a session ends at its absolute limit.
        let session = sessions.create_at(start);
        let headers = with_cookie(&format!("{SESSION_COOKIE}={}", session.id));
        let mut at = start;
        while at + step < start + SESSION_TTL {
            at += step;
            assert!(sessions.current_at(&headers, at).is_some());
        }
        assert!(sessions.current_at(&headers, start + SESSION_TTL).is_none());
    }

    #[test]
    fn console_session_table_is_bounded() {
        let sessions = Sessions::new(false);
        let first = sessions.create();
        for _ in 0..MAX_SESSIONS {
            sessions.create();
        }
        assert!(
            sessions
                .current(&with_cookie(&format!("{SESSION_COOKIE}={}", first.id)))
                .is_none(),
            "the oldest session made room"
        );
        assert_eq!(
            sessions.table.lock().expect("the table").len(),
            MAX_SESSIONS
        );
    }

    #[test]
    fn console_cookies_carry_the_attributes() {
        let plain = Sessions::new(false).session_cookie(&"ab".repeat(32));
        assert!(plain.contains("HttpOnly") && plain.contains("SameSite=Strict"));
        assert!(!plain.contains("Secure"));
        assert!(Sessions::new(true).session_cookie("x").contains("; Secure"));
        let sessions = Sessions::new(false);
        let cookie_value = random_token();
        let token = sessions.public_csrf(&cookie_value);
        let headers = with_cookie(&format!("{CSRF_COOKIE}={cookie_value}"));
        assert!(sessions.public_csrf_ok(&headers, &token));
        assert!(!sessions.public_csrf_ok(&headers, &random_token()));
        assert!(!sessions.public_csrf_ok(&HeaderMap::new(), &token));
    }
}
