//! No import cycles between the modules of any crate: a module that uses another module's
//! items must not be used back by it, directly or through others (ARCHITECTURE.md: "no
//! import cycles anywhere in the workspace").
//!
//! Each crate's `src/` is parsed with `syn`. A module depends on the module that defines a
//! name it uses (`crate::…`, `self::…`, `super::…` or a child module's path, in a `use` or in
//! code). A `pub use` re-export is followed to the defining module but is not a dependency of
//! the module that re-exports: a facade is not a user. Tests (`#[cfg(test)]` items) and
//! macro bodies are not read.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use syn::visit::Visit;

/// A module's path inside its crate (`[]` is the crate root).
type Module = Vec<String>;

/// What one module uses and re-exports.
#[derive(Default)]
struct Imports {
    /// Paths the module's own code uses (`use` and paths in code), as written.
    uses: Vec<Vec<String>>,
    /// Names the module re-exports, and the path each stands for.
    reexports: BTreeMap<String, Vec<String>>,
}

fn is_test_only(attrs: &[syn::Attribute]) -> bool {
    attrs.iter().any(|a| {
        a.path().is_ident("cfg")
            && a.parse_args::<syn::Meta>()
                .is_ok_and(|m| m.path().is_ident("test"))
    })
}

/// Every path a `use` tree names, with the name it brings in (the last segment or its alias).
fn use_paths(tree: &syn::UseTree, prefix: &mut Vec<String>, out: &mut Vec<(String, Vec<String>)>) {
    match tree {
        syn::UseTree::Path(p) => {
            prefix.push(p.ident.to_string());
            use_paths(&p.tree, prefix, out);
            prefix.pop();
        }
        syn::UseTree::Name(n) => {
            let mut path = prefix.clone();
            if n.ident != "self" {
                path.push(n.ident.to_string());
            }
            let name = path.last().cloned().unwrap_or_default();
            out.push((name, path));
        }
        syn::UseTree::Rename(r) => {
            let mut path = prefix.clone();
            path.push(r.ident.to_string());
            out.push((r.rename.to_string(), path));
        }
        syn::UseTree::Glob(_) => out.push((String::new(), prefix.clone())),
        syn::UseTree::Group(g) => {
            for tree in &g.items {
                use_paths(tree, prefix, out);
            }
        }
    }
}

/// Collects the imports of one module, and of the inline modules inside it.
struct Collector<'a> {
    module: Module,
    modules: &'a mut BTreeMap<Module, Imports>,
}

impl Collector<'_> {
    fn imports(&mut self) -> &mut Imports {
        self.modules.entry(self.module.clone()).or_default()
    }
}

impl<'ast> Visit<'ast> for Collector<'_> {
    fn visit_item(&mut self, item: &'ast syn::Item) {
        let attrs = match item {
            syn::Item::Mod(m) => &m.attrs,
            syn::Item::Use(u) => &u.attrs,
            syn::Item::Fn(f) => &f.attrs,
            syn::Item::Impl(i) => &i.attrs,
            syn::Item::Const(c) => &c.attrs,
            syn::Item::Static(s) => &s.attrs,
            syn::Item::Struct(s) => &s.attrs,
            syn::Item::Enum(e) => &e.attrs,
            syn::Item::Trait(t) => &t.attrs,
            syn::Item::Type(t) => &t.attrs,
            syn::Item::Macro(m) => &m.attrs,
            _ => return syn::visit::visit_item(self, item),
        };
        if is_test_only(attrs) {
            return;
        }
        match item {
            syn::Item::Mod(m) => {
                if let Some((_, items)) = &m.content {
                    self.module.push(m.ident.to_string());
                    self.imports();
                    for item in items {
                        self.visit_item(item);
                    }
                    self.module.pop();
                }
            }
            syn::Item::Use(u) => {
                let mut paths = Vec::new();
                use_paths(&u.tree, &mut Vec::new(), &mut paths);
                let reexport = !matches!(u.vis, syn::Visibility::Inherited);
                let imports = self.imports();
                for (name, path) in paths {
                    if reexport {
                        imports.reexports.insert(name, path);
                    } else {
                        imports.uses.push(path);
                    }
                }
            }
            _ => syn::visit::visit_item(self, item),
        }
    }

    /// `pub(crate)` and `pub(super)` say who may see an item, not what it uses.
    fn visit_visibility(&mut self, _: &'ast syn::Visibility) {}

    fn visit_path(&mut self, path: &'ast syn::Path) {
        let segments = path.segments.iter().map(|s| s.ident.to_string()).collect();
        self.imports().uses.push(segments);
        syn::visit::visit_path(self, path);
    }
}

