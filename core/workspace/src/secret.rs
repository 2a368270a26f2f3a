//! The one type that holds secrets, and the one place that redacts them.
//!
//! A [`Secret`] prints as `<redacted>` through `Debug` and `Display`, so a secret that ends
//! up in a log line, an error message or `{:?}` output by accident shows nothing. The only
//! way to the plain text is [`Secret::expose`], which is easy to grep for in review.

use std::fmt;

pub const REDACTED: &str = "<redacted>";

#[derive(Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }
    /// The plain text. Call only to send it where it belongs (an HTTP header, a 0600 file).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

/// Serializes as `<redacted>`: a report that contains a secret can be printed as JSON safely.
/// Files that must hold the real value (credentials) serialize `expose()` explicitly.
impl serde::Serialize for Secret {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(REDACTED)
    }
}

/// Replaces every occurrence of each secret in `text` with `<redacted>`. Used on text that
/// comes from elsewhere (child process output, upstream error bodies) before it is shown.
pub fn redact(text: &str, secrets: &[&Secret]) -> String {
    let mut out = text.to_string();
    for s in secrets {
        if !s.0.is_empty() {
            out = out.replace(&s.0, REDACTED);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_prints() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s} {s:?}"), "<redacted> <redacted>");
        assert_eq!(serde_json::to_string(&s).unwrap(), "\"<redacted>\"");
        assert_eq!(s.expose(), "hunter2");
        assert_eq!(redact("token=hunter2;", &[&s]), "token=<redacted>;");
    }
}
