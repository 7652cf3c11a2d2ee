//! Modules import one way: no circle between the top-level modules of the
//! proxy, the simulator or the widget, and the proxy's `lib.rs` names its
//! modules in an order every import follows (each module imports only
//! modules named before it).
//!
//! The graph is read from the sources: every `crate::<module>` path (and a
//! top-level file's `super::<module>`), with root re-exports (`pub use
//! x::Y` in lib.rs) resolved to their module. Unit-test modules
//! (`#[cfg(test)] mod tests`) are left out: a test may use anything.

use std::{
    collections::{BTreeMap, BTreeSet},
    fs,
    path::{Path, PathBuf},
};

type Graph = BTreeMap<String, BTreeSet<String>>;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Top-level modules: `src/x.rs` and `src/x/`, without lib.rs and main.rs.
fn modules(src: &Path) -> BTreeSet<String> {
    fs::read_dir(src)
        .unwrap()
        .filter_map(|e| {
            let e = e.ok()?;
            let name = e.file_name().into_string().ok()?;
            if e.path().is_dir() {
                Some(name)
            } else {
                let stem = name.strip_suffix(".rs")?;
                (stem != "lib" && stem != "main").then(|| stem.to_owned())
            }
        })
        .collect()
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The code without its unit tests and without comments (doc links such
/// as [`crate::hooks`] are not imports).
fn code_of(text: &str) -> String {
    let text = match text.find("#[cfg(test)]\nmod tests") {
        Some(i) => &text[..i],
        None => text,
    };
    text.lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn ident(s: &str) -> &str {
    let end = s
        .find(|c: char| !(c.is_alphanumeric() || c == '_'))
        .unwrap_or(s.len());
    &s[..end]
}

/// The first path segment of each item after `prefix` (`crate::`), with
/// brace groups (`crate::{a::B, c}`) opened one level.
fn first_segments(text: &str, prefix: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find(prefix) {
        let before = rest[..i].chars().last();
        rest = &rest[i + prefix.len()..];
        if before.is_some_and(|c| c.is_alphanumeric() || matches!(c, '_' | ':' | '$')) {
            continue; // `$crate::`, `foo::crate::` are not ours
        }
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 1;
            let mut item_start = true;
            for (j, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' => {
                        depth -= 1;
                        if depth == 0 {
                            break;
                        }
                    }
                    ',' if depth == 1 => item_start = true,
                    c if item_start && depth == 1 && !c.is_whitespace() => {
                        out.push(ident(&group[j..]).to_owned());
                        item_start = false;
                    }
                    _ => {}
                }
            }
        } else {
            out.push(ident(rest).to_owned());
        }
    }
    out
}

/// `pub use x::{A, B}` / `pub use x::A` in lib.rs: item → module.
fn reexports(lib: &str, mods: &BTreeSet<String>) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for line in lib.lines() {
        let Some(rest) = line.trim().strip_prefix("pub use ") else {
            continue;
        };
        let module = ident(rest);
        if !mods.contains(module) {
            continue;
        }
        let items = &rest[module.len()..];
        for item in items.split([',', '{', '}', ':', ';', ' ']) {
            let item = ident(item);
            if !item.is_empty() {
                out.insert(item.to_owned(), module.to_owned());
            }
        }
    }
    out
}

fn graph(src: &Path) -> Graph {
    let mods = modules(src);
    let lib = fs::read_to_string(src.join("lib.rs")).unwrap_or_default();
    let items = reexports(&lib, &mods);
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let mut g: Graph = mods.iter().map(|m| (m.clone(), BTreeSet::new())).collect();
    for f in files {
        let rel = f.strip_prefix(src).unwrap();
        let mut parts = rel.iter().map(|p| p.to_string_lossy().into_owned());
        let first = parts.next().unwrap();
        let top_level_file = rel.components().count() == 1;
        let from = first.strip_suffix(".rs").unwrap_or(&first).to_owned();
        if !mods.contains(&from) {
            continue;
        }
        let text = code_of(&fs::read_to_string(&f).unwrap());
        let mut segs = first_segments(&text, "crate::");
        if top_level_file {
            segs.extend(first_segments(&text, "super::"));
        }
        for seg in segs {
            let to = if mods.contains(&seg) {
                seg
            } else if let Some(m) = items.get(&seg) {
                m.clone()
            } else {
                continue;
            };
            if to != from {
                g.get_mut(&from).unwrap().insert(to);
            }
        }
    }
    g
}

