//! A project page of a simple index, HTML (PEP 503) or JSON (PEP 691), turned into files.
//!
//! Both forms carry the same facts: file name, URL (with `#sha256=` in HTML), requires-python,
//! yanked (PEP 592), and whether `.metadata` exists (PEP 658/714). JSON adds size and
//! upload time (PEP 700). Relative URLs are resolved against the page URL.

use std::borrow::Cow;
use std::collections::HashMap;
use std::str::FromStr;

use pep508_rs::PackageName;
use pep508_rs::pep440_rs::VersionSpecifiers;
use reqwest::Url;
use serde::Deserialize;

use super::html;
use super::http::Page;
use super::{DistFile, FileLocation};

/// The media type pyship asks for, JSON first (PEP 691 content negotiation).
pub const ACCEPT: &str = "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.01";

// Pages of big projects list tens of thousands of files: fields borrow from the body where
// the JSON has no escapes, instead of allocating a String each.
#[derive(Deserialize)]
struct JsonPage<'a> {
    #[serde(default, borrow)]
    files: Vec<JsonFile<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
struct JsonFile<'a> {
    #[serde(borrow)]
    filename: Cow<'a, str>,
    #[serde(borrow)]
    url: Cow<'a, str>,
    #[serde(default, borrow)]
    hashes: JsonHashes<'a>,
    #[serde(borrow)]
    requires_python: Option<Cow<'a, str>>,
    #[serde(default)]
    yanked: Yanked,
    size: Option<u64>,
    #[serde(borrow)]
    upload_time: Option<Cow<'a, str>>,
    /// PEP 714's name, then PEP 691's first one: `true`, `false` or the file's hashes.
    #[serde(default)]
    core_metadata: Advertised,
    #[serde(default)]
    dist_info_metadata: Advertised,
}

/// Whether a `.metadata` file is advertised: `true` or a hashes object say yes.
#[derive(Deserialize, Default)]
#[serde(untagged)]
enum Advertised {
    #[default]
    No,
    Flag(bool),
    Hashes(serde::de::IgnoredAny),
}

impl Advertised {
    fn is_yes(&self) -> bool {
        matches!(self, Advertised::Flag(true) | Advertised::Hashes(_))
    }
}

#[derive(Deserialize, Default)]
struct JsonHashes<'a> {
    #[serde(borrow)]
    sha256: Option<Cow<'a, str>>,
}

/// PEP 592 in JSON: `false`, `true`, or the reason as a string.
#[derive(Deserialize, Default)]
#[serde(untagged)]
enum Yanked {
    #[default]
    No,
    Flag(bool),
    Reason(serde::de::IgnoredAny),
}

impl Yanked {
    fn is_yanked(&self) -> bool {
        match self {
            Yanked::No => false,
            Yanked::Flag(flag) => *flag,
            Yanked::Reason(_) => true,
        }
    }
}

/// Why a page could not be read.
#[derive(Debug)]
pub struct PageError(pub String);

/// The files of `project` listed on `page`, fetched from `page_url` of the index `index`.
/// Files of other projects on the page are ignored, as pip does.
pub fn parse_page(
    page_url: &Url,
    page: &Page,
    index: &str,
    project: &PackageName,
) -> Result<Vec<DistFile>, PageError> {
    let is_json = page.content_type.contains("json");
    let mut raw = Vec::new();
    if is_json {
        let parsed: JsonPage = serde_json::from_slice(&page.body)
            .map_err(|error| PageError(format!("the PEP 691 JSON page is malformed: {error}")))?;
        for file in parsed.files {
            let yanked = file.yanked.is_yanked();
            raw.push(RawFile {
                href: file.url,
                name: file.filename,
                sha256: file.hashes.sha256.map(|hash| hash.to_ascii_lowercase()),
                requires_python: file.requires_python,
                yanked,
                size: file.size,
                upload_time: file.upload_time,
                metadata_advertised: file.core_metadata.is_yes()
                    || file.dist_info_metadata.is_yes(),
            });
        }
    } else {
        let text = String::from_utf8_lossy(&page.body);
        if !text.contains("<a")
            && !text.contains("<A")
            && !text.trim().is_empty()
            && !text.contains("<html")
        {
            return Err(PageError(
                "the page is neither PEP 503 HTML nor PEP 691 JSON".into(),
            ));
        }
        for anchor in html::parse_anchors(&text) {
            raw.push(RawFile {
                href: Cow::Owned(anchor.href),
                name: Cow::Owned(anchor.text),
                sha256: None,
                requires_python: anchor.requires_python.map(Cow::Owned),
                yanked: anchor.yanked,
                size: None,
                upload_time: None,
                metadata_advertised: anchor.has_metadata,
            });
        }
    }
    let is_distribution =
        |name: &str| name.ends_with(".whl") || name.ends_with(".tar.gz") || name.ends_with(".zip");
    // Most files of a project repeat a few Requires-Python values: parse each once.
    let mut requires_python: HashMap<String, Option<VersionSpecifiers>> = HashMap::new();
    let mut files = Vec::with_capacity(raw.len());
    for file in raw {
        // Installers, eggs and other files are never candidates: skip them before any parsing.
        if !is_distribution(&file.name)
            && !is_distribution(file.href.split('#').next().unwrap_or(""))
        {
            continue;
        }
        let Ok(mut url) = page_url.join(&file.href) else {
            continue;
        };
        let fragment_hash = url
            .fragment()
            .and_then(|fragment| fragment.strip_prefix("sha256="))
            .map(str::to_ascii_lowercase);
        url.set_fragment(None);
        let file_name = url
            .path_segments()
            .and_then(|mut segments| segments.next_back())
            .map(percent_decode)
            .filter(|name| is_distribution(name))
            .unwrap_or_else(|| file.name.clone().into_owned());
        let Some(parsed) = DistFile::new(&file_name, FileLocation::Url(url)) else {
            continue;
        };
        if &parsed.name != project {
            continue;
        }
        files.push(DistFile {
            // A published hash that is not one is no hash: the file is hashed when fetched.
            sha256: file
                .sha256
                .or(fragment_hash)
                .filter(|hash| crate::wheel::is_sha256_hex(hash)),
            requires_python: file.requires_python.as_deref().and_then(|text| {
                requires_python
                    .entry(text.to_string())
                    .or_insert_with(|| VersionSpecifiers::from_str(text).ok())
                    .clone()
            }),
            yanked: file.yanked,
            index: Some(index.to_string()),
            // TOML integers are signed 64-bit: a larger size would make an unreadable lock.
            size: file.size.filter(|size| i64::try_from(*size).is_ok()),
            upload_time: file.upload_time.map(Cow::into_owned),
            metadata_advertised: file.metadata_advertised,
            ..parsed
        });
    }
    Ok(files)
}

