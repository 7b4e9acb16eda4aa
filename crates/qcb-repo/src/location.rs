//! Where a repository lives: a local folder or an S3 bucket (with an optional prefix).
//!
//! The text form, for the command line and configuration, is a folder path or
//! `s3:<endpoint>/<bucket>[/<prefix>]`, for example `s3:http://127.0.0.1:8333/backups/mail`
//! or `s3:s3.eu-west-1.amazonaws.com/backups` (`https://` is assumed without a scheme). The
//! keys never appear in it: [`Location::from_str`] takes them from
//! `QCBACKUP_S3_ACCESS_KEY_ID` / `QCBACKUP_S3_SECRET_ACCESS_KEY` (or `AWS_ACCESS_KEY_ID` /
//! `AWS_SECRET_ACCESS_KEY`) and the region from `QCBACKUP_S3_REGION`, `AWS_REGION` or
//! `AWS_DEFAULT_REGION` (default `us-east-1`).

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use crate::crypto::KdfParams;
use crate::error::{Error, Result};
use crate::opendal_backend::OpendalBackend;
use crate::repository::Repository;

/// A secret (an S3 secret access key). Its `Debug` and `Display` never show it; only
/// [`Secret::expose`] does, for the one place that signs requests with it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Secret {
        Secret(s.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// A repository in an S3 bucket, under an optional prefix.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct S3Location {
    /// `http(s)://host[:port]`, without a path.
    pub endpoint: String,
    pub bucket: String,
    pub region: String,
    /// Object-name prefix without leading or trailing `/`; empty for the bucket's root.
    pub prefix: String,
    /// Not a secret (it names the key), so `Debug` shows it.
    pub access_key_id: String,
    pub secret_access_key: Secret,
}

/// Where a repository lives.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Location {
    Local(PathBuf),
    S3(S3Location),
}

/// The S3 region used when none is configured (what most S3-compatible servers expect).
pub const DEFAULT_S3_REGION: &str = "us-east-1";

impl S3Location {
    /// Parses the part of an `s3:` location after `s3:` (`[http[s]://]host[:port]/bucket[/prefix]`).
    pub fn from_url(
        url: &str,
        access_key_id: impl Into<String>,
        secret_access_key: Secret,
        region: impl Into<String>,
    ) -> Result<S3Location> {
        // Whatever sits before an '@' in the authority may be a key: never echo it.
        let shown = match url.split_once("://") {
            Some((scheme, rest)) => match rest.split('/').next().and_then(|a| a.rsplit_once('@')) {
                Some((_, host)) => format!("{scheme}://***@{host}/…"),
                None => url.to_string(),
            },
            None => url.to_string(),
        };
        let bad = |why: String| {
            Error::InvalidArgument(format!(
                "bad S3 location s3:{shown}: {why} (expected s3:http[s]://host[:port]/bucket[/prefix])"
            ))
        };
        let with_scheme = if url.contains("://") {
            url.to_string()
        } else {
            format!("https://{url}")
        };
        // URL parsing would quietly resolve these; a location must mean what it says.
        if with_scheme.split('/').any(|s| s == "." || s == "..") {
            return Err(bad("a path segment is '.' or '..'".into()));
        }
        let parsed = url::Url::parse(&with_scheme).map_err(|e| bad(e.to_string()))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(bad(format!(
                "the scheme must be http or https, not {:?}",
                parsed.scheme()
            )));
        }
        if !parsed.username().is_empty() || parsed.password().is_some() {
            return Err(bad(
                "keys do not belong in the URL; set QCBACKUP_S3_ACCESS_KEY_ID and \
                 QCBACKUP_S3_SECRET_ACCESS_KEY"
                    .into(),
            ));
        }
        if parsed.host_str().is_none_or(str::is_empty) {
            return Err(bad("no host".into()));
        }
        if parsed.query().is_some() || parsed.fragment().is_some() {
            return Err(bad("no query (?...) or fragment (#...) is allowed".into()));
        }
        let path = parsed.path().trim_start_matches('/');
        let path = path.strip_suffix('/').unwrap_or(path);
        let (bucket, prefix) = path.split_once('/').unwrap_or((path, ""));
        if bucket.is_empty() {
            return Err(bad("no bucket".into()));
        }
        check_bucket(bucket).map_err(|why| bad(format!("bucket {bucket:?}: {why}")))?;
        if !prefix.is_empty() {
            check_prefix(prefix).map_err(|why| bad(format!("prefix {prefix:?}: {why}")))?;
        }
        let access_key_id = access_key_id.into();
        if access_key_id.is_empty() || secret_access_key.expose().is_empty() {
            return Err(Error::InvalidArgument(
                "the S3 access key id and secret access key must not be empty".into(),
            ));
        }
        Ok(S3Location {
            endpoint: parsed.origin().ascii_serialization(),
            bucket: bucket.to_string(),
            region: region.into(),
            prefix: prefix.to_string(),
            access_key_id,
            secret_access_key,
        })
    }
}

