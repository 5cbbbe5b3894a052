//! The library's module graph, read from the `use` lines and paths of `src/`: it must
//! have no circles, and every module may only depend on the layers below it
//! (domain ← store ← service ← gateway ← fronts, with fan-out, relay and region below
//! the gateway). A failing run prints the offending edges with the file that made them.
//!
//! The graph is built from the source text, not from rustc: `crate::`, `super::` and
//! `self::` paths, `use` trees with braces, and relative `use child::…` lines of a
//! parent module. Re-exports (`pub use child::Item` in a `mod.rs`) are followed, so
//! `use super::Item` counts as an edge to the child that defines `Item`. Code after
//! the first `#[cfg(test)]` of a file (its unit tests) is not part of the graph.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

type Module = String;

struct Source {
    module: Module,
    file: PathBuf,
    code: String,
}

fn module_of(src: &Path, file: &Path) -> Module {
    let rel = file.strip_prefix(src).expect("under src");
    let mut parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    let last = parts.pop().expect("a file name");
    let stem = last.trim_end_matches(".rs");
    if stem != "mod" && stem != "lib" {
        parts.push(stem.to_owned());
    }
    let mut m = String::from("crate");
    for p in parts {
        m.push_str("::");
        m.push_str(&p);
    }
    m
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("readable src dir") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            if path.file_name().is_some_and(|n| n == "bin") {
                continue; // other crates (their own binaries)
            }
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs")
            && path.file_name().is_some_and(|n| n != "main.rs")
        {
            out.push(path);
        }
    }
}

/// The code without comments, string/char literals and unit tests.
fn strip(text: &str) -> String {
    let text = match text.find("#[cfg(test)]") {
        Some(i) => &text[..i],
        None => text,
    };
    let b = text.as_bytes();
    let mut out = String::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match (b[i], b.get(i + 1).copied()) {
            (b'/', Some(b'/')) => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            (b'/', Some(b'*')) => {
                i += 2;
                while i + 1 < b.len() && !(b[i] == b'*' && b[i + 1] == b'/') {
                    i += 1;
                }
                i += 2;
            }
            (b'r', Some(b'#')) | (b'r', Some(b'"'))
                if i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_') =>
            {
                // Raw string: r"…" or r#"…"#.
                let mut j = i + 1;
                let mut hashes = 0;
                while j < b.len() && b[j] == b'#' {
                    hashes += 1;
                    j += 1;
                }
                if j < b.len() && b[j] == b'"' {
                    let close: String = std::iter::once('"')
                        .chain(std::iter::repeat_n('#', hashes))
                        .collect();
                    let end = text[j + 1..].find(&close).map_or(b.len(), |k| j + 1 + k);
                    i = end + close.len();
                    out.push_str("\"\"");
                } else {
                    out.push('r');
                    i += 1;
                }
            }
            (b'"', _) => {
                i += 1;
                while i < b.len() && b[i] != b'"' {
                    if b[i] == b'\\' {
                        i += 1;
                    }
                    i += 1;
                }
                i += 1;
                out.push_str("\"\"");
            }
            (b'\'', _) => {
                // A char literal ('x', '\n') or a lifetime ('a): skip only literals.
                if b.get(i + 2) == Some(&b'\'') {
                    i += 3;
                } else if b.get(i + 1) == Some(&b'\\') {
                    i += 2;
                    while i < b.len() && b[i] != b'\'' {
                        i += 1;
                    }
                    i += 1;
                } else {
                    out.push('\'');
                    i += 1;
                }
            }
            (c, _) => {
                out.push(c as char);
                i += 1;
            }
        }
    }
    out
}

/// Expands a `use` tree (`a::{b, c::{d, e as f}}`) into its leaf paths.
fn expand(tree: &str) -> Vec<String> {
    let mut flat = String::new();
    for word in tree.split_whitespace() {
        if !flat.is_empty() {
            flat.push(' ');
        }
        flat.push_str(word);
    }
    for sep in ["::", "{", "}", ","] {
        flat = flat
            .replace(&format!(" {sep}"), sep)
            .replace(&format!("{sep} "), sep);
    }
    let mut out = Vec::new();
    expand_into("", &flat, &mut out);
    out
}

