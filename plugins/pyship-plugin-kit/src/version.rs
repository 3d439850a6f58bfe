//! A PEP 440 version (given in parts, as the manifest's facts carry it) written so that dpkg
//! and rpm sort it as PEP 440 does: both know `~`, which sorts before anything, even the end.

use pyship_plugin::VersionParts;

/// The version without its epoch (each format writes that its own way): `2.0rc1.post2.dev3+l`
/// is `2.0~rc1.post2~dev3+l`. Pre- and dev-releases sort before their release (`~`), the
/// local label stays after `+`.
pub fn tilde_version(parts: &VersionParts) -> String {
    let release: Vec<String> = parts.release.iter().map(u64::to_string).collect();
    let mut out = release.join(".");
    if let Some(pre) = &parts.pre {
        out.push_str(&format!("~{}{}", pre.kind.as_str(), pre.number));
    }
    if let Some(post) = parts.post {
        out.push_str(&format!(".post{post}"));
    }
    if let Some(dev) = parts.dev {
        out.push_str(&format!("~dev{dev}"));
    }
    if let Some(local) = &parts.local {
        out.push_str(&format!("+{local}"));
    }
    out
}

#[cfg(test)]
mod tests {
    use pyship_plugin::{PreRelease, PreReleaseKind};

    use super::*;

    #[test]
    fn pre_and_dev_releases_sort_before_their_release() {
        let parts = VersionParts {
            epoch: 1,
            release: vec![2, 0],
            pre: Some(PreRelease {
                kind: PreReleaseKind::Rc,
                number: 1,
            }),
            post: Some(2),
            dev: Some(3),
            local: Some("l".into()),
        };
        assert_eq!(tilde_version(&parts), "2.0~rc1.post2~dev3+l");
    }
}
