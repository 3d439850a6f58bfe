//! Wheel compatibility tags (PEP 425, PEP 600 manylinux) for one target, in priority order.
//!
//! The order follows `packaging.tags.sys_tags()` as pip uses it: the interpreter's own ABI,
//! then `abi3` for older minors, then `none`, each over every platform from the most specific
//! manylinux down to `linux_ARCH`; then pure tags for the platform; then `any`.

use std::collections::HashMap;

/// One `python-abi-platform` tag.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Tag {
    pub python: String,
    pub abi: String,
    pub platform: String,
}

/// Every tag a target accepts, with its rank (0 is best).
#[derive(Debug, Clone, Default)]
pub struct TagPriorities {
    /// python → abi → platform → rank: nested so that lookups borrow the file name's parts
    /// instead of allocating (they run for every file of every index page).
    ranks: HashMap<String, HashMap<String, HashMap<String, usize>>>,
    platforms: Vec<String>,
}

impl TagPriorities {
    /// The tags for a CPython-like `implementation` (`cp`) at `(major, minor)` on Linux.
    pub fn for_target(
        implementation: &str,
        (major, minor): (u64, u64),
        arch: &str,
        glibc: Option<(u32, u32)>,
    ) -> TagPriorities {
        let platforms = linux_platforms(arch, glibc);
        let mut ordered: Vec<Tag> = Vec::new();
        let mut push = |python: String, abi: String, platform: &str| {
            ordered.push(Tag {
                python,
                abi,
                platform: platform.to_string(),
            })
        };
        let own = format!("{implementation}{major}{minor}");
        // CPython before 3.8 built with pymalloc tags its ABI `cp37m` (PEP 3149 flags).
        let own_abi = if implementation == "cp" && major == 3 && minor < 8 {
            format!("{own}m")
        } else {
            own.clone()
        };
        for abi in [own_abi, "abi3".into(), "none".into()] {
            for platform in &platforms {
                push(own.clone(), abi.clone(), platform);
            }
        }
        // abi3 wheels built for an older minor run on newer ones (PEP 384).
        if implementation == "cp" {
            for older in (2..minor).rev() {
                for platform in &platforms {
                    push(format!("cp{major}{older}"), "abi3".into(), platform);
                }
            }
        }
        let mut pure_pythons = vec![format!("py{major}{minor}"), format!("py{major}")];
        pure_pythons.extend((0..minor).rev().map(|older| format!("py{major}{older}")));
        for python in &pure_pythons {
            for platform in &platforms {
                push(python.clone(), "none".into(), platform);
            }
        }
        push(own, "none".into(), "any");
        for python in &pure_pythons {
            push(python.clone(), "none".into(), "any");
        }

        let mut ranks: HashMap<String, HashMap<String, HashMap<String, usize>>> = HashMap::new();
        for (rank, tag) in ordered.into_iter().enumerate() {
            ranks
                .entry(tag.python)
                .or_default()
                .entry(tag.abi)
                .or_default()
                .entry(tag.platform)
                .or_insert(rank);
        }
        TagPriorities { ranks, platforms }
    }

    /// The best rank among the tags of a wheel file name's compressed tag set
    /// (`py2.py3-none-any`), or `None` when the target takes none of them.
    pub fn rank(&self, python: &str, abi: &str, platform: &str) -> Option<usize> {
        let mut best: Option<usize> = None;
        for python in python.split('.') {
            let Some(abis) = self.ranks.get(python) else {
                continue;
            };
            for abi in abi.split('.') {
                let Some(platforms) = abis.get(abi) else {
                    continue;
                };
                for platform in platform.split('.') {
                    if let Some(&rank) = platforms.get(platform) {
                        best = Some(best.map_or(rank, |b| b.min(rank)));
                    }
                }
            }
        }
        best
    }

    /// Platform tags, best first.
    pub fn platforms(&self) -> Vec<String> {
        self.platforms.clone()
    }
}

/// `manylinux_2_N_ARCH` for every glibc minor down to 2.5 (with the legacy aliases placed
/// where PEP 600 puts them), then `linux_ARCH`.
fn linux_platforms(arch: &str, glibc: Option<(u32, u32)>) -> Vec<String> {
    let mut platforms = Vec::new();
    if let Some((2, newest)) = glibc {
        let lowest = if arch == "x86_64" || arch == "i686" {
            5
        } else {
            17
        };
        for minor in (lowest..=newest).rev() {
            platforms.push(format!("manylinux_2_{minor}_{arch}"));
            let legacy = match minor {
                17 => Some("manylinux2014"),
                12 => Some("manylinux2010"),
                5 => Some("manylinux1"),
                _ => None,
            };
            if let Some(legacy) = legacy {
                platforms.push(format!("{legacy}_{arch}"));
            }
        }
    }
    platforms.push(format!("linux_{arch}"));
    platforms
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cpython311() -> TagPriorities {
        TagPriorities::for_target("cp", (3, 11), "x86_64", Some((2, 36)))
    }

    #[test]
    fn compiled_wheels_beat_pure_ones() {
        let tags = cpython311();
        let compiled = tags
            .rank(
                "cp311",
                "cp311",
                "manylinux_2_17_x86_64.manylinux2014_x86_64",
            )
            .unwrap();
        let pure = tags.rank("py3", "none", "any").unwrap();
        assert!(compiled < pure);
    }

    #[test]
    fn foreign_tags_are_rejected() {
        let tags = cpython311();
        assert_eq!(tags.rank("cp312", "cp312", "manylinux_2_17_x86_64"), None);
        assert_eq!(tags.rank("cp311", "cp311", "manylinux_2_38_x86_64"), None);
        assert_eq!(tags.rank("cp311", "cp311", "win_amd64"), None);
        assert_eq!(tags.rank("py2", "none", "any"), None);
    }

    #[test]
    fn old_cpython_abis_carry_the_pymalloc_flag() {
        let tags = TagPriorities::for_target("cp", (3, 6), "x86_64", Some((2, 28)));
        assert!(tags.rank("cp36", "cp36m", "manylinux2010_x86_64").is_some());
        assert!(tags.rank("cp36", "cp36", "manylinux2010_x86_64").is_none());
    }

    #[test]
    fn abi3_from_older_minors_is_accepted() {
        let tags = cpython311();
        assert!(tags.rank("cp37", "abi3", "manylinux2014_x86_64").is_some());
        assert!(tags.rank("py2.py3", "none", "any").is_some());
    }
}