/// S3's bucket naming rules (the part every S3-compatible server shares).
fn check_bucket(b: &str) -> std::result::Result<(), &'static str> {
    if !(3..=63).contains(&b.len()) {
        return Err("must be 3 to 63 characters long");
    }
    if !b
        .bytes()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'.' || c == b'-')
    {
        return Err("may hold only lowercase letters, digits, dots and hyphens");
    }
    let edge_ok = |c: u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    if !edge_ok(b.as_bytes()[0]) || !edge_ok(b.as_bytes()[b.len() - 1]) {
        return Err("must begin and end with a letter or digit");
    }
    if b.contains("..") {
        return Err("must not contain two dots in a row");
    }
    Ok(())
}

/// Prefixes are kept to characters that need no escaping anywhere, in segments that are not
/// empty, `.` or `..`.
fn check_prefix(p: &str) -> std::result::Result<(), &'static str> {
    if !p
        .bytes()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'-' | b'_' | b'/'))
    {
        return Err("may hold only letters, digits, '.', '-', '_' and '/'");
    }
    if p.split('/').any(|s| s.is_empty() || s == "." || s == "..") {
        return Err("has an empty, '.' or '..' segment");
    }
    Ok(())
}

impl fmt::Display for S3Location {
    /// The `s3:` form, without keys.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "s3:{}/{}", self.endpoint, self.bucket)?;
        if !self.prefix.is_empty() {
            write!(f, "/{}", self.prefix)?;
        }
        Ok(())
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Local(p) => write!(f, "{}", p.display()),
            Location::S3(s) => s.fmt(f),
        }
    }
}

/// Schemes OpenDAL could serve but that are not enabled until they are tested.
const UNTESTED_SCHEMES: &[&str] = &["azure", "azblob", "gs", "gcs", "webdav", "sftp", "b2"];

impl Location {
    /// Parses a folder path or an `s3:` URL, looking up keys and region with `env`
    /// ([`Location::from_str`] passes the process environment).
    pub fn parse_with_env(s: &str, env: impl Fn(&str) -> Option<String>) -> Result<Location> {
        if s.is_empty() {
            return Err(Error::InvalidArgument(
                "the repository location is empty".into(),
            ));
        }
        if let Some(rest) = s.strip_prefix("s3:") {
            let get = |k: &str| env(k).filter(|v| !v.is_empty());
            let (id, secret) = match (
                get("QCBACKUP_S3_ACCESS_KEY_ID"),
                get("QCBACKUP_S3_SECRET_ACCESS_KEY"),
            ) {
                (Some(id), Some(secret)) => (id, secret),
                (None, None) => match (get("AWS_ACCESS_KEY_ID"), get("AWS_SECRET_ACCESS_KEY")) {
                    (Some(id), Some(secret)) => (id, secret),
                    _ => {
                        return Err(Error::InvalidArgument(format!(
                            "no keys for {s}: set QCBACKUP_S3_ACCESS_KEY_ID and \
                             QCBACKUP_S3_SECRET_ACCESS_KEY (or AWS_ACCESS_KEY_ID and \
                             AWS_SECRET_ACCESS_KEY)"
                        )));
                    }
                },
                _ => {
                    return Err(Error::InvalidArgument(
                        "set both QCBACKUP_S3_ACCESS_KEY_ID and QCBACKUP_S3_SECRET_ACCESS_KEY, \
                         or neither"
                            .into(),
                    ));
                }
            };
            let region = get("QCBACKUP_S3_REGION")
                .or_else(|| get("AWS_REGION"))
                .or_else(|| get("AWS_DEFAULT_REGION"))
                .unwrap_or_else(|| DEFAULT_S3_REGION.to_string());
            return Ok(Location::S3(S3Location::from_url(
                rest,
                id,
                Secret::new(secret),
                region,
            )?));
        }
        if let Some((scheme, _)) = s.split_once(':')
            && UNTESTED_SCHEMES.contains(&scheme.to_ascii_lowercase().as_str())
        {
            return Err(Error::InvalidArgument(format!(
                "{scheme}: repositories are not supported yet (only a folder or s3:)"
            )));
        }
        Ok(Location::Local(PathBuf::from(s)))
    }

