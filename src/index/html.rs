//! PEP 503 simple-index project pages: the `<a>` anchors and their data attributes.
//!
//! Only what PEP 503, 592 (yanked) and 658/714 (metadata) define is read: `href` (with an
//! optional `#sha256=` fragment), `data-requires-python`, `data-yanked` and
//! `data-core-metadata` / `data-dist-info-metadata`. Anything else on the page is ignored.

/// One anchor of a project page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Anchor {
    pub href: String,
    pub text: String,
    pub requires_python: Option<String>,
    pub yanked: bool,
    pub has_metadata: bool,
}

/// The anchors of a page, in page order.
pub fn parse_anchors(html: &str) -> Vec<Anchor> {
    let mut anchors = Vec::new();
    let lower = html.to_ascii_lowercase();
    let mut position = 0;
    while let Some(start) = lower[position..].find("<a").map(|offset| position + offset) {
        let after_tag = start + 2;
        // `<a` must be followed by whitespace or `>` (so `<abbr>` is not an anchor).
        if !lower[after_tag..].starts_with(|c: char| c.is_whitespace() || c == '>') {
            position = after_tag;
            continue;
        }
        let Some(tag_end) = lower[after_tag..]
            .find('>')
            .map(|offset| after_tag + offset)
        else {
            break;
        };
        let close = lower[tag_end..]
            .find("</a")
            .map_or(html.len(), |offset| tag_end + offset);
        let attributes = parse_attributes(&html[after_tag..tag_end]);
        let get = |name: &str| {
            attributes
                .iter()
                .find(|(key, _)| key == name)
                .map(|(_, value)| unescape(value))
        };
        if let Some(href) = get("href") {
            anchors.push(Anchor {
                href,
                text: unescape(html[tag_end + 1..close].trim()),
                requires_python: get("data-requires-python").filter(|value| !value.is_empty()),
                yanked: get("data-yanked").is_some(),
                has_metadata: get("data-core-metadata")
                    .or_else(|| get("data-dist-info-metadata"))
                    .is_some_and(|value| value != "false"),
            });
        }
        position = close;
    }
    anchors
}

/// `key="value"`, `key='value'`, `key=value` and bare `key` attributes, keys lowercased.
fn parse_attributes(text: &str) -> Vec<(String, String)> {
    let mut attributes = Vec::new();
    let mut rest = text.trim_start();
    while !rest.is_empty() {
        let key_end = rest
            .find(|c: char| c.is_whitespace() || c == '=' || c == '/')
            .unwrap_or(rest.len());
        let key = rest[..key_end].to_ascii_lowercase();
        rest = rest[key_end..].trim_start();
        let value = if let Some(after) = rest.strip_prefix('=') {
            let after = after.trim_start();
            let (value, remaining) = match after.chars().next() {
                Some(quote @ ('"' | '\'')) => {
                    let body = &after[1..];
                    let end = body.find(quote).unwrap_or(body.len());
                    (&body[..end], body.get(end + 1..).unwrap_or(""))
                }
                _ => {
                    let end = after.find(char::is_whitespace).unwrap_or(after.len());
                    (&after[..end], &after[end..])
                }
            };
            rest = remaining.trim_start();
            value.to_string()
        } else {
            if key_end == 0 {
                // A lone `/` or other punctuation: skip it.
                rest = rest.get(1..).unwrap_or("").trim_start();
                continue;
            }
            String::new()
        };
        if !key.is_empty() {
            attributes.push((key, value));
        }
    }
    attributes
}

/// The HTML character references an index page uses in attributes.
fn unescape(text: &str) -> String {
    if !text.contains('&') {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find('&') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        let Some(end) = after.find(';').filter(|end| *end <= 10) else {
            out.push('&');
            rest = after;
            continue;
        };
        let entity = &after[..end];
        let decoded = match entity {
            "lt" => Some('<'),
            "gt" => Some('>'),
            "amp" => Some('&'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ => entity
                .strip_prefix("#x")
                .or_else(|| entity.strip_prefix("#X"))
                .and_then(|hex| u32::from_str_radix(hex, 16).ok())
                .or_else(|| entity.strip_prefix('#').and_then(|dec| dec.parse().ok()))
                .and_then(char::from_u32),
        };
        match decoded {
            Some(c) => {
                out.push(c);
                rest = &after[end + 1..];
            }
            None => {
                out.push('&');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_pep503_pep592_and_pep658_attributes() {
        let page = r#"<!DOCTYPE html><html><body>
<a href="../../files/a-1.0-py3-none-any.whl#sha256=abc" data-requires-python="&gt;=3.8">a-1.0-py3-none-any.whl</a><br/>
<a href='a-0.9.tar.gz' data-yanked="broken" data-dist-info-metadata="sha256=def">a-0.9.tar.gz</a>
<abbr>not an anchor</abbr>
</body></html>"#;
        let anchors = parse_anchors(page);
        assert_eq!(anchors.len(), 2);
        assert_eq!(
            anchors[0].href,
            "../../files/a-1.0-py3-none-any.whl#sha256=abc"
        );
        assert_eq!(anchors[0].requires_python.as_deref(), Some(">=3.8"));
        assert!(!anchors[0].yanked);
        assert!(anchors[1].yanked);
        assert!(anchors[1].has_metadata);
        assert_eq!(anchors[1].text, "a-0.9.tar.gz");
    }
}
