//! The shape of the code, checked: no module depends on itself through others, and no file
//! of the server side grows past [`MAX_LINES`] unless [`LONG_FILES`] says why. Reads the
//! `use` statements and `crate::`/`super::` paths of both crates' sources (a module's
//! `#[cfg(test)] mod tests` block at its end does not count: tests may use fixtures from
//! anywhere). ARCHITECTURE.md describes the dependency direction this keeps.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The longest a file may be (lines before its test module).
const MAX_LINES: usize = 500;

/// Files allowed past [`MAX_LINES`], and why. Shrink this list; never grow it silently.
const LONG_FILES: &[(&str, &str)] = &[
    (
        "app/src/server/services/users/mod.rs",
        "accounts and roles; the reach and last-administrator rules (`account_rules`) and \
         deletion (`deletion`) are out already; role changes (`set_roles`, `refuse_if_owner`) \
         are the next to move",
    ),
    (
        "server/src/commands.rs",
        "every CLI command's glue (argument parsing, output); the work is in the services and \
         `server/src/seed`; to split by command group when the admin API's commands arrive",
    ),
    (
        "app/src/components/console_form.rs",
        "one island: the no-JavaScript form, its refusals and the password confirmation",
    ),
];

/// Modules allowed to refer to each other: sea-orm entities declare their relations in both
/// directions.
const CYCLE_EXEMPT_PREFIX: &str = "server::entities::";

/// Every `.rs` file under `root`, by module path (`server::services::audit::chain`).
fn modules(root: &Path) -> BTreeMap<String, PathBuf> {
    let mut found = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let relative = path.strip_prefix(root).unwrap_or(&path).with_extension("");
                let mut parts: Vec<String> = relative
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect();
                if matches!(
                    parts.last().map(String::as_str),
                    Some("mod" | "lib" | "main")
                ) {
                    parts.pop();
                }
                found.insert(parts.join("::"), path);
            }
        }
    }
    found
}