    /// Creates a repository at this location, which must be empty (or, for a folder, missing).
    pub fn init(&self, password: &[u8], params: KdfParams) -> Result<Repository> {
        Repository::init_at(self, password, params)
    }

    /// Opens the repository at this location.
    pub fn open(&self, password: &[u8]) -> Result<Repository> {
        Repository::open_at(self, password)
    }
}

impl FromStr for Location {
    type Err = Error;

    /// A folder path, or an `s3:` URL with keys from the environment (see the module docs).
    fn from_str(s: &str) -> Result<Location> {
        Location::parse_with_env(s, |k| std::env::var(k).ok())
    }
}

impl From<PathBuf> for Location {
    fn from(p: PathBuf) -> Location {
        Location::Local(p)
    }
}

impl Repository {
    /// Creates a repository at a location: an empty or missing folder, or an S3 bucket (and
    /// prefix) holding no object yet.
    pub fn init_at(location: &Location, password: &[u8], params: KdfParams) -> Result<Repository> {
        match location {
            Location::Local(path) => Repository::init_local(path, password, params),
            Location::S3(s3) => {
                let backend = OpendalBackend::s3(s3)?;
                backend.check_access()?;
                if !backend.is_empty()? {
                    return Err(Error::AlreadyExists {
                        path: s3.to_string().into(),
                    });
                }
                Repository::init(Box::new(backend), password, params)
            }
        }
    }

    /// Opens the repository at a location.
    pub fn open_at(location: &Location, password: &[u8]) -> Result<Repository> {
        Repository::open(backend_at(location)?, password)
    }

    /// Opens the repository at a location with a remembered key when it still applies (see
    /// [`Repository::open_remembering`]).
    pub fn open_at_remembering(
        location: &Location,
        password: &[u8],
        remembered: Option<&str>,
    ) -> Result<(Repository, crate::Remembered)> {
        Repository::open_remembering(backend_at(location)?, password, remembered)
    }
}