fn expand_into(prefix: &str, tree: &str, out: &mut Vec<String>) {
    let Some(open) = tree.find('{') else {
        let leaf = tree.split(" as ").next().unwrap_or(tree);
        let path = format!("{prefix}{leaf}");
        out.push(match path.strip_suffix("::self") {
            Some(p) => p.to_owned(),
            None => path.trim_end_matches("::").to_owned(),
        });
        return;
    };
    let head = &tree[..open];
    let inner = &tree[open + 1..tree.rfind('}').unwrap_or(tree.len())];
    let mut depth = 0;
    let mut start = 0;
    for (k, c) in inner.bytes().enumerate() {
        match c {
            b'{' => depth += 1,
            b'}' => depth -= 1,
            b',' if depth == 0 => {
                let part = &inner[start..k];
                if !part.is_empty() {
                    expand_into(&format!("{prefix}{head}"), part, out);
                }
                start = k + 1;
            }
            _ => {}
        }
    }
    let part = &inner[start..];
    if !part.is_empty() {
        expand_into(&format!("{prefix}{head}"), part, out);
    }
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Inline paths starting with `crate::`, `super::`, `self::` or a child module's name
/// (`children`), outside `use` lines.
fn inline_paths(code: &str, children: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    let starts = ["crate", "super", "self"]
        .into_iter()
        .map(str::to_owned)
        .chain(children.iter().cloned());
    for start in starts {
        let start = format!("{start}::");
        let mut from = 0;
        while let Some(k) = code[from..].find(&start) {
            let i = from + k;
            from = i + start.len();
            if i > 0
                && code[..i]
                    .chars()
                    .next_back()
                    .is_some_and(|c| is_ident(c) || c == ':')
            {
                continue;
            }
            let rest = &code[i..];
            let end = rest
                .char_indices()
                .find(|(_, c)| !(is_ident(*c) || *c == ':'))
                .map_or(rest.len(), |(j, _)| j);
            if rest[end..].starts_with('{') {
                continue; // a `use` tree, read by `use_statements`
            }
            out.push(rest[..end].trim_end_matches(':').to_owned());
        }
    }
    out
}

/// `use` statements of the code: (is `pub use`, expanded paths).
fn use_statements(code: &str) -> Vec<(bool, Vec<String>)> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(k) = code[from..].find("use ") {
        let i = from + k;
        from = i + 4;
        let before = code[..i].trim_end();
        if i > 0 && code[..i].chars().next_back().is_some_and(is_ident) {
            continue;
        }
        let is_pub = before.ends_with("pub") || before.ends_with(')');
        let Some(end) = code[i..].find(';') else {
            break;
        };
        out.push((is_pub, expand(&code[i + 4..i + end])));
        from = i + end;
    }
    out
}

fn absolute(module: &str, path: &str, modules: &BTreeSet<Module>) -> Option<Vec<String>> {
    let mut segs: Vec<String> = path.split("::").map(str::to_owned).collect();
    let mut base: Vec<String> = module.split("::").map(str::to_owned).collect();
    match segs.first().map(String::as_str) {
        Some("crate") => return Some(segs),
        Some("self") => {
            segs.remove(0);
        }
        Some("super") => {
            while segs.first().map(String::as_str) == Some("super") {
                segs.remove(0);
                base.pop();
            }
        }
        Some(first) => {
            // Relative to this module (a child), else an external crate.
            let child = format!("{module}::{first}");
            if !modules.contains(&child) {
                return None;
            }
        }
        None => return None,
    }
    base.extend(segs);
    Some(base)
}

struct Graph {
    modules: BTreeSet<Module>,
    /// `parent::Item` → the child module it is re-exported from.
    reexports: BTreeMap<String, Module>,
}

impl Graph {
    /// The module a path refers to: the deepest module it names, following re-exports.
    fn resolve(&self, segs: &[String]) -> Option<Module> {
        let mut best = None;
        let mut cur = String::new();
        for (k, s) in segs.iter().enumerate() {
            if k > 0 {
                cur.push_str("::");
            }
            cur.push_str(s);
            if self.modules.contains(&cur) {
                best = Some(cur.clone());
            } else if let Some(m) = self.reexports.get(&cur) {
                best = Some(m.clone());
                break;
            } else {
                break;
            }
        }
        best
    }
}

fn read_sources() -> Vec<Source> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    files
        .into_iter()
        .map(|file| Source {
            module: module_of(&src, &file),
            code: strip(&std::fs::read_to_string(&file).expect("readable source")),
            file,
        })
        .collect()
}

/// Every edge `from → to` with the file that made it.
fn edges(sources: &[Source]) -> BTreeMap<(Module, Module), PathBuf> {
    let modules: BTreeSet<Module> = sources.iter().map(|s| s.module.clone()).collect();
    let mut graph = Graph {
        modules,
        reexports: BTreeMap::new(),
    };
    // Re-exports first (a mod.rs's `pub use child::Item`), resolved to the child.
    for s in sources {
        for (is_pub, paths) in use_statements(&s.code) {
            if !is_pub {
                continue;
            }
            for p in paths {
                let Some(abs) = absolute(&s.module, &p, &graph.modules) else {
                    continue;
                };
                let Some(target) = graph.resolve(&abs) else {
                    continue;
                };
                if target.starts_with(&format!("{}::", s.module)) {
                    let item = abs.last().cloned().unwrap_or_default();
                    graph
                        .reexports
                        .insert(format!("{}::{item}", s.module), target);
                }
            }
        }
    }
    let mut out = BTreeMap::new();
    for s in sources {
        let mut paths: Vec<String> = use_statements(&s.code)
            .into_iter()
            .flat_map(|(_, p)| p)
            .collect();
        let prefix = format!("{}::", s.module);
        let children: Vec<String> = graph
            .modules
            .iter()
            .filter_map(|m| m.strip_prefix(&prefix))
            .filter(|rest| !rest.contains("::"))
            .map(str::to_owned)
            .collect();
        paths.extend(inline_paths(&s.code, &children));
        for p in paths {
            let Some(abs) = absolute(&s.module, &p, &graph.modules) else {
                continue;
            };
            let Some(target) = graph.resolve(&abs) else {
                continue;
            };
            if std::env::var("GRAPH_DEBUG").is_ok_and(|m| m == s.module) {
                eprintln!("{} : {p} -> {target}", s.module);
            }
            if target != s.module && target != "crate" {
                out.entry((s.module.clone(), target))
                    .or_insert_with(|| s.file.clone());
            }
        }
    }
    out
}

