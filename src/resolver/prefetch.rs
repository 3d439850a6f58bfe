//! Fetching ahead of the solver: index pages and metadata of the versions it will likely pick.
//!
//! PubGrub asks about one package at a time, but the network can answer many questions at
//! once. Every package the solver learns about is queued here; a worker fetches its page,
//! picks the version the solver would pick, fetches that metadata, and queues that version's
//! own dependencies in turn, so the whole graph is discovered at network speed instead of one
//! solver step at a time. Workers only warm the index caches; the solver stays the sole judge,
//! and errors are left for it to meet and report.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, mpsc};

use pep508_rs::pep440_rs::Version;
use pep508_rs::{ExtraName, PackageName, VersionOrUrl};
use pubgrub::Ranges;

use super::ResolveOptions;
use super::candidates::{choose, installable_versions};
use crate::index::{DistFile, PackageIndex};
use crate::python::Target;

/// Threads fetching ahead of the solver.
const WORKERS: usize = 32;

enum Job {
    Fetch {
        name: PackageName,
        range: Ranges<Version>,
        extras: Vec<ExtraName>,
    },
    /// Only the metadata of one file: a version backtracking will likely try next.
    Metadata(Box<DistFile>),
    Stop,
}

/// The queue of packages to fetch ahead.
pub struct Prefetcher<'a> {
    index: &'a PackageIndex,
    target: &'a Target,
    options: &'a ResolveOptions,
    sender: mpsc::Sender<Job>,
    seen: Mutex<HashSet<(PackageName, Vec<ExtraName>)>>,
    seen_files: Mutex<HashSet<String>>,
}

impl Prefetcher<'_> {
    /// Queues `name` (with `extras`) unless it was queued before.
    pub fn request(&self, name: &PackageName, range: &Ranges<Version>, extras: &[ExtraName]) {
        let key = (name.clone(), extras.to_vec());
        if !self
            .seen
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key)
        {
            return;
        }
        // The workers outlive every request, so the queue is open.
        let _ = self.sender.send(Job::Fetch {
            name: name.clone(),
            range: range.clone(),
            extras: extras.to_vec(),
        });
    }

    /// Queues the metadata of `files` (older versions of a package the solver is walking down
    /// one by one), so that the walk costs one round trip per batch instead of one per version.
    pub fn request_metadata<'f>(&self, files: impl IntoIterator<Item = &'f DistFile>) {
        let mut seen = self.seen_files.lock().unwrap_or_else(|p| p.into_inner());
        for file in files {
            // An sdist's metadata means downloading it, maybe building it: only on demand.
            if file.wheel.is_some() && seen.insert(file.file_name.clone()) {
                let _ = self.sender.send(Job::Metadata(Box::new(file.clone())));
            }
        }
    }

    fn work(&self, receiver: &Mutex<mpsc::Receiver<Job>>) {
        loop {
            let job = receiver.lock().unwrap_or_else(|p| p.into_inner()).recv();
            match job {
                Ok(Job::Fetch {
                    name,
                    range,
                    extras,
                }) => self.fetch(&name, &range, &extras),
                Ok(Job::Metadata(file)) => {
                    // Errors are the solver's to meet, if it ever asks.
                    let _ = self.index.metadata(&file);
                }
                Ok(Job::Stop) | Err(_) => break,
            }
        }
    }

    fn fetch(&self, name: &PackageName, range: &Ranges<Version>, extras: &[ExtraName]) {
        if self.options.direct_metadata.contains_key(name) {
            return;
        }
        let files = match self.options.direct.get(name) {
            Some(file) => Arc::new(vec![file.clone()]),
            None => match self.index.files(name) {
                Ok(files) => files,
                Err(_) => return,
            },
        };
        let offline = self.index.is_offline();
        let (candidates, _) =
            installable_versions(name, &files, self.target, self.options, offline);
        let Some(candidate) = choose(name, &candidates, range, self.options, false) else {
            return;
        };
        // An sdist's metadata may need a build, which runs Python for a while: it starts now,
        // beside the network work, so that the solver finds it done (the builder caches it).
        let Ok(metadata) = super::metadata_of(
            self.index,
            &candidate.file,
            self.options.metadata_builder.as_ref(),
        ) else {
            return;
        };
        for requirement in &metadata.requires_dist {
            if !requirement.marker.evaluate(&self.target.markers, extras) {
                continue;
            }
            let range = match &requirement.version_or_url {
                Some(VersionOrUrl::VersionSpecifier(specifiers)) => {
                    super::ranges::specifiers_range(specifiers)
                }
                _ => Ranges::full(),
            };
            self.request(&requirement.name, &range, &requirement.extras);
        }
    }
}

/// Stops the workers however the solver ends, panics included, so the scope can join them.
struct StopOnDrop<'p, 'a>(&'p Prefetcher<'a>);

impl Drop for StopOnDrop<'_, '_> {
    fn drop(&mut self) {
        for _ in 0..WORKERS {
            let _ = self.0.sender.send(Job::Stop);
        }
    }
}

/// Runs `solve` with a pool of prefetch workers beside it.
pub fn with_prefetcher<R>(
    index: &PackageIndex,
    target: &Target,
    options: &ResolveOptions,
    solve: impl FnOnce(&Prefetcher<'_>) -> R,
) -> R {
    let (sender, receiver) = mpsc::channel();
    let receiver = Mutex::new(receiver);
    let prefetcher = Prefetcher {
        index,
        target,
        options,
        sender,
        seen: Mutex::new(HashSet::new()),
        seen_files: Mutex::new(HashSet::new()),
    };
    std::thread::scope(|scope| {
        for _ in 0..WORKERS {
            scope.spawn(|| prefetcher.work(&receiver));
        }
        let _stop = StopOnDrop(&prefetcher);
        solve(&prefetcher)
    })
}
