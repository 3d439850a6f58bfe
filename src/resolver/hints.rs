//! What a failed resolution tells the user beyond PubGrub's derivation: ranges written the way
//! they were required (`==1.2.3`, not the range with its local versions), the nearest versions
//! that do exist when a requirement matches none, and the likely intended name when a project
//! is not found at all.

use std::str::FromStr;

use pep508_rs::pep440_rs::Version;
use pep508_rs::{PackageName, Requirement, VersionOrUrl};

use super::candidates::Candidate;
use super::ranges::{after_locals, specifiers_range};
use crate::index::DistFile;
use crate::python::Target;

/// `report` with the ranges that `==`, `!=` and `<=` became (they take in local versions:
/// `>=1.2, <1.2.post0.dev0`) written back as those operators.
pub fn readable(report: &str) -> String {
    let mut out = String::with_capacity(report.len());
    let mut rest = report;
    while !rest.is_empty() {
        if let Some((written, used)) = equal(rest)
            .or_else(|| not_equal(rest))
            .or_else(|| at_most(rest))
        {
            out.push_str(&written);
            rest = &rest[used..];
            continue;
        }
        let next = rest.chars().next().map_or(1, char::len_utf8);
        out.push_str(&rest[..next]);
        rest = &rest[next..];
    }
    out
}

/// The version at the start of `text`, and its length.
fn version_at(text: &str) -> Option<(Version, usize)> {
    let end = text
        .find(|c: char| c.is_whitespace() || matches!(c, ',' | '|' | ')' | '('))
        .unwrap_or(text.len());
    let word = text[..end].trim_end_matches(['.', ':', ';']);
    Version::from_str(word)
        .ok()
        .map(|version| (version, word.len()))
}

/// `>=A, <B` where B is the first version after A's locals: `==A`.
fn equal(text: &str) -> Option<(String, usize)> {
    let after = text.strip_prefix(">=")?;
    let (low, low_len) = version_at(after)?;
    let tail = after[low_len..].strip_prefix(", <")?;
    let (high, high_len) = version_at(tail)?;
    (high == after_locals(&low)).then(|| (format!("=={low}"), 2 + low_len + 3 + high_len))
}

/// `<A | >=B` where B is the first version after A's locals: `!=A`.
fn not_equal(text: &str) -> Option<(String, usize)> {
    let after = text.strip_prefix('<')?;
    let (low, low_len) = version_at(after)?;
    let tail = after[low_len..].strip_prefix(" | >=")?;
    let (high, high_len) = version_at(tail)?;
    (high == after_locals(&low)).then(|| (format!("!={low}"), 1 + low_len + 5 + high_len))
}

/// `<B` where B is the first version after some A's locals: `<=A`.
fn at_most(text: &str) -> Option<(String, usize)> {
    let after = text.strip_prefix('<').filter(|a| !a.starts_with('='))?;
    let (high, high_len) = version_at(after)?;
    let low = before_locals(&high)?;
    Some((format!("<={low}"), 1 + high_len))
}

/// The A for which `high` is [`after_locals`]`(A)`, when there is one.
fn before_locals(high: &Version) -> Option<Version> {
    if high.dev() != Some(0) {
        return None;
    }
    let low = match high.post() {
        Some(0) => high.clone().with_post(None).with_dev(None),
        Some(post) => high.clone().with_post(Some(post - 1)).with_dev(None),
        None => return None,
    };
    (after_locals(&low) == *high).then_some(low)
}

