//! Work spread over a few threads, results kept in order (std only: the work here is a few
//! dozen coarse items, downloads or wheels, not worth a thread-pool crate).

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

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

/// Values computed once per key, however many threads ask at the same time.
pub struct SingleFlight<K, V> {
    cells: Mutex<HashMap<K, Arc<Mutex<Option<V>>>>>,
}

impl<K: Eq + Hash + Clone, V: Clone> Default for SingleFlight<K, V> {
    fn default() -> Self {
        Self::new()
    }
}

impl<K: Eq + Hash + Clone, V: Clone> SingleFlight<K, V> {
    pub fn new() -> Self {
        SingleFlight {
            cells: Mutex::new(HashMap::new()),
        }
    }

    /// The cached value, or `compute`'s; errors are not cached, so a later call retries.
    pub fn get_or_try<E>(&self, key: &K, compute: impl FnOnce() -> Result<V, E>) -> Result<V, E> {
        let cell = {
            // A panic elsewhere cannot leave the map inconsistent: recover the guard.
            let mut cells = self.cells.lock().unwrap_or_else(|p| p.into_inner());
            cells.entry(key.clone()).or_default().clone()
        };
        let mut slot = cell.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(value) = slot.as_ref() {
            return Ok(value.clone());
        }
        let value = compute()?;
        *slot = Some(value.clone());
        Ok(value)
    }
}
