//! The control paragraph of a .deb: the `ar` archive's `control.tar` (gzip, xz, zstd or
//! none), its `./control` member. Read from the file, never trusted beyond its grammar: a
//! paragraph whose fields would add lines to an index is refused.

use std::io::Read;
use std::path::Path;

/// The fields of a control paragraph, in their order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Control {
    pub fields: Vec<(String, String)>,
}

impl Control {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(field, _)| field.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    /// The paragraph as an index writes it, with `extra` fields after its own.
    pub fn render(&self, extra: &[(&str, String)]) -> String {
        let mut out = String::new();
        for (name, value) in &self.fields {
            out.push_str(&format!("{name}: {value}\n"));
        }
        for (name, value) in extra {
            out.push_str(&format!("{name}: {value}\n"));
        }
        out
    }
}

/// Parses a control paragraph (`Name: value`, continuation lines starting with a space).
pub fn parse_paragraph(text: &str) -> Result<Control, String> {
    let mut fields: Vec<(String, String)> = Vec::new();
    let mut ended = false;
    for line in text.lines() {
        if line.trim().is_empty() {
            ended = !fields.is_empty();
            continue;
        }
        if ended {
            return Err("a second paragraph".into());
        }
        if line.starts_with([' ', '\t']) {
            let Some((_, value)) = fields.last_mut() else {
                return Err(format!("a continuation line before any field: `{line}`"));
            };
            value.push('\n');
            value.push_str(line);
            continue;
        }
        let Some((name, value)) = line.split_once(':') else {
            return Err(format!("a line that is not `Field: value`: `{line}`"));
        };
        let valid_name = !name.is_empty()
            && !name.starts_with(['#', '-'])
            && name.chars().all(|c| c.is_ascii_graphic() && c != ':');
        if !valid_name {
            return Err(format!("an invalid field name `{name}`"));
        }
        if fields
            .iter()
            .any(|(known, _)| known.eq_ignore_ascii_case(name))
        {
            return Err(format!("the field `{name}` twice"));
        }
        fields.push((name.to_string(), value.trim().to_string()));
    }
    Ok(Control { fields })
}

/// Reads `path`'s control paragraph.
pub fn read_control(path: &Path) -> Result<Control, String> {
    let failed = |what: &str| format!("`{}` is not a .deb: {what}", path.display());
    let bytes = std::fs::read(path)
        .map_err(|error| format!("failed to read `{}`: {error}", path.display()))?;
    let mut rest = bytes
        .strip_prefix(b"!<arch>\n".as_slice())
        .ok_or_else(|| failed("no ar header"))?;
    while rest.len() >= 60 {
        let header = &rest[..60];
        let name = String::from_utf8_lossy(&header[..16])
            .trim()
            .trim_end_matches('/')
            .to_string();
        let size: usize = String::from_utf8_lossy(&header[48..58])
            .trim()
            .parse()
            .map_err(|_| failed("a member size that is not a number"))?;
        let body = rest
            .get(60..60 + size)
            .ok_or_else(|| failed("a member cut short"))?;
        if let Some(compression) = name.strip_prefix("control.tar") {
            let mut tar = Vec::new();
            let read = match compression {
                "" => {
                    tar.extend_from_slice(body);
                    Ok(0)
                }
                ".gz" => flate2::read::GzDecoder::new(body).read_to_end(&mut tar),
                ".xz" => liblzma::read::XzDecoder::new(body).read_to_end(&mut tar),
                ".zst" => zstd::stream::read::Decoder::new(body)
                    .and_then(|mut decoder| decoder.read_to_end(&mut tar)),
                other => return Err(failed(&format!("an unknown control.tar{other}"))),
            };
            read.map_err(|error| failed(&format!("control.tar does not decompress: {error}")))?;
            let mut archive = tar::Archive::new(tar.as_slice());
            for entry in archive
                .entries()
                .map_err(|error| failed(&error.to_string()))?
            {
                let entry = entry.map_err(|error| failed(&error.to_string()))?;
                let entry_path = entry.path().map_err(|error| failed(&error.to_string()))?;
                if entry_path == Path::new("./control") || entry_path == Path::new("control") {
                    let mut text = String::new();
                    entry
                        .take(1 << 20)
                        .read_to_string(&mut text)
                        .map_err(|error| failed(&format!("its control is not text: {error}")))?;
                    return parse_paragraph(&text)
                        .map_err(|message| failed(&format!("its control file has {message}")));
                }
            }
            return Err(failed("control.tar has no `control`"));
        }
        rest = &rest[(60 + size + size % 2).min(rest.len())..];
    }
    Err(failed("no control.tar member"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paragraphs_keep_continuations_and_refuse_what_is_not_a_field() {
        let control =
            parse_paragraph("Package: hello\nDescription: a\n more\nVersion: 1\n").unwrap();
        assert_eq!(control.get("description"), Some("a\n more"));
        assert_eq!(control.get("Version"), Some("1"));
        assert!(parse_paragraph(" x\n").is_err());
        assert!(parse_paragraph("no colon\n").is_err());
        assert!(parse_paragraph("Package: a\n\nFilename: ../../etc\n").is_err());
        assert!(parse_paragraph("Package: a\nPackage: b\n").is_err());
    }
}
