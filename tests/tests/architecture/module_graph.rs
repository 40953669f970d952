//! The module graph of a crate's sources, for the architecture checks
//! (`tests/tests/architecture.rs`): which module uses which, at the level of
//! siblings under one parent (top-level modules included), and the import
//! cycles among them.
//!
//! A module is a file module (`a.rs`, `a/mod.rs`) or an inline `mod x { … }`.
//! A use is any `crate::…`, `super::…` or `self::…` path, in a `use`
//! declaration (braces expanded) or in code, and a `use` path that starts
//! with a child module's name. Paths are resolved through the modules and
//! through `pub use` re-exports, so `crate::Name` re-exported at the root
//! counts as a use of the module that defines it. `bin/` and `main.rs` are
//! other crates and are left out.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// A module's path from the crate root (`[]` is the root).
pub type ModulePath = Vec<String>;

/// One use of another module from a module.
#[derive(Debug, Clone)]
struct Reference {
    from: ModulePath,
    /// Absolute segments, already resolved from `crate`/`super`/`self`.
    target: Vec<String>,
}

/// A `pub use` in a module: `name` there stands for `target`.
#[derive(Debug, Clone)]
struct ReExport {
    module: ModulePath,
    name: String,
    target: Vec<String>,
}

/// Modules, their uses and the sibling edges between them.
#[derive(Debug, Default)]
pub struct ModuleGraph {
    modules: BTreeSet<ModulePath>,
    re_exports: BTreeMap<(ModulePath, String), Vec<String>>,
    /// Sibling edges: `from` uses `to`, both children of the same parent.
    pub edges: BTreeSet<(ModulePath, ModulePath)>,
}

impl ModuleGraph {
    /// Reads every `.rs` file under `src` (a crate's `src/` directory).
    pub fn of_dir(src: &Path) -> ModuleGraph {
        let mut sources = vec![];
        collect_rs(src, src, &mut sources);
        let borrowed: Vec<(&str, &str)> = sources
            .iter()
            .map(|(p, t)| (p.as_str(), t.as_str()))
            .collect();
        ModuleGraph::of_sources(&borrowed)
    }

    /// Builds the graph from `(path relative to src/, text)` pairs.
    pub fn of_sources(sources: &[(&str, &str)]) -> ModuleGraph {
        let mut graph = ModuleGraph::default();
        let mut parsed = vec![];
        for (path, text) in sources {
            let Some(module) = file_module(path) else {
                continue;
            };
            graph.modules.insert(module.clone());
            let tokens = tokenize(&strip_comments_and_literals(text));
            parsed.push((module, tokens));
        }
        let mut references = vec![];
        let mut re_exports = vec![];
        for (module, tokens) in &parsed {
            scan(
                module,
                tokens,
                &mut graph.modules,
                &mut references,
                &mut re_exports,
            );
        }
        for r in re_exports {
            graph.re_exports.insert((r.module, r.name), r.target);
        }
        for r in references {
            let to = graph.resolve(&r.target, 0);
            if let Some(edge) = sibling_edge(&r.from, &to) {
                graph.edges.insert(edge);
            }
        }
        graph
    }

    /// The deepest module `segments` reaches, following re-exports.
    fn resolve(&self, segments: &[String], depth: usize) -> ModulePath {
        let mut at: ModulePath = vec![];
        for (i, seg) in segments.iter().enumerate() {
            let mut child = at.clone();
            child.push(seg.clone());
            if self.modules.contains(&child) {
                at = child;
                continue;
            }
            if depth < 8 {
                if let Some(target) = self.re_exports.get(&(at.clone(), seg.clone())) {
                    let mut rest = target.clone();
                    rest.extend(segments[i + 1..].iter().cloned());
                    return self.resolve(&rest, depth + 1);
                }
            }
            break;
        }
        at
    }

    /// Every import cycle, each as the modules in order (the first repeated
    /// at the end): one per group of modules that all reach each other.
    pub fn cycles(&self) -> Vec<Vec<ModulePath>> {
        self.tangles()
            .iter()
            .map(|component| cycle_through(component, &self.edges))
            .collect()
    }