/// For each of `requirements` whose specifiers no installable version meets (while some
/// versions exist): why a release that does match is not installable on `target` (its
/// Requires-Python, its wheels' tags, yanked), and which versions come nearest, so that a
/// typo in a pin is obvious.
pub fn nearest_versions<'r>(
    requirements: impl IntoIterator<Item = &'r Requirement>,
    candidates_of: impl Fn(&PackageName) -> Option<std::rc::Rc<Vec<Candidate>>>,
    files_of: impl Fn(&PackageName) -> Vec<DistFile>,
    target: &Target,
) -> Vec<String> {
    let mut hints = Vec::new();
    for requirement in requirements {
        let Some(VersionOrUrl::VersionSpecifier(specifiers)) = &requirement.version_or_url else {
            continue;
        };
        let Some(candidates) = candidates_of(&requirement.name) else {
            continue;
        };
        let range = specifiers_range(specifiers);
        if candidates.is_empty() || candidates.iter().any(|c| range.contains(&c.version)) {
            continue;
        }
        let Some(anchor) = specifiers.iter().next().map(|s| s.version().clone()) else {
            continue;
        };
        // Candidates are newest first: up to two newer and two older than the anchor.
        let split = candidates.partition_point(|c| c.version > anchor);
        let mut nearest: Vec<&Version> = candidates[split.saturating_sub(2)..split]
            .iter()
            .chain(candidates[split..].iter().take(2))
            .map(|c| &c.version)
            .collect();
        nearest.sort();
        let nearest: Vec<String> = nearest.iter().map(ToString::to_string).collect();
        if let Some(reason) = why_excluded(
            &requirement.name,
            &range,
            &files_of(&requirement.name),
            target,
        ) {
            hints.push(format!(
                "{reason}; the nearest versions that install are {} (newest: {})",
                nearest.join(", "),
                candidates[0].version
            ));
            continue;
        }
        hints.push(format!(
            "no version of `{}` matches `{specifiers}`; the nearest that exist are {} (newest: {})",
            requirement.name,
            nearest.join(", "),
            candidates[0].version
        ));
    }
    hints
}

/// Why the newest release of `name` in `range` that the indexes list does not install on
/// `target`; `None` when no such release is listed.
fn why_excluded(
    name: &PackageName,
    range: &pubgrub::Ranges<Version>,
    files: &[DistFile],
    target: &Target,
) -> Option<String> {
    let version = files
        .iter()
        .map(|file| &file.version)
        .filter(|version| range.contains(version))
        .max()?;
    let of_version: Vec<&DistFile> = files
        .iter()
        .filter(|file| &file.version == version)
        .collect();
    let python = &target.python_full_version;
    let requires: Vec<&pep508_rs::pep440_rs::VersionSpecifiers> = of_version
        .iter()
        .filter_map(|file| file.requires_python.as_ref())
        .collect();
    if requires.len() == of_version.len() && requires.iter().all(|spec| !spec.contains(python)) {
        let spec = requires[0];
        let takers: Vec<String> = crate::python::PRESETS
            .iter()
            .filter(|preset| {
                pep508_rs::pep440_rs::Version::from_str(preset.python)
                    .is_ok_and(|version| spec.contains(&version))
            })
            .map(|preset| format!("{} ({})", preset.name, preset.python))
            .collect();
        let takers = if takers.is_empty() {
            String::new()
        } else {
            format!("; targets that take it: {}", takers.join(", "))
        };
        return Some(format!(
            "`{name}` {version} exists, but requires Python {spec}, and the target `{}` has {python}{takers}",
            target.name
        ));
    }
    if of_version.iter().all(|file| file.yanked) {
        return Some(format!("`{name}` {version} exists, but was yanked"));
    }
    let installs = of_version.iter().any(|file| match &file.wheel {
        Some(wheel) => target
            .tags
            .rank(&wheel.python, &wheel.abi, &wheel.platform)
            .is_some(),
        None => true,
    });
    if !installs {
        let tags: Vec<&str> = of_version
            .iter()
            .map(|file| file.file_name.as_str())
            .collect();
        return Some(format!(
            "`{name}` {version} exists, but has no sdist and no wheel for the target `{}` (Python {python}, {}): {}",
            target.name,
            target.platform(),
            tags.join(", ")
        ));
    }
    Some(format!(
        "`{name}` {version} exists, but the lock's options leave it out (`--exclude-newer`, `--only-binary`, `--no-binary`)"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_read_as_they_were_written() {
        assert_eq!(
            readable("your requirements depend on requests >=9.9.9, <9.9.9.post0.dev0\n"),
            "your requirements depend on requests ==9.9.9\n"
        );
        assert_eq!(
            readable("a <1.2.3 | >=1.2.3.post0.dev0 and b <2.0.post0.dev0, c >=1, <2"),
            "a !=1.2.3 and b <=2.0, c >=1, <2"
        );
        assert_eq!(
            readable("x >=1.0.post1, <1.0.post2.dev0 and y >=1.0.dev3, <1.0.dev4"),
            "x ==1.0.post1 and y ==1.0.dev3"
        );
        // Ordinary ranges stay as they are.
        assert_eq!(readable("z >=1.0, <2.0.dev0"), "z >=1.0, <2.0.dev0");
    }
}
