//! Credentials: the three schemes Cloudflare accepts, validated once and kept out of every
//! `Debug`, `Display` and log line.

use std::fmt;

use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderName, HeaderValue};

use crate::error::ConfigError;

const X_AUTH_EMAIL: HeaderName = HeaderName::from_static("x-auth-email");
const X_AUTH_KEY: HeaderName = HeaderName::from_static("x-auth-key");
const X_AUTH_USER_SERVICE_KEY: HeaderName = HeaderName::from_static("x-auth-user-service-key");

/// How requests prove who sends them. Exactly one scheme is used per request.
///
/// The header values are built once here, marked sensitive (so HTTP/2 never indexes them
/// and `Debug` of a header map hides them), and never printed.
#[derive(Clone)]
pub struct Credentials {
    scheme: Scheme,
    headers: Vec<(HeaderName, HeaderValue)>,
    /// The secret strings, kept to scrub them from any server text we echo back.
    secrets: Vec<Box<str>>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Scheme {
    ApiToken,
    GlobalKey,
    UserServiceKey,
}

impl Credentials {
    /// An API token, sent as `Authorization: Bearer <token>` (the preferred scheme).
    ///
    /// # Errors
    ///
    /// [`ConfigError`] when the token is empty or holds whitespace, control or non-ASCII
    /// characters.
    pub fn api_token(token: impl AsRef<str>) -> Result<Self, ConfigError> {
        let token = checked("API token", token.as_ref())?;
        let value = sensitive(&format!("Bearer {token}"))?;
        Ok(Self {
            scheme: Scheme::ApiToken,
            headers: vec![(AUTHORIZATION, value)],
            secrets: vec![token.into()],
        })
    }

    /// An account email with the global API key, sent as `X-Auth-Email` and `X-Auth-Key`.
    ///
    /// # Errors
    ///
    /// [`ConfigError`] when either is empty or holds whitespace, control or non-ASCII
    /// characters, or the email has no `@`.
    pub fn global_key(email: impl AsRef<str>, key: impl AsRef<str>) -> Result<Self, ConfigError> {
        let email = checked("email", email.as_ref())?;
        if !email.contains('@') {
            return Err(ConfigError::new("the email has no '@'"));
        }
        let key = checked("API key", key.as_ref())?;
        Ok(Self {
            scheme: Scheme::GlobalKey,
            headers: vec![
                (X_AUTH_EMAIL, sensitive(email)?),
                (X_AUTH_KEY, sensitive(key)?),
            ],
            secrets: vec![key.into()],
        })
    }

    /// A user service key, sent as `X-Auth-User-Service-Key`.
    ///
    /// # Errors
    ///
    /// [`ConfigError`] when the key is empty or holds whitespace, control or non-ASCII
    /// characters.
    pub fn user_service_key(key: impl AsRef<str>) -> Result<Self, ConfigError> {
        let key = checked("user service key", key.as_ref())?;
        Ok(Self {
            scheme: Scheme::UserServiceKey,
            headers: vec![(X_AUTH_USER_SERVICE_KEY, sensitive(key)?)],
            secrets: vec![key.into()],
        })
    }

    /// Reads credentials from the variables Cloudflare's own tools use.
    ///
    /// `CLOUDFLARE_API_TOKEN` wins when set; otherwise `CLOUDFLARE_EMAIL` together with
    /// `CLOUDFLARE_API_KEY`; otherwise `CLOUDFLARE_API_USER_SERVICE_KEY`.
    ///
    /// # Errors
    ///
    /// [`ConfigError`] when none is set, when the chosen one is empty or malformed, or when
    /// only one of email and key is set.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    pub(crate) fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let named = |name: &'static str, result: Result<Self, ConfigError>| {
            result.map_err(|e| ConfigError::new(format!("{name}: {}", e.0)))
        };
        if let Some(token) = get("CLOUDFLARE_API_TOKEN") {
            return named("CLOUDFLARE_API_TOKEN", Self::api_token(token));
        }
        match (get("CLOUDFLARE_EMAIL"), get("CLOUDFLARE_API_KEY")) {
            (Some(email), Some(key)) => {
                return named(
                    "CLOUDFLARE_EMAIL/CLOUDFLARE_API_KEY",
                    Self::global_key(email, key),
                );
            }
            (Some(_), None) => {
                return Err(ConfigError::new(
                    "CLOUDFLARE_EMAIL is set but CLOUDFLARE_API_KEY is not",
                ));
            }
            (None, Some(_)) => {
                return Err(ConfigError::new(
                    "CLOUDFLARE_API_KEY is set but CLOUDFLARE_EMAIL is not",
                ));
            }
            (None, None) => {}
        }
        if let Some(key) = get("CLOUDFLARE_API_USER_SERVICE_KEY") {
            return named(
                "CLOUDFLARE_API_USER_SERVICE_KEY",
                Self::user_service_key(key),
            );
        }
        Err(ConfigError::new(
            "no credentials: set CLOUDFLARE_API_TOKEN, or CLOUDFLARE_EMAIL and \
             CLOUDFLARE_API_KEY, or CLOUDFLARE_API_USER_SERVICE_KEY",
        ))
    }

    /// Adds this scheme's headers, replacing any of the same name.
    pub(crate) fn apply(&self, headers: &mut HeaderMap) {
        for (name, value) in &self.headers {
            headers.insert(name.clone(), value.clone());
        }
    }

    /// Replaces every occurrence of a secret in `text`.
    pub(crate) fn scrub(&self, text: &mut String) {
        for secret in &self.secrets {
            if text.contains(&**secret) {
                *text = text.replace(&**secret, "[redacted]");
            }
        }
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self.scheme {
            Scheme::ApiToken => "ApiToken",
            Scheme::GlobalKey => "GlobalKey",
            Scheme::UserServiceKey => "UserServiceKey",
        };
        write!(f, "Credentials::{name}(<redacted>)")
    }
}

