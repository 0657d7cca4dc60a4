//! The rules of `docs/architecture.md` §1, read off the source text so that
//! a change that breaks one fails here rather than in review:
//! - no two modules import each other, directly or round a ring, at the
//!   crate's top level or inside any layer;
//! - the domain imports no framework and never reads the clock;
//! - only `store/` matches on the backend;
//! - only `store/` and `app/` touch tables and rows;
//! - no source file is over about 600 lines without saying why at its top.
//!
//! A reference is any `crate::a::b` path, `use crate::{a, b::c}` group or
//! `super::` path outside comments and `#[cfg(test)]` modules.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn sources() -> Vec<(PathBuf, String)> {
    fn walk(dir: &Path, out: &mut Vec<(PathBuf, String)>) {
        let mut entries: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
        entries.sort();
        for p in entries {
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&p).unwrap();
                out.push((p, text));
            }
        }
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut out = Vec::new();
    walk(&root, &mut out);
    out.into_iter()
        .map(|(p, t)| (p.strip_prefix(&root).unwrap().to_path_buf(), t))
        .collect()
}

/// The module path of a file: `app/tickets/mod.rs` is `app::tickets`.
fn module_of(path: &Path) -> Vec<String> {
    let mut parts: Vec<String> = path.iter().map(|s| s.to_string_lossy().into_owned()).collect();
    let last = parts.pop().unwrap();
    let stem = last.trim_end_matches(".rs");
    if !matches!(stem, "mod" | "lib" | "main") {
        parts.push(stem.to_string());
    }
    parts
}

/// The code of a file without comments and without its test module.
fn code(text: &str) -> String {
    let text = match text.find("#[cfg(test)]\nmod tests") {
        Some(i) => &text[..i],
        None => text,
    };
    text.lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// A path's leading lower-case segments: `a::b::Type` is `[a, b]`.
fn segments(path: &str) -> Vec<String> {
    path.split("::")
        .map(str::trim)
        .take_while(|s| {
            !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        })
        .map(String::from)
        .collect()
}

/// Every module a file's code refers to, as full paths from the crate root.
fn references(module: &[String], is_mod_file: bool, code: &str) -> BTreeSet<Vec<String>> {
    let mut out = BTreeSet::new();
    let parent: Vec<String> = if is_mod_file || module.is_empty() {
        module[..module.len().saturating_sub(1)].to_vec()
    } else {
        module[..module.len() - 1].to_vec()
    };
    // `crate::a::b`, and each item of `use crate::{a, b::{c, d}}`.
    let mut rest = code;
    while let Some(i) = rest.find("crate::") {
        rest = &rest[i + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let end = matching_brace(group);
            for item in top_level_items(&group[..end]) {
                let s = segments(item);
                if !s.is_empty() {
                    out.insert(s);
                }
            }
        } else {
            let end = rest
                .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
                .unwrap_or(rest.len());
            let s = segments(&rest[..end]);
            if !s.is_empty() {
                out.insert(s);
            }
        }
    }
    // `super::a` from a file is a sibling of the module it belongs to.
    let mut rest = code;
    while let Some(i) = rest.find("super::") {
        rest = &rest[i + "super::".len()..];
        if rest.starts_with("super::") {
            continue;
        }
        let end = rest
            .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
            .unwrap_or(rest.len());
        let s = segments(&rest[..end]);
        if !s.is_empty() {
            let mut full = parent.clone();
            full.extend(s);
            out.insert(full);
        }
    }
    out
}

fn matching_brace(s: &str) -> usize {
    let mut depth = 1;
    for (i, c) in s.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return i;
                }
            }
            _ => {}
        }
    }
    s.len()
}

fn top_level_items(s: &str) -> Vec<&str> {
    let (mut depth, mut start, mut out) = (0, 0, Vec::new());
    for (i, c) in s.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                out.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&s[start..]);
    out
}

/// The edges between modules at `depth` segments below `within` (the
/// crate's top level when `within` is empty).
fn edges(within: &[&str], depth: usize) -> BTreeMap<String, BTreeSet<String>> {
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let under = |m: &[String]| m.len() >= within.len() + depth && within.iter().zip(m).all(|(a, b)| a == b);
    for (path, text) in sources() {
        let module = module_of(&path);
        if !under(&module) {
            continue;
        }
        let is_mod = path.file_name().is_some_and(|f| f == "mod.rs");
        let from = module[..within.len() + depth].join("::");
        for r in references(&module, is_mod, &code(&text)) {
            if !under(&r) {
                continue;
            }
            let to = r[..within.len() + depth].join("::");
            if to != from {
                graph.entry(from.clone()).or_default().insert(to);
            }
        }
    }
    graph
}

