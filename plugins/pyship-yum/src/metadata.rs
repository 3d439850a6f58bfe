//! One rpm as the repository metadata describes it: its `<package>` elements of
//! `primary.xml`, `filelists.xml` and `other.xml`, read from its headers (never its payload).

use std::path::Path;

use rpm::{Dependency, DependencyFlags, FileType, PackageMetadata};

/// What the repository records of one rpm.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The sha256 of the file, dnf's package id.
    pub pkgid: String,
    pub name: String,
    pub nevra: String,
    /// The sha256 of the artifact as it was built (the repository's copy is signed).
    pub source_sha256: String,
    pub primary: String,
    pub filelists: String,
    pub other: String,
}

/// `text` escaped for XML content and attributes.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // XML 1.0 cannot carry other control characters at all.
            c if c.is_control() && !matches!(c, '\n' | '\t') => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// `NAME-EPOCH:VERSION-RELEASE.ARCH` of the rpm at `path`.
pub fn nevra(path: &Path) -> Result<String, String> {
    let failed = |error: rpm::Error| {
        format!(
            "`{}` is not an rpm pyship-yum can read: {error}",
            path.display()
        )
    };
    let metadata = PackageMetadata::open(path).map_err(failed)?;
    Ok(format!(
        "{}-{}:{}-{}.{}",
        metadata.get_name().map_err(failed)?,
        metadata.get_epoch().unwrap_or(0),
        metadata.get_version().map_err(failed)?,
        metadata.get_release().map_err(failed)?,
        metadata.get_arch().map_err(failed)?
    ))
}

/// The entry of the rpm at `path`, whose sha256 is `sha256`, to be found at `href` under the
/// repository.
pub fn entry(path: &Path, sha256: &str, size: u64, href: &str) -> Result<Entry, String> {
    let failed = |error: rpm::Error| {
        format!(
            "`{}` is not an rpm pyship-yum can read: {error}",
            path.display()
        )
    };
    let metadata = PackageMetadata::open(path).map_err(failed)?;
    let text = |value: Result<&str, rpm::Error>| escape(value.unwrap_or(""));
    let name = metadata.get_name().map_err(failed)?.to_string();
    let arch = metadata.get_arch().map_err(failed)?.to_string();
    let epoch = metadata.get_epoch().unwrap_or(0);
    let version = metadata.get_version().map_err(failed)?.to_string();
    let release = metadata.get_release().map_err(failed)?.to_string();
    let version_element = format!(
        "<version epoch=\"{epoch}\" ver=\"{}\" rel=\"{}\"/>",
        escape(&version),
        escape(&release)
    );
    let build_time = metadata.get_build_time().unwrap_or(0);
    let offsets = metadata.get_package_segment_offsets();
    let installed = metadata.get_installed_size().unwrap_or(0);
    let entries = |what: &str, dependencies: Vec<Dependency>| -> String {
        let mut items: Vec<String> = dependencies
            .iter()
            // rpm's own features are the installing rpm's business, not the repository's.
            .filter(|dependency| !dependency.name.starts_with("rpmlib("))
            .map(dependency_entry)
            .collect();
        // One per scriptlet that needs `/bin/sh` is one for the repository.
        items.dedup();
        if items.is_empty() {
            String::new()
        } else {
            format!(
                "      <rpm:{what}>\n{}      </rpm:{what}>\n",
                items.concat()
            )
        }
    };
    let files = metadata.get_file_entries().unwrap_or_default();
    let file_element = |entry: &rpm::FileEntry<'_>| {
        let path = escape(&entry.path().display().to_string());
        if entry.file_type() == FileType::Dir {
            format!("    <file type=\"dir\">{path}</file>\n")
        } else {
            format!("    <file>{path}</file>\n")
        }
    };
    // primary.xml lists only the files dependencies are commonly on.
    let primary_files: String = files
        .iter()
        .filter(|entry| {
            let path = entry.path().display().to_string();
            path.starts_with("/etc/") || path.contains("/bin/") || path == "/usr/lib/sendmail"
        })
        .map(|entry| format!("  {}", file_element(entry)))
        .collect();
    let primary = format!(
        "<package type=\"rpm\">\n  <name>{name_x}</name>\n  <arch>{arch_x}</arch>\n  {version_element}\n  <checksum type=\"sha256\" pkgid=\"YES\">{sha256}</checksum>\n  <summary>{summary}</summary>\n  <description>{description}</description>\n  <packager>{packager}</packager>\n  <url>{url}</url>\n  <time file=\"{build_time}\" build=\"{build_time}\"/>\n  <size package=\"{size}\" installed=\"{installed}\" archive=\"{archive}\"/>\n  <location href=\"{href_x}\"/>\n  <format>\n    <rpm:license>{license}</rpm:license>\n    <rpm:vendor>{vendor}</rpm:vendor>\n    <rpm:group>{group}</rpm:group>\n    <rpm:buildhost>{buildhost}</rpm:buildhost>\n    <rpm:sourcerpm>{sourcerpm}</rpm:sourcerpm>\n    <rpm:header-range start=\"{start}\" end=\"{end}\"/>\n{provides}{requires}{conflicts}{obsoletes}{recommends}{suggests}{primary_files}  </format>\n</package>\n",
        name_x = escape(&name),
        arch_x = escape(&arch),
        summary = text(metadata.get_summary()),
        description = text(metadata.get_description()),
        packager = text(metadata.get_packager()),
        url = text(metadata.get_url()),
        archive = size.saturating_sub(offsets.payload),
        href_x = escape(href),
        license = text(metadata.get_license()),
        vendor = text(metadata.get_vendor()),
        group = text(metadata.get_group()),
        buildhost = text(metadata.get_build_host()),
        sourcerpm = text(metadata.get_source_rpm()),
        start = offsets.header,
        end = offsets.payload,
        provides = entries("provides", metadata.get_provides().unwrap_or_default()),
        requires = entries("requires", metadata.get_requires().unwrap_or_default()),
        conflicts = entries("conflicts", metadata.get_conflicts().unwrap_or_default()),
        obsoletes = entries("obsoletes", metadata.get_obsoletes().unwrap_or_default()),
        recommends = entries("recommends", metadata.get_recommends().unwrap_or_default()),
        suggests = entries("suggests", metadata.get_suggests().unwrap_or_default()),
    );
    let header = format!(
        "<package pkgid=\"{sha256}\" name=\"{}\" arch=\"{}\">\n  {version_element}\n",
        escape(&name),
        escape(&arch)
    );
    let all_files: String = files.iter().map(file_element).collect();
    Ok(Entry {
        pkgid: sha256.to_string(),
        nevra: format!("{name}-{epoch}:{version}-{release}.{arch}"),
        source_sha256: sha256.to_string(),
        name,
        primary,
        filelists: format!("{header}{all_files}</package>\n"),
        other: format!("{header}</package>\n"),
    })
}