/// Strongly connected components with more than one module (Tarjan).
fn cycles(edges: &BTreeMap<(Module, Module), PathBuf>) -> Vec<Vec<Module>> {
    let mut adj: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (a, b) in edges.keys() {
        adj.entry(a).or_default().push(b);
        adj.entry(b).or_default();
    }
    struct T<'a> {
        adj: &'a BTreeMap<&'a str, Vec<&'a str>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on: BTreeSet<&'a str>,
        next: usize,
        out: Vec<Vec<Module>>,
    }
    fn visit<'a>(t: &mut T<'a>, v: &'a str) {
        t.index.insert(v, t.next);
        t.low.insert(v, t.next);
        t.next += 1;
        t.stack.push(v);
        t.on.insert(v);
        for &w in &t.adj[v] {
            if !t.index.contains_key(w) {
                visit(t, w);
                let lw = t.low[w];
                let lv = t.low.get_mut(v).expect("visited");
                *lv = (*lv).min(lw);
            } else if t.on.contains(w) {
                let iw = t.index[w];
                let lv = t.low.get_mut(v).expect("visited");
                *lv = (*lv).min(iw);
            }
        }
        if t.low[v] == t.index[v] {
            let mut comp = Vec::new();
            while let Some(w) = t.stack.pop() {
                t.on.remove(w);
                comp.push(w.to_owned());
                if w == v {
                    break;
                }
            }
            if comp.len() > 1 {
                comp.sort();
                t.out.push(comp);
            }
        }
    }
    let mut t = T {
        adj: &adj,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on: BTreeSet::new(),
        next: 0,
        out: Vec::new(),
    };
    for v in adj.keys() {
        if !t.index.contains_key(v) {
            visit(&mut t, v);
        }
    }
    t.out
}

/// Layers, lowest first: a module may use its own layer and the ones below.
const LAYERS: &[&[&str]] = &[
    &["domain"],
    &[
        "cause", "clock", "config", "metrics", "trend", "view", "protocol", "wsframe", "mailbox",
        "wakeup", "timebase",
    ],
    &["store", "ratelimit", "auth", "quota"],
    &["fanout", "hub", "audit"],
    &["service", "scheduler"],
    &["region"],
    &["relay"],
    &["error"],
    &["gateway", "dashboard"],
    &["front"],
    &["backends"],
    &["app"],
];

fn layer(module: &str) -> Option<usize> {
    let top = module.split("::").nth(1)?;
    LAYERS.iter().position(|l| l.contains(&top))
}

#[test]
fn the_module_graph_has_no_circles() {
    let sources = read_sources();
    let edges = edges(&sources);
    assert!(
        edges.len() > 50,
        "the graph looks empty: {} edges",
        edges.len()
    );
    let found = cycles(&edges);
    let mut report = String::new();
    for comp in &found {
        report.push_str(&format!("\ncircle through {comp:?}:\n"));
        for ((a, b), file) in &edges {
            if comp.contains(a) && comp.contains(b) {
                report.push_str(&format!("  {a} -> {b}   ({})\n", file.display()));
            }
        }
    }
    assert!(found.is_empty(), "module circles:{report}");
}

#[test]
fn every_module_uses_only_its_layer_and_the_ones_below() {
    let sources = read_sources();
    for s in &sources {
        assert!(
            s.module == "crate" || layer(&s.module).is_some(),
            "{} ({}) is in no layer: add it to LAYERS",
            s.module,
            s.file.display()
        );
    }
    let mut bad = Vec::new();
    for ((a, b), file) in edges(&sources) {
        let (Some(la), Some(lb)) = (layer(&a), layer(&b)) else {
            continue;
        };
        if lb > la {
            bad.push(format!("  {a} -> {b}   ({})", file.display()));
        }
    }
    assert!(
        bad.is_empty(),
        "modules reaching up the layers:\n{}",
        bad.join("\n")
    );
}

#[test]
fn the_parser_reads_use_trees_and_strips_literals() {
    assert_eq!(
        expand("crate::a::{b, c::{d, e as f}, self}"),
        vec![
            "crate::a::b",
            "crate::a::c::d",
            "crate::a::c::e",
            "crate::a"
        ]
    );
    let code = strip("let s = \"crate::x::y\"; // crate::z\nuse crate::q;");
    assert!(!code.contains("crate::x") && !code.contains("crate::z"));
    assert_eq!(inline_paths(&code, &[]), vec!["crate::q".to_owned()]);
    let code = strip("fn f() { child::go(); x::child::no(); }");
    assert_eq!(
        inline_paths(&code, &["child".to_owned()]),
        vec!["child::go".to_owned()]
    );
}
