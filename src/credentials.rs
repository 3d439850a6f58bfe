//! Keeping credentials out of everything pyship writes or prints.
//!
//! Index URLs may carry `user:password@`. The index client takes them out of the URLs it is
//! given and sends them by host; what is left here makes sure that nothing else does: URLs
//! written to locks, manifests and the cache are stripped, and messages are scrubbed.

use reqwest::Url;

/// A URL without user name or password: what a lock, a manifest or the cache may keep.
pub fn strip_credentials(url: &Url) -> Url {
    let mut url = url.clone();
    let _ = url.set_username("");
    let _ = url.set_password(None);
    url
}

/// `value` without the `user:password@` part of any URL in it, for text that is not a URL
/// of its own (a requirement, a setting that failed to parse).
pub fn scrub_credentials(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    while let Some(start) = rest.find("://") {
        let authority_start = start + 3;
        out.push_str(&rest[..authority_start]);
        rest = &rest[authority_start..];
        let authority_end = rest
            .find(|c: char| c.is_whitespace() || "/?#`\"'<>(){}|\\^;,".contains(c))
            .unwrap_or(rest.len());
        if let Some(at) = rest[..authority_end].rfind('@') {
            rest = &rest[at + 1..];
        }
    }
    out.push_str(rest);
    out
}

/// A URL with its password replaced, for messages.
pub fn redact(url: &Url) -> String {
    let mut url = url.clone();
    if url.password().is_some() {
        let _ = url.set_password(Some("****"));
    }
    url.to_string()
}

/// Environment variables a child process never gets: pyship's index credentials and index
/// URLs (which may carry `user:password@` or `?token=`), other tools' index URLs, and anything
/// named like a secret. PEP 517 backends run code from an index, and plugins are other
/// people's programs: they get the environment minus these.
pub fn is_secret_variable(name: &str, value: &str) -> bool {
    const EXACT: &[&str] = &[
        crate::env_vars::PYSHIP_INDEX_URL,
        crate::env_vars::PYSHIP_INDEX_USERNAME,
        crate::env_vars::PYSHIP_INDEX_PASSWORD,
        "PYSHIP_EXTRA_INDEX_URL",
        "PIP_INDEX_URL",
        "PIP_EXTRA_INDEX_URL",
        "UV_INDEX",
        "UV_INDEX_URL",
        "UV_EXTRA_INDEX_URL",
        "UV_DEFAULT_INDEX",
        "NETRC",
    ];
    const PARTS: &[&str] = &[
        "TOKEN",
        "SECRET",
        "PASSWORD",
        "PASSWD",
        "CREDENTIAL",
        "API_KEY",
        "APIKEY",
        "PRIVATE_KEY",
        "ACCESS_KEY",
        "AUTH",
    ];
    let upper = name.to_ascii_uppercase();
    EXACT.contains(&upper.as_str())
        || PARTS.iter().any(|part| upper.contains(part))
        || scrub_credentials(value) != value
}

/// Removes the secret variables of this process's environment from `command`'s.
pub fn without_secrets(command: &mut std::process::Command) -> &mut std::process::Command {
    for (name, value) in std::env::vars_os() {
        let (Some(name_text), value_text) = (name.to_str(), value.to_string_lossy()) else {
            continue;
        };
        if is_secret_variable(name_text, &value_text) {
            command.env_remove(&name);
        }
    }
    command
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_lose_their_credentials_in_text() {
        assert_eq!(
            scrub_credentials("`https://bob:pw@host/simple` and `a @ https://h/x`"),
            "`https://host/simple` and `a @ https://h/x`"
        );
        assert_eq!(scrub_credentials("https://token@h"), "https://h");
        let url = Url::parse("https://bob:pw@host/simple/").unwrap();
        assert_eq!(strip_credentials(&url).as_str(), "https://host/simple/");
    }
}
