//! Where Belvo lives: its named environments, or any base URL (the emulator, a proxy).

use std::fmt;
use std::str::FromStr;

use url::Url;

/// A Belvo environment. Named ones resolve to Belvo's hosts; `Custom` is any base URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Environment {
    /// `https://sandbox.belvo.com`: dummy institutions and data, wiped monthly.
    Sandbox,
    /// `https://development.belvo.com`: legacy environment with real credentials and a quota.
    Development,
    /// `https://api.belvo.com`.
    Production,
    /// Any other base URL, such as the emulator's.
    Custom(Url),
}

impl Environment {
    /// The base URL, always ending in `/` so that `join("api/…")` keeps any path prefix.
    pub fn base_url(&self) -> Url {
        let raw = match self {
            Self::Sandbox => "https://sandbox.belvo.com/",
            Self::Development => "https://development.belvo.com/",
            Self::Production => "https://api.belvo.com/",
            Self::Custom(url) => return with_trailing_slash(url.clone()),
        };
        // The three literals above are valid URLs; parsing them cannot fail.
        #[allow(clippy::expect_used)]
        Url::parse(raw).expect("static Belvo URL")
    }

    /// The name used in configuration and logs.
    pub fn name(&self) -> &str {
        match self {
            Self::Sandbox => "sandbox",
            Self::Development => "development",
            Self::Production => "production",
            Self::Custom(url) => url.as_str(),
        }
    }
}

fn with_trailing_slash(mut url: Url) -> Url {
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    url
}

/// Why a string is not an environment.
#[derive(Debug, thiserror::Error)]
#[error(
    "`{0}` is not a Belvo environment: use sandbox, production, development or an http(s) base URL"
)]
pub struct ParseEnvironmentError(String);

impl FromStr for Environment {
    type Err = ParseEnvironmentError;

    /// Like Belvo's SDKs: a name (case-insensitive) or else a URL.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "sandbox" => Ok(Self::Sandbox),
            "development" => Ok(Self::Development),
            "production" => Ok(Self::Production),
            _ => match Url::parse(s.trim()) {
                Ok(url) if matches!(url.scheme(), "http" | "https") && url.has_host() => {
                    Ok(Self::Custom(url))
                }
                _ => Err(ParseEnvironmentError(s.to_owned())),
            },
        }
    }
}

impl fmt::Display for Environment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl<'de> serde::Deserialize<'de> for Environment {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

impl serde::Serialize for Environment {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_resolve_case_insensitively() {
        assert_eq!(
            "SANDBOX".parse::<Environment>().unwrap(),
            Environment::Sandbox
        );
        assert_eq!(
            "production"
                .parse::<Environment>()
                .unwrap()
                .base_url()
                .as_str(),
            "https://api.belvo.com/"
        );
    }

    #[test]
    fn custom_urls_keep_their_path_with_a_trailing_slash() {
        let env: Environment = "http://127.0.0.1:8090/belvo".parse().unwrap();
        assert_eq!(env.base_url().as_str(), "http://127.0.0.1:8090/belvo/");
        assert_eq!(
            env.base_url().join("api/links/").unwrap().path(),
            "/belvo/api/links/"
        );
    }

    #[test]
    fn garbage_is_rejected_with_a_clear_message() {
        let err = "sandbx".parse::<Environment>().unwrap_err();
        assert!(err.to_string().contains("sandbox, production, development"));
        assert!("ftp://x".parse::<Environment>().is_err());
    }
}