/// A circle, if any, as `a → b → … → a`.
fn circle(g: &Graph) -> Option<Vec<String>> {
    fn visit(
        n: &str,
        g: &Graph,
        state: &mut BTreeMap<String, u8>,
        stack: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        state.insert(n.to_owned(), 1);
        stack.push(n.to_owned());
        for m in g.get(n).into_iter().flatten() {
            match state.get(m).copied().unwrap_or(0) {
                1 => {
                    let i = stack.iter().position(|s| s == m).unwrap();
                    let mut c = stack[i..].to_vec();
                    c.push(m.clone());
                    return Some(c);
                }
                0 => {
                    if let Some(c) = visit(m, g, state, stack) {
                        return Some(c);
                    }
                }
                _ => {}
            }
        }
        stack.pop();
        state.insert(n.to_owned(), 2);
        None
    }
    let mut state = BTreeMap::new();
    for n in g.keys() {
        if state.get(n).copied().unwrap_or(0) == 0 {
            if let Some(c) = visit(n, g, &mut state, &mut Vec::new()) {
                return Some(c);
            }
        }
    }
    None
}

fn assert_no_circle(crate_src: &str) {
    let g = graph(&root().join(crate_src));
    assert!(g.len() > 3, "{crate_src}: modules not found");
    if let Some(c) = circle(&g) {
        panic!("{crate_src}: import circle {}", c.join(" → "));
    }
}

#[test]
fn the_proxy_has_no_import_circle() {
    assert_no_circle("crates/ccc-proxy/src");
}

#[test]
fn the_simulator_has_no_import_circle() {
    assert_no_circle("crates/ccc-sim/src");
}

#[test]
fn the_widget_has_no_import_circle() {
    assert_no_circle("src");
}

/// Every module of the proxy is named in lib.rs's `//!` layering text,
/// and each imports only modules named before it.
#[test]
fn the_proxy_layering_comment_is_true() {
    let src = root().join("crates/ccc-proxy/src");
    let lib = fs::read_to_string(src.join("lib.rs")).unwrap();
    let doc: String = lib
        .lines()
        .filter_map(|l| l.strip_prefix("//!"))
        .collect::<Vec<_>>()
        .join("\n");
    let layering = doc
        .split_once("import one way")
        .map(|(_, rest)| rest)
        .expect("lib.rs says how modules import one way");
    let mut order: Vec<String> = Vec::new();
    for part in layering.split("[`").skip(1) {
        let name = ident(part).to_owned();
        if !order.contains(&name) {
            order.push(name);
        }
    }
    let g = graph(&src);
    let missing: Vec<_> = g.keys().filter(|m| !order.contains(m)).collect();
    assert!(
        missing.is_empty(),
        "lib.rs's layering text does not name {missing:?}"
    );
    let pos = |m: &str| order.iter().position(|o| o == m).unwrap();
    let mut wrong = Vec::new();
    for (from, tos) in &g {
        for to in tos {
            if pos(to) >= pos(from) {
                wrong.push(format!("{from} → {to}"));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "lib.rs names these modules before what they import: {wrong:?}"
    );
}

#[test]
fn the_reader_sees_braced_and_plain_paths() {
    let text = "use crate::{a::B, c, d::{e, f}};\nlet x = crate::g::h();\n$crate::no";
    assert_eq!(first_segments(text, "crate::"), ["a", "c", "d", "g"]);
    assert_eq!(code_of("/// [`crate::x`]\nuse crate::y;"), "use crate::y;");
    let mut g = Graph::new();
    g.insert("a".into(), ["b".into()].into());
    g.insert("b".into(), ["a".into()].into());
    assert_eq!(circle(&g).unwrap(), ["a", "b", "a"]);
    g.insert("b".into(), BTreeSet::new());
    assert_eq!(circle(&g), None);
}