/// The storage behind an existing repository's location (an S3 bucket is probed first, so a
/// wrong endpoint or key fails here with a clear error).
fn backend_at(location: &Location) -> Result<Box<dyn crate::Backend>> {
    match location {
        Location::Local(path) => Ok(Box::new(crate::LocalBackend::new(path))),
        Location::S3(s3) => {
            let backend = OpendalBackend::s3(s3)?;
            backend.check_access()?;
            Ok(Box::new(backend))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| vars.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone())
    }

    const KEYS: &[(&str, &str)] = &[
        ("QCBACKUP_S3_ACCESS_KEY_ID", "AKIDEXAMPLE"),
        ("QCBACKUP_S3_SECRET_ACCESS_KEY", "wJalrXUtnFEMI-very-secret"),
    ];

    #[test]
    fn parses_s3_urls_and_round_trips() {
        let l =
            Location::parse_with_env("s3:http://127.0.0.1:8333/bucket/a/b/", env(KEYS)).unwrap();
        let Location::S3(s) = &l else { panic!("{l:?}") };
        assert_eq!(s.endpoint, "http://127.0.0.1:8333");
        assert_eq!(s.bucket, "bucket");
        assert_eq!(s.prefix, "a/b");
        assert_eq!(s.region, DEFAULT_S3_REGION);
        assert_eq!(s.access_key_id, "AKIDEXAMPLE");
        assert_eq!(l.to_string(), "s3:http://127.0.0.1:8333/bucket/a/b");
        assert_eq!(
            Location::parse_with_env(&l.to_string(), env(KEYS)).unwrap(),
            l
        );
        let aws =
            Location::parse_with_env("s3:s3.eu-west-1.amazonaws.com/backups", env(KEYS)).unwrap();
        assert_eq!(
            aws.to_string(),
            "s3:https://s3.eu-west-1.amazonaws.com/backups"
        );
        let Location::S3(s) = &aws else { panic!() };
        assert_eq!(s.prefix, "");
    }

    #[test]
    fn keys_and_region_come_from_the_environment() {
        let aws = env(&[
            ("AWS_ACCESS_KEY_ID", "id2"),
            ("AWS_SECRET_ACCESS_KEY", "s2"),
            ("AWS_REGION", "eu-central-1"),
        ]);
        let Location::S3(s) = Location::parse_with_env("s3:http://h:1/bkt", aws).unwrap() else {
            panic!()
        };
        assert_eq!(
            (s.access_key_id.as_str(), s.region.as_str()),
            ("id2", "eu-central-1")
        );
        let err = Location::parse_with_env("s3:http://h:1/bkt", env(&[])).unwrap_err();
        assert!(
            err.to_string().contains("QCBACKUP_S3_ACCESS_KEY_ID"),
            "{err}"
        );
        let half = env(&[
            ("QCBACKUP_S3_ACCESS_KEY_ID", "x"),
            ("AWS_SECRET_ACCESS_KEY", "y"),
        ]);
        let err = Location::parse_with_env("s3:http://h:1/bkt", half).unwrap_err();
        assert!(err.to_string().contains("both"), "{err}");
    }

    #[test]
    fn bad_locations_are_refused_clearly() {
        for (input, expect) in [
            ("s3:http://127.0.0.1:8333", "no bucket"),
            ("s3:http://127.0.0.1:8333/", "no bucket"),
            ("s3:ftp://host/bucket", "scheme"),
            (
                "s3:http://key:very-secret@host/bucket",
                "keys do not belong",
            ),
            ("s3:http://host/Bucket", "lowercase"),
            ("s3:http://host/ab", "3 to 63"),
            ("s3:http://host/bucket/a//b", "empty"),
            ("s3:http://host/bucket/../x", "segment"),
            ("s3:http://host/bucket/a b", "letters"),
            ("s3:http://host/bucket?x=1", "query"),
            ("s3:http://:80/bucket", "s3:http://:80/bucket"),
            ("azure:container/x", "not supported"),
            ("", "empty"),
        ] {
            let err = Location::parse_with_env(input, env(KEYS)).unwrap_err();
            assert!(
                matches!(err, Error::InvalidArgument(_)) && err.to_string().contains(expect),
                "{input}: {err}"
            );
            assert!(!err.to_string().contains("very-secret"));
        }
        assert_eq!(
            Location::parse_with_env("/srv/repo", env(&[])).unwrap(),
            Location::Local("/srv/repo".into())
        );
        assert_eq!(
            Location::parse_with_env("relative/c:x", env(&[])).unwrap(),
            Location::Local("relative/c:x".into())
        );
    }

    #[test]
    fn secrets_never_show_in_debug_or_display() {
        let l = Location::parse_with_env("s3:http://127.0.0.1:8333/bucket/p", env(KEYS)).unwrap();
        for text in [format!("{l:?}"), format!("{l:#?}"), l.to_string()] {
            assert!(!text.contains("very-secret"), "{text}");
        }
        assert!(format!("{l:?}").contains("<redacted>"));
        let Location::S3(s) = &l else { panic!() };
        let backend = OpendalBackend::s3(s).unwrap();
        assert!(!format!("{backend:?}").contains("very-secret"));
        assert_eq!(
            crate::Backend::location(&backend),
            "s3:http://127.0.0.1:8333/bucket/p"
        );
    }
}
