//! PEP 508 requirement strings parsed without panicking.
//!
//! `pep508_rs` 0.9 panics on a name that ends in `.`, `-` or `_` followed by a specifier
//! (`flask.>=1`): its name scanner and its name validation disagree. Requirement strings come
//! from project files, requirements.in, and the metadata of every wheel and sdist on an index,
//! so that input is refused here, as an ordinary error, before the parser sees it. The same
//! parser also panics in some error paths on non-ASCII text (it slices inside a character;
//! found by `src/fuzz.rs`): PEP 508 strings are ASCII in practice (URLs percent-encode the
//! rest), so non-ASCII text is refused too.

use std::str::FromStr;

use pep508_rs::{MarkerTree, Requirement};

/// Parses a requirement; the error is the parser's message, or ours for the inputs it would
/// panic on.
pub fn parse_requirement(text: &str) -> Result<Requirement, String> {
    check_ascii(text)?;
    check_name(text)?;
    Requirement::from_str(text).map_err(|error| error.message.to_string())
}

/// Parses a marker expression (a lock's `marker` and `environments`) under the same rule.
pub fn parse_marker(text: &str) -> Result<MarkerTree, String> {
    check_ascii(text)?;
    MarkerTree::from_str(text).map_err(|error| error.message.to_string())
}

fn check_ascii(text: &str) -> Result<(), String> {
    match text.chars().find(|c| !c.is_ascii()) {
        Some(c) => Err(format!(
            "`{c}` is not ASCII; write requirements and markers in ASCII and percent-encode URLs"
        )),
        None => Ok(()),
    }
}

/// The name at the start of a requirement, and each extra in its `[…]`, must end with a
/// letter or digit (PEP 508); the parser panics on the ones that do not (`flask.>=1`,
/// `flask[x_]`).
fn check_name(text: &str) -> Result<(), String> {
    let is_name_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_');
    let ends_badly = |name: &str| name.ends_with(['.', '-', '_']);
    let text = text.trim_start();
    let name_end = text.find(|c| !is_name_char(c)).unwrap_or(text.len());
    let name = &text[..name_end];
    if ends_badly(name) {
        return Err(format!(
            "the package name `{name}` must end with a letter or digit"
        ));
    }
    let Some(extras) = text[name_end..].trim_start().strip_prefix('[') else {
        return Ok(());
    };
    let extras = extras.split(']').next().unwrap_or(extras);
    for extra in extras.split(',') {
        let extra = extra.trim_start();
        let end = extra.find(|c| !is_name_char(c)).unwrap_or(extra.len());
        let rest = &extra[end..];
        if ends_badly(&extra[..end]) && (rest.is_empty() || rest.starts_with(char::is_whitespace)) {
            return Err(format!(
                "the extra name `{}` must end with a letter or digit",
                &extra[..end]
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_with_a_trailing_separator_are_errors_not_panics() {
        for text in [
            "flask.>=1",
            "flask->=1",
            "flask_ ==1",
            "a. ; python_version>'3'",
            "a-[x]",
        ] {
            let error = parse_requirement(text).unwrap_err();
            assert!(error.contains("must end with"), "{text}: {error}");
        }
        assert!(parse_requirement("flask>=1").is_ok());
        assert!(parse_requirement("zope.interface").is_ok());
        assert!(parse_requirement("flask-").is_err());
        // Inputs the fuzzer found to panic inside the parser.
        assert!(parse_requirement("extra>='3.9'ૐ<").is_err());
        assert!(parse_requirement("b; extra == 'x'𐨕Ἐ").is_err());
        assert!(parse_requirement("flask[1f_").is_err());
        assert!(parse_requirement("flask[a, b- ]>=1").is_err());
        assert!(parse_requirement("flask[a,b]>=1").is_ok());
    }
}