fn checked<'a>(what: &str, value: &'a str) -> Result<&'a str, ConfigError> {
    if value.is_empty() {
        return Err(ConfigError::new(format!("the {what} is empty")));
    }
    if let Some(bad) = value.chars().find(|c| !c.is_ascii_graphic()) {
        let kind = if bad.is_whitespace() {
            "whitespace"
        } else if bad.is_control() {
            "a control character"
        } else {
            "a non-ASCII character"
        };
        return Err(ConfigError::new(format!("the {what} contains {kind}")));
    }
    Ok(value)
}

fn sensitive(text: &str) -> Result<HeaderValue, ConfigError> {
    let mut value = HeaderValue::from_str(text)
        .map_err(|_| ConfigError::new("a credential is not a valid header value"))?;
    value.set_sensitive(true);
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        }
    }

    #[test]
    fn token_wins_and_debug_hides_it() {
        let c = Credentials::from_lookup(env(&[
            ("CLOUDFLARE_API_TOKEN", "TEST_TOKEN"),
            ("CLOUDFLARE_EMAIL", "dev@example.test"),
            ("CLOUDFLARE_API_KEY", "KEY"),
        ]))
        .unwrap();
        assert_eq!(c.scheme, Scheme::ApiToken);
        let debug = format!("{c:?}");
        assert_eq!(debug, "Credentials::ApiToken(<redacted>)");
        let mut headers = HeaderMap::new();
        c.apply(&mut headers);
        assert_eq!(headers.len(), 1);
        assert!(headers[AUTHORIZATION].is_sensitive());
        assert!(!format!("{headers:?}").contains("TEST_TOKEN"));
    }

    #[test]
    fn malformed_or_missing_credentials_are_config_errors() {
        for (pairs, expected) in [
            (vec![], "no credentials"),
            (
                vec![("CLOUDFLARE_API_TOKEN", "")],
                "CLOUDFLARE_API_TOKEN: the API token is empty",
            ),
            (vec![("CLOUDFLARE_API_TOKEN", " ")], "contains whitespace"),
            (
                vec![("CLOUDFLARE_API_TOKEN", "a\u{7}b")],
                "contains a control character",
            ),
            (
                vec![("CLOUDFLARE_EMAIL", "dev@example.test")],
                "CLOUDFLARE_API_KEY is not",
            ),
            (vec![("CLOUDFLARE_API_KEY", "k")], "CLOUDFLARE_EMAIL is not"),
            (
                vec![("CLOUDFLARE_EMAIL", "dev"), ("CLOUDFLARE_API_KEY", "k")],
                "the email has no '@'",
            ),
            (
                vec![("CLOUDFLARE_API_USER_SERVICE_KEY", "v1.0-x y")],
                "contains whitespace",
            ),
        ] {
            let err = Credentials::from_lookup(env(&pairs)).unwrap_err();
            assert!(
                err.to_string().contains(expected),
                "{err} should contain {expected}"
            );
        }
    }

    #[test]
    fn scrub_removes_secrets() {
        let c = Credentials::global_key("dev@example.test", "SECRETKEY").unwrap();
        let mut text = "echo: SECRETKEY and SECRETKEY".to_owned();
        c.scrub(&mut text);
        assert_eq!(text, "echo: [redacted] and [redacted]");
    }
}