/// The source without line comments and without the test module at its end.
fn code_of(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let text = match text.find("#[cfg(test)]\nmod tests {") {
        Some(at) => &text[..at],
        None => &text,
    };
    text.lines()
        .map(|line| line.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The paths a `use` tree names: `a::{self, b, c::{d}}` gives `a`, `a::b` and `a::c::d`.
fn expand(tree: &str) -> Vec<Vec<String>> {
    let tree = tree.trim();
    let segments = |s: &str| -> Vec<String> {
        s.split("::")
            .map(|p| p.split(" as ").next().unwrap_or("").trim().to_owned())
            .filter(|p| !p.is_empty())
            .collect()
    };
    let Some(open) = tree.find('{') else {
        return vec![segments(tree)];
    };
    let head = segments(&tree[..open]);
    let body = &tree[open + 1..tree.rfind('}').unwrap_or(tree.len())];
    let mut items = Vec::new();
    let (mut depth, mut start) = (0, 0);
    for (i, c) in body.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                items.push(&body[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    items.push(&body[start..]);
    let mut paths = Vec::new();
    for item in items {
        let item = item.trim();
        if item == "self" || item.starts_with("self as ") {
            paths.push(head.clone());
            continue;
        }
        if item.is_empty() {
            continue;
        }
        for tail in expand(item) {
            paths.push(head.iter().cloned().chain(tail).collect());
        }
    }
    paths
}

/// The segments of a module's name (none for the crate root).
fn segments_of(name: &str) -> Vec<String> {
    name.split("::")
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// `path` (as written in module `me`) as a path from the crate root.
fn absolute(me: &[String], path: &[String]) -> Option<Vec<String>> {
    let (first, rest) = path.split_first()?;
    match first.as_str() {
        "crate" => Some(rest.to_vec()),
        "super" => {
            let mut base = me[..me.len().saturating_sub(1)].to_vec();
            let mut rest = rest;
            while rest.first().is_some_and(|s| s == "super") {
                base.pop();
                rest = &rest[1..];
            }
            Some(base.into_iter().chain(rest.iter().cloned()).collect())
        }
        "self" => Some(me.iter().cloned().chain(rest.iter().cloned()).collect()),
        // A path from a child module (`pub use chain::record`); other crates' paths never
        // name one of ours, so they resolve to nothing.
        _ => Some(me.iter().cloned().chain(path.iter().cloned()).collect()),
    }
}

/// Which modules each module refers to.
fn dependencies(modules: &BTreeMap<String, PathBuf>) -> BTreeMap<String, BTreeSet<String>> {
    let reexports = reexports(modules);
    let resolve = |path: &[String]| resolve(modules, &reexports, path.to_vec());
    let mut graph = BTreeMap::new();
    for (name, file) in modules {
        let me = segments_of(name);
        let code = code_of(file);
        let mut paths: Vec<Vec<String>> = Vec::new();
        for tree in use_trees(&code) {
            paths.extend(expand(&tree));
        }
        // Paths written inline: `crate::a::b(...)`, `super::x::Y`.
        for root in ["crate::", "super::"] {
            for (at, _) in code.match_indices(root) {
                let before = code[..at].chars().next_back();
                if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
                    continue;
                }
                let path: String = code[at..]
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
                    .collect();
                // `crate::a::{b, c}` is a use group, read whole by `use_trees`.
                if path.ends_with("::") {
                    continue;
                }
                paths.push(
                    path.split("::")
                        .filter(|s| !s.is_empty())
                        .map(str::to_owned)
                        .collect(),
                );
            }
        }
        let targets = paths
            .iter()
            .filter_map(|path| absolute(&me, path))
            .filter_map(|path| resolve(&path))
            .filter(|target| target != name)
            .collect();
        graph.insert(name.clone(), targets);
    }
    graph
}

/// The `use` trees of `code`: every statement that starts a line with `use` (after `pub`,
/// `pub(crate)` or `pub(super)`), function-local ones included.
fn use_trees(code: &str) -> Vec<String> {
    let mut trees = Vec::new();
    let mut offset = 0;
    for line in code.split_inclusive('\n') {
        let trimmed = line.trim_start();
        let statement = ["pub(crate) use ", "pub(super) use ", "pub use ", "use "]
            .iter()
            .find_map(|prefix| trimmed.strip_prefix(prefix));
        if let Some(statement) = statement {
            let start = offset + (line.len() - statement.len());
            if let Some(end) = code[start..].find(';') {
                trees.push(code[start..start + end].to_owned());
            }
        }
        offset += line.len();
    }
    trees
}

/// What each module re-exports: (module, name) → the path it stands for. `pub use a::B;`
/// makes `crate::m::B` mean `crate::m::a::B`, and a dependency on it is one on `a`.
fn reexports(modules: &BTreeMap<String, PathBuf>) -> BTreeMap<(String, String), Vec<String>> {
    let mut found = BTreeMap::new();
    for (name, file) in modules {
        let me = segments_of(name);
        let code = code_of(file);
        for tree in use_trees(&code)
            .into_iter()
            .filter(|tree| is_public_use(&code, tree))
        {
            for path in expand(&tree) {
                let (Some(last), Some(target)) = (path.last(), absolute(&me, &path)) else {
                    continue;
                };
                if last != "self" && last != "*" {
                    found.insert((name.clone(), last.clone()), target);
                }
            }
        }
    }
    found
}

/// True when `tree` was written as a `pub use` (or `pub(crate) use`) in `code`.
fn is_public_use(code: &str, tree: &str) -> bool {
    code.match_indices(tree).any(|(at, _)| {
        let before = code[..at].trim_end();
        before.ends_with("pub use") || before.ends_with("pub(crate) use")
    })
}

/// The module that defines what `path` names: its longest prefix that is a module, followed
/// through that module's re-exports.
fn resolve(
    modules: &BTreeMap<String, PathBuf>,
    reexports: &BTreeMap<(String, String), Vec<String>>,
    mut path: Vec<String>,
) -> Option<String> {
    for _ in 0..8 {
        let n = (1..=path.len())
            .rev()
            .find(|n| modules.contains_key(&path[..*n].join("::")))?;
        let module = path[..n].join("::");
        let through = path
            .get(n)
            .and_then(|name| reexports.get(&(module.clone(), name.clone())));
        match through {
            Some(target) if target[..] != path[..] => {
                path = target
                    .iter()
                    .cloned()
                    .chain(path[n + 1..].iter().cloned())
                    .collect();
            }
            _ => return Some(module),
        }
    }
    None
}

/// The cycles of `graph` (strongly connected components of more than one module).
fn cycles(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    // Kosaraju: finish order on the graph, then components on its reverse.
    fn visit<'a>(
        node: &'a str,
        graph: &'a BTreeMap<String, BTreeSet<String>>,
        seen: &mut BTreeSet<&'a str>,
        order: &mut Vec<&'a str>,
    ) {
        if !seen.insert(node) {
            return;
        }
        for next in graph.get(node).into_iter().flatten() {
            visit(next, graph, seen, order);
        }
        order.push(node);
    }
    let mut reverse: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (from, targets) in graph {
        for to in targets {
            reverse.entry(to.clone()).or_default().insert(from.clone());
        }
    }
    let (mut seen, mut order) = (BTreeSet::new(), Vec::new());
    for node in graph.keys() {
        visit(node, graph, &mut seen, &mut order);
    }
    let mut assigned = BTreeSet::new();
    let mut found = Vec::new();
    for node in order.into_iter().rev() {
        let mut component = Vec::new();
        visit(node, &reverse, &mut assigned, &mut component);
        if component.len() > 1 {
            component.sort_unstable();
            found.push(component.into_iter().map(str::to_owned).collect());
        }
    }
    found
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

#[test]
fn no_module_depends_on_itself_through_others() {
    let mut problems = Vec::new();
    for krate in ["app/src", "server/src"] {
        let graph = dependencies(&modules(&workspace().join(krate)));
        assert!(graph.len() > 10, "read the sources of {krate}");
        for cycle in cycles(&graph) {
            if !cycle.iter().all(|m| m.starts_with(CYCLE_EXEMPT_PREFIX)) {
                problems.push(format!("{krate}: {}", cycle.join(" <-> ")));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "module cycles:\n{}",
        problems.join("\n")
    );
}

#[test]
fn the_checker_finds_a_cycle_when_there_is_one() {
    let graph: BTreeMap<String, BTreeSet<String>> = [
        ("a", vec!["b"]),
        ("b", vec!["c"]),
        ("c", vec!["a"]),
        ("d", vec!["a"]),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.into_iter().map(str::to_owned).collect()))
    .collect();
    assert_eq!(cycles(&graph), vec![vec!["a", "b", "c"]]);
    assert_eq!(
        expand("crate::server::{a::{self, B, c}, d as e}"),
        vec![
            vec!["crate", "server", "a"],
            vec!["crate", "server", "a", "B"],
            vec!["crate", "server", "a", "c"],
            vec!["crate", "server", "d"],
        ]
    );
}

#[test]
fn the_checker_sees_cycles_through_re_exports_and_local_uses() {
    let root = std::env::temp_dir().join(format!("latchkey-architecture-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(root.join("server")).unwrap();
    let files = [
        // `server` re-exports the state; the state uses `setup`; `setup` uses the state
        // through the re-export, inside a function: a cycle state <-> setup.
        ("lib.rs", "pub mod server;\n"),
        (
            "server/mod.rs",
            "pub mod setup;\npub mod state;\n\npub use state::AppState;\n",
        ),
        (
            "server/state.rs",
            "use crate::server::setup::Token;\npub struct AppState(Token);\n",
        ),
        (
            "server/setup.rs",
            "pub struct Token;\n\n#[cfg(test)]\nmod tests;\n\npub fn f() {\n    {\n        use crate::server::{AppState};\n    }\n}\n",
        ),
    ];
    for (path, text) in files {
        std::fs::write(root.join(path), text).unwrap();
    }
    let graph = dependencies(&modules(&root));
    let found = cycles(&graph);
    std::fs::remove_dir_all(&root).unwrap();
    assert_eq!(
        found,
        vec![vec!["server::setup".to_owned(), "server::state".to_owned()]],
        "{graph:?}"
    );
}

#[test]
fn server_side_files_stay_short_or_say_why() {
    let mut problems = Vec::new();
    for krate in ["app/src", "server/src"] {
        for file in modules(&workspace().join(krate)).values() {
            let relative = file
                .strip_prefix(workspace())
                .unwrap_or(file)
                .to_string_lossy()
                .into_owned();
            let lines = code_of(file).lines().count();
            let excused = LONG_FILES.iter().any(|(path, _)| *path == relative);
            if lines > MAX_LINES && !excused {
                problems.push(format!("{relative}: {lines} lines"));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "files over {MAX_LINES} lines:\n{}",
        problems.join("\n")
    );
}