/// The module a file under `src/` holds: `lib.rs`/`main.rs` → root, `a/mod.rs` and `a.rs` → `a`.
fn module_of(relative: &Path) -> Module {
    let mut parts: Module = relative
        .with_extension("")
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    if matches!(
        parts.last().map(String::as_str),
        Some("lib" | "main" | "mod")
    ) {
        parts.pop();
    }
    parts
}

/// The module graph of one crate, from its source files (path under `src/`, text): for each
/// module, the modules it depends on and one path (as written) that makes each dependency.
fn graph(files: &[(PathBuf, String)]) -> BTreeMap<Module, BTreeMap<Module, String>> {
    let mut modules: BTreeMap<Module, Imports> = BTreeMap::new();
    for (relative, text) in files {
        let file = syn::parse_file(text)
            .unwrap_or_else(|e| panic!("cannot parse {}: {e}", relative.display()));
        let mut collector = Collector {
            module: module_of(relative),
            modules: &mut modules,
        };
        collector.imports();
        for item in &file.items {
            collector.visit_item(item);
        }
    }
    let known: BTreeSet<Module> = modules.keys().cloned().collect();
    let absolute = |from: &Module, path: &[String]| -> Option<Vec<String>> {
        let (first, rest) = path.split_first()?;
        match first.as_str() {
            "crate" => Some(rest.to_vec()),
            "self" => Some([from.as_slice(), rest].concat()),
            "super" => {
                let mut base = from.clone();
                let mut rest = path;
                while let Some(("super", tail)) = rest.split_first().map(|(h, t)| (h.as_str(), t)) {
                    base.pop();
                    rest = tail;
                }
                Some([base.as_slice(), rest].concat())
            }
            // `child::item`; a lone name (`engine`) is a local, not a module.
            _ if rest.is_empty() => None,
            _ => {
                let child = [from.as_slice(), std::slice::from_ref(first)].concat();
                known
                    .contains(&child)
                    .then(|| [from.as_slice(), path].concat())
            }
        }
    };
    // The module that defines what an absolute path names, through re-exports.
    let defining = |path: Vec<String>| -> Module {
        let mut path = path;
        for _ in 0..8 {
            let depth = (0..=path.len())
                .rev()
                .find(|&n| known.contains(&path[..n]))
                .unwrap_or(0);
            let module = path[..depth].to_vec();
            let next = path.get(depth).and_then(|name| {
                let target = modules[&module].reexports.get(name)?;
                absolute(&module, target)
            });
            match next {
                Some(target) => path = [target, path[depth + 1..].to_vec()].concat(),
                None => return module,
            }
        }
        path
    };
    let mut edges: BTreeMap<Module, BTreeMap<Module, String>> = BTreeMap::new();
    for (module, imports) in &modules {
        for path in &imports.uses {
            let Some(target) = absolute(module, path) else {
                continue;
            };
            let target = defining(target);
            if &target != module {
                edges
                    .entry(module.clone())
                    .or_default()
                    .entry(target)
                    .or_insert_with(|| path.join("::"));
            }
        }
    }
    edges
}

