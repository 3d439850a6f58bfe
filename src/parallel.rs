//! Work spread over a few threads, results kept in order (std only: the work here is a few
//! dozen coarse items, downloads or wheels, not worth a thread-pool crate).

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// `work` applied to each of `items` on at most `workers` threads; results in the items' order.
pub fn map<T: Sync, R: Send>(items: &[T], workers: usize, work: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let workers = workers.min(items.len()).max(1);
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<R>>> = Mutex::new((0..items.len()).map(|_| None).collect());
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                loop {
                    let position = next.fetch_add(1, Ordering::Relaxed);
                    let Some(item) = items.get(position) else {
                        break;
                    };
                    let result = work(item);
                    results.lock().unwrap_or_else(|p| p.into_inner())[position] = Some(result);
                }
            });
        }
    });
    results
        .into_inner()
        .unwrap_or_else(|p| p.into_inner())
        .into_iter()
        .map(|result| result.expect("every item is worked on"))
        .collect()
}

/// Threads for work bound by the CPU and the disk: the machine's cores, 2 to 8.
pub fn cpu_workers() -> usize {
    std::thread::available_parallelism()
        .map_or(2, usize::from)
        .clamp(2, 8)
}