    /// The groups of modules that all reach each other (strongly connected, two or more).
    pub fn tangles(&self) -> Vec<Vec<ModulePath>> {
        let mut out: Vec<Vec<ModulePath>> = strongly_connected(&self.edges)
            .into_iter()
            .filter(|c| c.len() > 1)
            .map(|mut c| {
                c.sort();
                c
            })
            .collect();
        out.sort();
        out
    }

    /// The cycles, written `a::b → a::c → a::b`, one a line, each with the
    /// whole group of modules tangled with it.
    pub fn describe_cycles(&self) -> String {
        self.tangles()
            .iter()
            .map(|component| {
                let cycle = cycle_through(component, &self.edges);
                let path: Vec<String> = cycle.iter().map(|m| display(m)).collect();
                let group: Vec<String> = component.iter().map(|m| display(m)).collect();
                format!("{} (tangled: {})", path.join(" → "), group.join(", "))
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// `crate::a::b` style name of a module path.
pub fn display(m: &[String]) -> String {
    if m.is_empty() {
        "crate".into()
    } else {
        m.join("::")
    }
}

fn collect_rs(root: &Path, dir: &Path, out: &mut Vec<(String, String)>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = entries.flatten().map(|e| e.path()).collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            collect_rs(root, &path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let rel = path
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            out.push((rel, text));
        }
    }
}

/// The module a file under `src/` defines; `None` for other crates (`bin/`, `main.rs`).
fn file_module(rel: &str) -> Option<ModulePath> {
    if rel == "main.rs" || rel.starts_with("bin/") {
        return None;
    }
    if rel == "lib.rs" {
        return Some(vec![]);
    }
    let without = rel.strip_suffix(".rs")?;
    let mut parts: Vec<String> = without.split('/').map(str::to_string).collect();
    if parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    Some(parts)
}

/// The edge between the two sibling modules that contain `from` and `to`,
/// if neither contains the other.
fn sibling_edge(from: &[String], to: &[String]) -> Option<(ModulePath, ModulePath)> {
    let common = from.iter().zip(to).take_while(|(a, b)| a == b).count();
    if common == from.len() || common == to.len() {
        return None;
    }
    Some((from[..=common].to_vec(), to[..=common].to_vec()))
}

/// Replaces comments, string and char literals with spaces (keeping lines).
pub fn strip_comments_and_literals(text: &str) -> String {
    let c: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let blank = |ch: char| if ch == '\n' { '\n' } else { ' ' };
    while i < c.len() {
        if c[i] == '/' && c.get(i + 1) == Some(&'/') {
            while i < c.len() && c[i] != '\n' {
                i += 1;
            }
        } else if c[i] == '/' && c.get(i + 1) == Some(&'*') {
            let mut depth = 0;
            while i < c.len() {
                if c[i] == '/' && c.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 2;
                } else if c[i] == '*' && c.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    out.push(blank(c[i]));
                    i += 1;
                }
            }
        } else if c[i] == 'r'
            && (c.get(i + 1) == Some(&'"') || c.get(i + 1) == Some(&'#'))
            && (i == 0 || !(c[i - 1].is_alphanumeric() || c[i - 1] == '_'))
        {
            // Raw string r"…" / r#"…"#.
            let mut j = i + 1;
            let mut hashes = 0;
            while c.get(j) == Some(&'#') {
                hashes += 1;
                j += 1;
            }
            if c.get(j) != Some(&'"') {
                out.push(c[i]);
                i += 1;
                continue;
            }
            j += 1;
            loop {
                if j >= c.len() {
                    break;
                }
                if c[j] == '"' && (0..hashes).all(|h| c.get(j + 1 + h) == Some(&'#')) {
                    j += 1 + hashes;
                    break;
                }
                out.push(blank(c[j]));
                j += 1;
            }
            out.push(' ');
            i = j;
        } else if c[i] == '"' {
            i += 1;
            while i < c.len() && c[i] != '"' {
                if c[i] == '\\' {
                    i += 1;
                }
                if i < c.len() {
                    out.push(blank(c[i]));
                }
                i += 1;
            }
            i += 1;
            out.push(' ');
        } else if c[i] == '\'' {
            // A char literal ('x', '\n', '\u{1F600}') or a lifetime ('a).
            if c.get(i + 1) == Some(&'\\') {
                let mut j = i + 2;
                while j < c.len() && c[j] != '\'' {
                    j += 1;
                }
                i = j + 1;
                out.push(' ');
            } else if c.get(i + 2) == Some(&'\'') {
                i += 3;
                out.push(' ');
            } else {
                out.push(c[i]);
                i += 1;
            }
        } else {
            out.push(c[i]);
            i += 1;
        }
    }
    out
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Ident(String),
    PathSep,
    Open,
    Close,
    Comma,
    Semi,
    Star,
    Other,
}

fn tokenize(text: &str) -> Vec<Token> {
    let c: Vec<char> = text.chars().collect();
    let mut out = vec![];
    let mut i = 0;
    while i < c.len() {
        let ch = c[i];
        if ch.is_alphabetic() || ch == '_' {
            let start = i;
            while i < c.len() && (c[i].is_alphanumeric() || c[i] == '_') {
                i += 1;
            }
            let mut word: String = c[start..i].iter().collect();
            if let Some(raw) = word.strip_prefix("r#") {
                word = raw.to_string();
            }
            out.push(Token::Ident(word));
            continue;
        }
        if ch.is_ascii_digit() {
            while i < c.len() && (c[i].is_alphanumeric() || c[i] == '_' || c[i] == '.') {
                i += 1;
            }
            out.push(Token::Other);
            continue;
        }
        match ch {
            ':' if c.get(i + 1) == Some(&':') => {
                out.push(Token::PathSep);
                i += 2;
                continue;
            }
            '{' => out.push(Token::Open),
            '}' => out.push(Token::Close),
            ',' => out.push(Token::Comma),
            ';' => out.push(Token::Semi),
            '*' => out.push(Token::Star),
            c if c.is_whitespace() => {}
            _ => out.push(Token::Other),
        }
        i += 1;
    }
    out
}

/// One leaf of a `use` tree: its path and the name it binds.
struct UseLeaf {
    segments: Vec<String>,
    name: Option<String>,
}

/// Parses a use tree starting at `tokens[*i]`, appending leaves under `prefix`.
fn parse_use_tree(tokens: &[Token], i: &mut usize, prefix: Vec<String>, out: &mut Vec<UseLeaf>) {
    let mut segments = prefix;
    loop {
        match tokens.get(*i) {
            Some(Token::Ident(word)) => {
                *i += 1;
                if word == "self" && !segments.is_empty() && tokens.get(*i) != Some(&Token::PathSep)
                {
                    // `a::{self}` binds `a`.
                    let name = segments.last().cloned();
                    let name = alias(tokens, i).or(name);
                    out.push(UseLeaf { segments, name });
                    return;
                }
                segments.push(word.clone());
                if tokens.get(*i) == Some(&Token::PathSep) {
                    *i += 1;
                    continue;
                }
                let name = alias(tokens, i).or_else(|| segments.last().cloned());
                out.push(UseLeaf { segments, name });
                return;
            }
            Some(Token::Star) => {
                *i += 1;
                out.push(UseLeaf {
                    segments,
                    name: None,
                });
                return;
            }
            Some(Token::Open) => {
                *i += 1;
                loop {
                    match tokens.get(*i) {
                        Some(Token::Close) => {
                            *i += 1;
                            return;
                        }
                        Some(Token::Comma) => *i += 1,
                        None => return,
                        _ => parse_use_tree(tokens, i, segments.clone(), out),
                    }
                }
            }
            _ => return,
        }
    }
}

/// `as name` after a use path, if present.
fn alias(tokens: &[Token], i: &mut usize) -> Option<String> {
    if tokens.get(*i) == Some(&Token::Ident("as".into())) {
        if let Some(Token::Ident(name)) = tokens.get(*i + 1) {
            *i += 2;
            return Some(name.clone());
        }
    }
    None
}

/// Absolute segments for a path written in `module`, or `None` when it
/// names another crate.
fn absolute(
    module: &[String],
    segments: &[String],
    known: &BTreeSet<ModulePath>,
) -> Option<Vec<String>> {
    let mut at: Vec<String> = module.to_vec();
    let mut rest = segments;
    match rest.first().map(String::as_str) {
        Some("crate") => {
            at.clear();
            rest = &rest[1..];
        }
        Some("super") | Some("self") => {
            while let Some(first) = rest.first() {
                match first.as_str() {
                    "super" => {
                        at.pop()?;
                    }
                    "self" => {}
                    _ => break,
                }
                rest = &rest[1..];
            }
        }
        Some(first) => {
            // Uniform paths: a child module of this one, else another crate.
            let mut child = at.clone();
            child.push(first.to_string());
            if !known.contains(&child) {
                return None;
            }
        }
        None => return None,
    }
    at.extend(rest.iter().cloned());
    Some(at)
}

/// Walks one file's tokens: inline modules, `use` declarations and paths.
fn scan(
    file_module: &[String],
    tokens: &[Token],
    known: &mut BTreeSet<ModulePath>,
    references: &mut Vec<Reference>,
    re_exports: &mut Vec<ReExport>,
) {
    // Inline modules open at a brace depth.
    let mut inline: Vec<(String, usize)> = vec![];
    let mut depth = 0usize;
    let mut i = 0;
    let current = |inline: &[(String, usize)]| -> ModulePath {
        let mut m = file_module.to_vec();
        m.extend(inline.iter().map(|(n, _)| n.clone()));
        m
    };
    // First pass: inline modules, so uniform paths can see them.
    {
        let mut stack: Vec<(String, usize)> = vec![];
        let mut d = 0usize;
        for (k, t) in tokens.iter().enumerate() {
            match t {
                Token::Open => {
                    d += 1;
                    if k >= 2 {
                        if let (Token::Ident(kw), Token::Ident(name)) =
                            (&tokens[k - 2], &tokens[k - 1])
                        {
                            if kw == "mod" {
                                stack.push((name.clone(), d));
                                let mut m = file_module.to_vec();
                                m.extend(stack.iter().map(|(n, _)| n.clone()));
                                known.insert(m);
                            }
                        }
                    }
                }
                Token::Close => {
                    if stack.last().is_some_and(|(_, at)| *at == d) {
                        stack.pop();
                    }
                    d = d.saturating_sub(1);
                }
                _ => {}
            }
        }
    }
    while i < tokens.len() {
        match &tokens[i] {
            Token::Open => {
                depth += 1;
                if i >= 2 {
                    if let (Token::Ident(kw), Token::Ident(name)) = (&tokens[i - 2], &tokens[i - 1])
                    {
                        if kw == "mod" {
                            inline.push((name.clone(), depth));
                        }
                    }
                }
                i += 1;
            }
            Token::Close => {
                if inline.last().is_some_and(|(_, at)| *at == depth) {
                    inline.pop();
                }
                depth = depth.saturating_sub(1);
                i += 1;
            }
            Token::Ident(word) if word == "use" => {
                let public = i >= 1
                    && (tokens[i - 1] == Token::Ident("pub".into())
                        || (i >= 4 && tokens[i - 4] == Token::Ident("pub".into())));
                i += 1;
                let mut leaves = vec![];
                parse_use_tree(tokens, &mut i, vec![], &mut leaves);
                let here = current(&inline);
                for leaf in leaves {
                    let Some(target) = absolute(&here, &leaf.segments, known) else {
                        continue;
                    };
                    if public {
                        if let Some(name) = leaf.name {
                            re_exports.push(ReExport {
                                module: here.clone(),
                                name,
                                target: target.clone(),
                            });
                        }
                    }
                    references.push(Reference {
                        from: here.clone(),
                        target,
                    });
                }
            }
            Token::Ident(word)
                if (word == "crate" || word == "super" || word == "self")
                    && tokens.get(i + 1) == Some(&Token::PathSep) =>
            {
                let mut segments = vec![word.clone()];
                let mut j = i + 1;
                while tokens.get(j) == Some(&Token::PathSep) {
                    match tokens.get(j + 1) {
                        Some(Token::Ident(next)) => {
                            segments.push(next.clone());
                            j += 2;
                        }
                        _ => break,
                    }
                }
                let here = current(&inline);
                if let Some(target) = absolute(&here, &segments, known) {
                    references.push(Reference { from: here, target });
                }
                i = j;
            }
            _ => i += 1,
        }
    }
}

/// Tarjan's strongly connected components of the edge set.
fn strongly_connected(edges: &BTreeSet<(ModulePath, ModulePath)>) -> Vec<Vec<ModulePath>> {
    let mut nodes: BTreeSet<&ModulePath> = BTreeSet::new();
    let mut next: BTreeMap<&ModulePath, Vec<&ModulePath>> = BTreeMap::new();
    for (a, b) in edges {
        nodes.insert(a);
        nodes.insert(b);
        next.entry(a).or_default().push(b);
    }
    struct Walk<'a> {
        index: BTreeMap<&'a ModulePath, usize>,
        low: BTreeMap<&'a ModulePath, usize>,
        stack: Vec<&'a ModulePath>,
        on_stack: BTreeSet<&'a ModulePath>,
        counter: usize,
        out: Vec<Vec<ModulePath>>,
    }
    fn visit<'a>(
        v: &'a ModulePath,
        next: &BTreeMap<&'a ModulePath, Vec<&'a ModulePath>>,
        w: &mut Walk<'a>,
    ) {
        w.index.insert(v, w.counter);
        w.low.insert(v, w.counter);
        w.counter += 1;
        w.stack.push(v);
        w.on_stack.insert(v);
        for &u in next.get(v).map(Vec::as_slice).unwrap_or(&[]) {
            if !w.index.contains_key(u) {
                visit(u, next, w);
                let low = w.low[v].min(w.low[u]);
                w.low.insert(v, low);
            } else if w.on_stack.contains(u) {
                let low = w.low[v].min(w.index[u]);
                w.low.insert(v, low);
            }
        }
        if w.low[v] == w.index[v] {
            let mut component = vec![];
            while let Some(u) = w.stack.pop() {
                w.on_stack.remove(u);
                component.push(u.clone());
                if u == v {
                    break;
                }
            }
            w.out.push(component);
        }
    }
    let mut w = Walk {
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: vec![],
        on_stack: BTreeSet::new(),
        counter: 0,
        out: vec![],
    };
    for v in nodes {
        if !w.index.contains_key(v) {
            visit(v, &next, &mut w);
        }
    }
    w.out
}

/// One concrete cycle inside a strongly connected component.
fn cycle_through(
    component: &[ModulePath],
    edges: &BTreeSet<(ModulePath, ModulePath)>,
) -> Vec<ModulePath> {
    let inside: BTreeSet<&ModulePath> = component.iter().collect();
    let start = component.iter().min().unwrap().clone();
    // Breadth-first from the start back to itself, inside the component.
    let mut came_from: BTreeMap<ModulePath, ModulePath> = BTreeMap::new();
    let mut queue = std::collections::VecDeque::from([start.clone()]);
    while let Some(v) = queue.pop_front() {
        for (a, b) in edges.iter().filter(|(a, _)| *a == v) {
            if !inside.contains(b) {
                continue;
            }
            if *b == start {
                let mut path = vec![start.clone()];
                let mut at = a.clone();
                while at != start {
                    path.push(at.clone());
                    at = came_from[&at].clone();
                }
                path.push(start.clone());
                path.reverse();
                return path;
            }
            if !came_from.contains_key(b) {
                came_from.insert(b.clone(), a.clone());
                queue.push_back(b.clone());
            }
        }
    }
    component.to_vec()
}