/// One cycle through each group of modules that import each other, as `a → b (path) → … → a`.
fn cycles(edges: &BTreeMap<Module, BTreeMap<Module, String>>) -> Vec<String> {
    let name = |m: &Module| {
        if m.is_empty() {
            "crate".to_owned()
        } else {
            m.join("::")
        }
    };
    let mut reported: BTreeSet<Module> = BTreeSet::new();
    let mut found = Vec::new();
    for start in edges.keys() {
        if reported.contains(start) {
            continue;
        }
        // Breadth-first from `start`'s neighbours back to `start`: the shortest cycle.
        let mut came_from: BTreeMap<Module, Module> = BTreeMap::new();
        let mut queue = std::collections::VecDeque::from([start.clone()]);
        let mut closed = false;
        while let Some(at) = queue.pop_front() {
            for next in edges.get(&at).into_iter().flat_map(BTreeMap::keys) {
                if next == start {
                    came_from.insert(start.clone(), at.clone());
                    closed = true;
                    break;
                }
                if !came_from.contains_key(next) {
                    came_from.insert(next.clone(), at.clone());
                    queue.push_back(next.clone());
                }
            }
            if closed {
                break;
            }
        }
        if !closed {
            continue;
        }
        let mut path = vec![start.clone()];
        let mut at = came_from[start].clone();
        while &at != start {
            path.push(at.clone());
            at = came_from[&at].clone();
        }
        path.push(start.clone());
        path.reverse();
        let mut text = name(&path[0]);
        for pair in path.windows(2) {
            text += &format!(" → {} ({})", name(&pair[1]), edges[&pair[0]][&pair[1]]);
        }
        reported.extend(path);
        found.push(text);
    }
    found
}

fn rust_files(dir: &Path, root: &Path, out: &mut Vec<(PathBuf, String)>) {
    let entries =
        std::fs::read_dir(dir).unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()));
    for entry in entries {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            rust_files(&path, root, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let text = std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
            let relative = path.strip_prefix(root).expect("below src").to_path_buf();
            out.push((relative, text));
        }
    }
}

#[test]
fn no_crate_has_an_import_cycle_between_its_modules() {
    let crates = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut problems = Vec::new();
    let mut checked = 0;
    for entry in std::fs::read_dir(&crates).expect("crates/") {
        let src = entry.expect("crate directory").path().join("src");
        if !src.is_dir() {
            continue;
        }
        let mut files = Vec::new();
        rust_files(&src, &src, &mut files);
        checked += files.len();
        for cycle in cycles(&graph(&files)) {
            problems.push(format!("{}: {cycle}", src.display()));
        }
    }
    assert!(
        checked > 50,
        "only {checked} files found under {}",
        crates.display()
    );
    assert!(
        problems.is_empty(),
        "modules that import each other (move what both need into a module below them):\n{}",
        problems.join("\n")
    );
}

fn files(list: &[(&str, &str)]) -> Vec<(PathBuf, String)> {
    list.iter()
        .map(|(p, t)| (PathBuf::from(p), (*t).to_owned()))
        .collect()
}

#[test]
fn a_cycle_through_the_crate_root_and_a_child_is_found() {
    let crate_files = files(&[
        (
            "lib.rs",
            "mod backend; pub use backend::Store; pub trait Api {} fn open() -> Store { backend::make() }",
        ),
        (
            "backend.rs",
            "use crate::Api; pub struct Store; pub fn make() -> Store { Store }",
        ),
    ]);
    assert_eq!(
        cycles(&graph(&crate_files)),
        ["crate → backend (backend::make) → crate (crate::Api)"]
    );
}

#[test]
fn re_exports_tests_and_one_way_imports_are_not_cycles() {
    let crate_files = files(&[
        (
            "lib.rs",
            "mod api; mod backend; pub use api::Api; pub use backend::Store;",
        ),
        ("api.rs", "pub trait Api {}"),
        (
            "backend/mod.rs",
            "mod engine; use crate::Api; pub struct Store; pub use self::engine::Engine;",
        ),
        (
            "backend/engine.rs",
            "use super::Store; pub struct Engine(Store); #[cfg(test)] mod tests { use crate::backend::*; }",
        ),
    ]);
    assert_eq!(cycles(&graph(&crate_files)), Vec::<String>::new());
}

#[test]
fn a_cycle_between_siblings_through_a_third_module_is_found() {
    let crate_files = files(&[
        ("lib.rs", "mod a; mod b; mod c;"),
        ("a.rs", "use crate::b::B; pub struct A;"),
        ("b.rs", "pub struct B(crate::c::C);"),
        (
            "c.rs",
            "pub fn f() -> super::a::A { todo!() } pub struct C;",
        ),
    ]);
    assert_eq!(
        cycles(&graph(&crate_files)),
        ["a → b (crate::b::B) → c (crate::c::C) → a (super::a::A)"]
    );
}