struct RawFile<'a> {
    href: Cow<'a, str>,
    name: Cow<'a, str>,
    sha256: Option<String>,
    requires_python: Option<Cow<'a, str>>,
    yanked: bool,
    size: Option<u64>,
    upload_time: Option<Cow<'a, str>>,
    metadata_advertised: bool,
}

/// `%2B` → `+` in a path segment.
pub(super) fn percent_decode(segment: &str) -> String {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        if bytes[index] == b'%' && index + 2 < bytes.len() {
            let digits = std::str::from_utf8(&bytes[index + 1..index + 3]).unwrap_or("");
            if let Ok(value) = u8::from_str_radix(digits, 16) {
                out.push(value);
                index += 3;
                continue;
            }
        }
        out.push(bytes[index]);
        index += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_pages_carry_hashes_sizes_and_yanked() {
        let page = Page {
            content_type: "application/vnd.pypi.simple.v1+json".into(),
            body: br#"{"meta":{"api-version":"1.1"},"name":"a","files":[
                {"filename":"a-1.0-py3-none-any.whl","url":"../../files/a-1.0-py3-none-any.whl",
                 "hashes":{"sha256":"ABCDABCDABCDABCDABCDABCDABCDABCDABCDABCDABCDABCDABCDABCDABCDABCD"},"requires-python":">=3.8","yanked":"bad","size":12,
                 "upload-time":"2024-01-01T00:00:00Z"},
                {"filename":"a-1.0.tar.gz","url":"a-1.0.tar.gz","hashes":{}}]}"#
                .to_vec(),
        };
        let url = Url::parse("https://example.com/simple/a/").unwrap();
        let files = parse_page(
            &url,
            &page,
            "https://example.com/simple",
            &PackageName::from_str("a").unwrap(),
        )
        .unwrap();
        assert_eq!(files.len(), 2);
        assert!(files[1].is_sdist());
        // Published hashes are lowercased; one that is not 64 hex digits is ignored.
        assert_eq!(files[0].sha256, Some("abcd".repeat(16)));
        assert!(files[0].yanked);
        assert_eq!(files[0].size, Some(12));
        assert_eq!(
            files[0].location,
            FileLocation::Url(
                Url::parse("https://example.com/files/a-1.0-py3-none-any.whl").unwrap()
            )
        );
    }

    #[test]
    fn advertised_metadata_is_read_from_either_key_and_either_form() {
        let page = Page {
            content_type: "application/vnd.pypi.simple.v1+json".into(),
            body: br#"{"files":[
                {"filename":"a-1.0-py3-none-any.whl","url":"a-1.0-py3-none-any.whl","core-metadata":{"sha256":"ab"}},
                {"filename":"a-1.1-py3-none-any.whl","url":"a-1.1-py3-none-any.whl","dist-info-metadata":true},
                {"filename":"a-1.2-py3-none-any.whl","url":"a-1.2-py3-none-any.whl","core-metadata":false},
                {"filename":"a-1.3-py3-none-any.whl","url":"a-1.3-py3-none-any.whl"}]}"#
                .to_vec(),
        };
        let url = Url::parse("https://example.com/simple/a/").unwrap();
        let files = parse_page(&url, &page, "x", &PackageName::from_str("a").unwrap()).unwrap();
        let advertised: Vec<bool> = files.iter().map(|f| f.metadata_advertised).collect();
        assert_eq!(advertised, [true, true, false, false]);
    }

    #[test]
    fn garbage_is_an_error_not_an_empty_page() {
        let page = Page {
            content_type: "application/vnd.pypi.simple.v1+json".into(),
            body: b"<html>oops".to_vec(),
        };
        let url = Url::parse("https://example.com/simple/a/").unwrap();
        assert!(parse_page(&url, &page, "x", &PackageName::from_str("a").unwrap()).is_err());
    }
}
