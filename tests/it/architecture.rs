//! The core's modules form layers: no module uses one that uses it back, directly or through
//! others (read from the `crate::…` paths of each top-level module's non-test code).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use crate::support::repo_root;

/// Top-level module → the top-level modules its code names.
fn module_graph(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut stack = vec![src.to_path_buf()];
    while let Some(directory) = stack.pop() {
        for entry in std::fs::read_dir(&directory).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            if path.extension().is_none_or(|ext| ext != "rs") {
                continue;
            }
            let relative = path.strip_prefix(src).unwrap();
            let top = relative
                .components()
                .next()
                .unwrap()
                .as_os_str()
                .to_string_lossy()
                .trim_end_matches(".rs")
                .to_string();
            if matches!(top.as_str(), "lib" | "main" | "fuzz") {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            let code = text.split("#[cfg(test)]").next().unwrap_or("");
            let uses = graph.entry(top.clone()).or_default();
            for (index, _) in code.match_indices("crate::") {
                let name: String = code[index + 7..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                if !name.is_empty() && name != top {
                    uses.insert(name);
                }
            }
        }
    }
    graph
}

#[test]
fn core_modules_have_no_import_cycles() {
    let graph = module_graph(&repo_root().join("src"));
    assert!(graph.len() > 10, "{graph:?}");
    // A cycle exists when a module reaches itself.
    for start in graph.keys() {
        let mut seen = BTreeSet::new();
        let mut path = vec![start.clone()];
        let mut frontier: Vec<(String, Vec<String>)> = vec![(start.clone(), path.clone())];
        while let Some((module, trail)) = frontier.pop() {
            for next in graph.get(&module).into_iter().flatten() {
                if next == start {
                    path = trail.clone();
                    path.push(next.clone());
                    panic!("import cycle: {}", path.join(" -> "));
                }
                if graph.contains_key(next) && seen.insert(next.clone()) {
                    let mut trail = trail.clone();
                    trail.push(next.clone());
                    frontier.push((next.clone(), trail));
                }
            }
        }
    }
}

/// The non-test code of every `.rs` file under `directory`, by path.
fn sources_under(directory: &Path) -> Vec<(std::path::PathBuf, String)> {
    let mut files = Vec::new();
    let mut stack = vec![directory.to_path_buf()];
    while let Some(directory) = stack.pop() {
        for entry in std::fs::read_dir(&directory).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|ext| ext == "rs") {
                let text = std::fs::read_to_string(&path).unwrap();
                let code = text.split("#[cfg(test)]").next().unwrap_or("").to_string();
                files.push((path, code));
            }
        }
    }
    files
}

#[test]
fn operations_report_through_the_reporter_and_never_print() {
    let files = sources_under(&repo_root().join("src/ops"));
    assert!(files.len() >= 5, "{files:?}");
    for (path, code) in files {
        for printing in ["Printer", "println!", "eprintln!", "print!", "eprint!"] {
            assert!(
                !code.contains(printing),
                "`{}` uses `{printing}`: operations return data and report through `Reporter`",
                path.display()
            );
        }
    }
}

#[test]
fn commands_stay_thin() {
    // Resolve settings, call one operation, print: the work lives in `ops/` and below.
    for (path, code) in sources_under(&repo_root().join("src/commands")) {
        let lines = code.lines().count();
        assert!(
            lines <= 110,
            "`{}` has {lines} lines; move the work into `ops/`",
            path.display()
        );
    }
}

#[test]
fn only_the_printer_draws_and_operations_speak_in_events() {
    for (path, code) in sources_under(&repo_root().join("src")) {
        let relative = path.strip_prefix(repo_root().join("src")).unwrap();
        if code.contains("indicatif") {
            assert_eq!(
                relative,
                Path::new("printer/bars.rs"),
                "only the printer draws progress"
            );
        }
        if relative.starts_with("ops") {
            assert!(
                !code.contains("crate::printer"),
                "`{}` names the printer: report `reporter::Step` events instead",
                relative.display()
            );
        }
    }
}

#[test]
fn the_core_keeps_no_list_of_formats_or_packaging_families() {
    // A new format is a new crate: nothing in the core names pyship's own formats.
    for (path, code) in sources_under(&repo_root().join("src")) {
        let relative = path.strip_prefix(repo_root().join("src")).unwrap();
        // The exceptions drive package managers, not formats: this machine's own (for
        // build-depends), and those of the target releases inside their roots (`verify`
        // installs artifacts by their kind, whichever plugin made them); and the bills of
        // materials write package-url's types (`pkg:deb/debian/…`, `pkg:rpm/rhel/…`).
        if relative == Path::new("system_packages.rs")
            || relative.starts_with("verify")
            || relative.starts_with("sbom")
        {
            continue;
        }
        // (`vendors` is also a layout the core stages, so it is not among these.)
        for literal in ["\"tarball\"", "\"rpm\"", "\"deb\""] {
            assert!(
                !code.contains(literal),
                "`{}` names the format {literal}",
                relative.display()
            );
        }
    }
}