/// Rings in a graph (Tarjan's strongly connected components of two or
/// more), each with its edges, for the failure message.
fn rings(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<String> {
    struct S<'a> {
        g: &'a BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on: BTreeSet<&'a str>,
        out: Vec<Vec<&'a str>>,
    }
    fn visit<'a>(s: &mut S<'a>, v: &'a str) {
        let n = s.index.len();
        s.index.insert(v, n);
        s.low.insert(v, n);
        s.stack.push(v);
        s.on.insert(v);
        for w in s.g.get(v).into_iter().flatten() {
            let w = w.as_str();
            if !s.index.contains_key(w) {
                visit(s, w);
                let lw = s.low[w];
                let lv = s.low.get_mut(v).unwrap();
                *lv = (*lv).min(lw);
            } else if s.on.contains(w) {
                let iw = s.index[w];
                let lv = s.low.get_mut(v).unwrap();
                *lv = (*lv).min(iw);
            }
        }
        if s.low[v] == s.index[v] {
            let mut comp = Vec::new();
            loop {
                let w = s.stack.pop().unwrap();
                s.on.remove(w);
                comp.push(w);
                if w == v {
                    break;
                }
            }
            if comp.len() > 1 {
                s.out.push(comp);
            }
        }
    }
    let mut s = S {
        g: graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on: BTreeSet::new(),
        out: Vec::new(),
    };
    let nodes: BTreeSet<&str> = graph
        .iter()
        .flat_map(|(k, v)| std::iter::once(k.as_str()).chain(v.iter().map(String::as_str)))
        .collect();
    for v in nodes {
        if !s.index.contains_key(v) {
            visit(&mut s, v);
        }
    }
    s.out
        .iter()
        .map(|comp| {
            let mut lines = Vec::new();
            for a in comp {
                for b in graph.get(*a).into_iter().flatten() {
                    if comp.contains(&b.as_str()) {
                        lines.push(format!("{a} -> {b}"));
                    }
                }
            }
            lines.sort();
            lines.join(", ")
        })
        .collect()
}

#[test]
fn nothing_imports_in_a_ring() {
    let mut found = Vec::new();
    let top = edges(&[], 1);
    found.extend(rings(&top).into_iter().map(|r| format!("crate: {r}")));
    let layers: BTreeSet<String> = sources()
        .iter()
        .filter_map(|(path, _)| module_of(path).first().cloned())
        .collect();
    for layer in &layers {
        found.extend(
            rings(&edges(&[layer.as_str()], 1))
                .into_iter()
                .map(|r| format!("{layer}: {r}")),
        );
    }
    assert!(found.is_empty(), "modules importing each other:\n{}", found.join("\n"));
    // The reading works: the layers it must see, in the order they may use
    // each other.
    for (from, to) in [
        ("api", "app"),
        ("app", "domain"),
        ("app", "store"),
        ("mail", "app"),
        ("web", "app"),
    ] {
        assert!(top[from].contains(to), "{from} should use {to}: {:?}", top[from]);
    }
    assert!(!top["app"].contains("mail"), "the app depends on no mail library");
}

#[test]
fn the_domain_uses_no_framework_and_never_reads_the_clock() {
    let banned = [
        "actix",
        "diesel",
        "lettre",
        "handlebars",
        "cron",
        "tokio",
        "r2d2",
        "crate::store",
        "crate::app",
    ];
    let clocks = ["Utc::now", "Local::now", "SystemTime::now", "Instant::now"];
    let mut found = Vec::new();
    for (path, text) in sources() {
        if !path.starts_with("domain") {
            continue;
        }
        let code = code(&text);
        for word in banned.iter().chain(&clocks) {
            let hit = code.match_indices(word).any(|(i, _)| {
                // A whole word: `cron` is not `chrono`, nor `crate::application`.
                let before = code[..i].chars().last();
                let after = code[i + word.len()..].chars().next();
                !before.is_some_and(|c| c.is_alphanumeric() || c == '_')
                    && !after.is_some_and(|c| c.is_alphanumeric() || c == '_')
            });
            if hit {
                found.push(format!("src/{}: {word}", path.display()));
            }
        }
    }
    assert!(found.is_empty(), "the domain must stay pure:\n{}", found.join("\n"));
}

#[test]
fn only_the_store_knows_the_backend_and_only_the_app_touches_rows() {
    let mut found = Vec::new();
    for (path, text) in sources() {
        let code = code(&text);
        if path.starts_with("store") {
            continue;
        }
        if code.contains("DbConnection::Postgres") || code.contains("DbConnection::Sqlite") {
            found.push(format!("src/{}: matches on the backend", path.display()));
        }
        if !path.starts_with("app") && (code.contains("store::schema") || code.contains("store::models")) {
            found.push(format!("src/{}: an adapter touches tables or rows", path.display()));
        }
    }
    assert!(found.is_empty(), "{}", found.join("\n"));
}

#[test]
fn long_files_say_why_at_their_top() {
    let mut found = Vec::new();
    for (path, text) in sources() {
        let lines = text.lines().count();
        let head: String = text.lines().take(30).collect::<Vec<_>>().join("\n");
        // The word itself ("Why this file is long"), not "belong" or "along".
        let says_why = head
            .split(|c: char| !c.is_alphanumeric())
            .any(|w| w.eq_ignore_ascii_case("long"));
        if lines > 620 && !says_why {
            found.push(format!("src/{}: {lines} lines", path.display()));
        }
    }
    assert!(
        found.is_empty(),
        "files over about 600 lines without a reason at the top:\n{}",
        found.join("\n")
    );
}
