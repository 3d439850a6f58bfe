//! Fetching ahead of the solver: index pages and metadata of the versions it will likely pick.
//!
//! PubGrub asks about one package at a time, but the network can answer many questions at
//! once. Every package the solver learns about is queued here; a worker fetches its page,
//! picks the version the solver would pick, fetches that metadata, and queues that version's
//! own dependencies in turn, so the whole graph is discovered at network speed instead of one
//! solver step at a time. Workers only warm the index caches; the solver stays the sole judge,
//! and errors are left for it to meet and report.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
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
    /// A wheel the target cannot install, of a version it will build from its sdist: its
    /// dependencies are likely the built ones, so they are fetched while the build runs.
    Hint {
        wheel: Box<DistFile>,
        extras: Vec<ExtraName>,
    },
    /// Wakes a worker blocked on the queue so that it sees `done` and ends.
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
    /// Set when the solver is done: queued jobs are dropped, not run.
    done: AtomicBool,
    /// Wakes the thread that tells the builder a build is coming (not a queued job: the
    /// queue is long when it matters); dropped unsent when the solver is done.
    expect_build: Mutex<Option<mpsc::Sender<()>>>,
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
            if self.done.load(Ordering::Relaxed) {
                break;
            }
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
                Ok(Job::Hint { wheel, extras }) => {
                    if let Ok(metadata) = self.index.metadata(&wheel) {
                        self.request_dependencies(&metadata, &extras);
                    }
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
        // Meanwhile other workers get the builder's setuptools (the first time), and fetch
        // what a wheel of the same version for another target (a py2-only one, say) depends
        // on: usually what the build will say, and only a guess about what to fetch, never
        // metadata the solver sees.
        if candidate.file.is_sdist() {
            // Taken once: the first sdist wakes the builder's thread.
            if let Some(expect) = self
                .expect_build
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .take()
            {
                let _ = expect.send(());
            }
            if let Some(sibling) = files
                .iter()
                .find(|file| file.version == candidate.version && file.wheel.is_some())
            {
                let _ = self.sender.send(Job::Hint {
                    wheel: Box::new(sibling.clone()),
                    extras: extras.to_vec(),
                });
            }
        }
        let Ok(metadata) = super::metadata_of(
            self.index,
            &candidate.file,
            self.options.metadata_builder.as_ref(),
        ) else {
            return;
        };
        self.request_dependencies(&metadata, extras);
    }

    /// Queues what `metadata` requires on the target, with `extras` turned on.
    fn request_dependencies(&self, metadata: &crate::wheel::Metadata, extras: &[ExtraName]) {
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
        // What is still queued is of no use to anyone: the scope joins the workers once
        // their current jobs end, not after the whole queue.
        self.0.done.store(true, Ordering::Relaxed);
        self.0
            .expect_build
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
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
    let (expect_sender, expect_receiver) = mpsc::channel::<()>();
    let receiver = Mutex::new(receiver);
    let prefetcher = Prefetcher {
        index,
        target,
        options,
        sender,
        seen: Mutex::new(HashSet::new()),
        seen_files: Mutex::new(HashSet::new()),
        done: AtomicBool::new(false),
        expect_build: Mutex::new(Some(expect_sender)),
    };
    std::thread::scope(|scope| {
        for _ in 0..WORKERS {
            scope.spawn(|| prefetcher.work(&receiver));
        }
        if let Some(builder) = &options.metadata_builder {
            scope.spawn(move || {
                if expect_receiver.recv().is_ok() {
                    builder.0.expect_build();
                }
            });
        }
        let _stop = StopOnDrop(&prefetcher);
        solve(&prefetcher)
    })
}