/// `<rpm:entry name="…" flags="GE" epoch="0" ver="1.0" rel="1"/>`.
fn dependency_entry(dependency: &Dependency) -> String {
    let comparison = dependency.flags
        & (DependencyFlags::LESS | DependencyFlags::GREATER | DependencyFlags::EQUAL);
    let flags = match comparison.bits() {
        bits if bits == DependencyFlags::EQUAL.bits() => "EQ",
        bits if bits == DependencyFlags::LESS.bits() => "LT",
        bits if bits == DependencyFlags::GREATER.bits() => "GT",
        bits if bits == DependencyFlags::LE.bits() => "LE",
        bits if bits == DependencyFlags::GE.bits() => "GE",
        _ => "",
    };
    let name = escape(&dependency.name);
    if flags.is_empty() || dependency.version.is_empty() {
        return format!("        <rpm:entry name=\"{name}\"/>\n");
    }
    // `[EPOCH:]VERSION[-RELEASE]`.
    let (epoch, rest) = match dependency.version.split_once(':') {
        Some((epoch, rest)) if epoch.chars().all(|c| c.is_ascii_digit()) => (epoch, rest),
        _ => ("0", dependency.version.as_str()),
    };
    let (version, release) = match rest.rsplit_once('-') {
        Some((version, release)) => (version, Some(release)),
        None => (rest, None),
    };
    let release = release.map_or(String::new(), |release| {
        format!(" rel=\"{}\"", escape(release))
    });
    format!(
        "        <rpm:entry name=\"{name}\" flags=\"{flags}\" epoch=\"{}\" ver=\"{}\"{release}/>\n",
        escape(epoch),
        escape(version)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped_for_xml() {
        assert_eq!(escape("a<b & \"c\"\u{1}"), "a&lt;b &amp; &quot;c&quot; ");
    }

    #[test]
    fn dependencies_carry_their_comparison_and_evr() {
        let entry = dependency_entry(&Dependency::greater_eq("python3.11", "1:3.11.2-6"));
        assert_eq!(
            entry,
            "        <rpm:entry name=\"python3.11\" flags=\"GE\" epoch=\"1\" ver=\"3.11.2\" rel=\"6\"/>\n"
        );
        assert_eq!(
            dependency_entry(&Dependency::any("libc.so.6()(64bit)")),
            "        <rpm:entry name=\"libc.so.6()(64bit)\"/>\n"
        );
    }
}
