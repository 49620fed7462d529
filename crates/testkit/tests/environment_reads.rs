//! Only `taskpilot-config` reads the environment (issue 14; ARCHITECTURE.md): every other
//! crate gets its settings from `Settings` and the console's conventions from
//! `taskpilot_config::console`, so `taskpilot config` shows everything TaskPilot reads and a
//! `.env` value reaches every part.
//!
//! Each crate's `src/` is read as Rust tokens (`proc-macro2`, so comments and string contents
//! never match and macro bodies do); items under `#[cfg(test)]` are passed over. What counts as
//! reading: `env::var`, `var_os`, `vars`, `vars_os`, `set_var`, `remove_var` (also when
//! imported in a `use` group), tracing's `from_default_env`/`try_from_default_env`/`from_env`,
//! and `dotenvy`. clap's `env = "…"` is kept out by building clap without its `env` feature.

use std::path::{Path, PathBuf};

use proc_macro2::{Delimiter, TokenStream, TokenTree};

/// The functions of `std::env` that read or change variables.
const ENV_FUNCTIONS: &[&str] = &["var", "var_os", "vars", "vars_os", "set_var", "remove_var"];
/// Names that read variables on their own (tracing's filters, a dotenv loader).
const READERS: &[&str] = &[
    "from_default_env",
    "try_from_default_env",
    "from_env",
    "dotenvy",
];

/// Files outside `taskpilot-config` that may read variables, and why.
const ALLOWED: &[(&str, &str)] = &[(
    "store/src/fixture.rs",
    "test support for tests and benches: CARGO_MANIFEST_DIR (set by cargo) finds the checkout, \
     CI=true makes a missing reference fixture an error",
)];

/// Where `tokens` read the environment: the line and what was used.
fn reads(tokens: TokenStream) -> Vec<(usize, String)> {
    let trees: Vec<TokenTree> = tokens.into_iter().collect();
    let mut found = Vec::new();
    let mut i = 0;
    while i < trees.len() {
        // `#[cfg(test)]` and the item it guards: up to the item's `;` or its `{ … }`.
        if is_cfg_test(&trees, i) {
            i += 2;
            while i < trees.len() {
                match &trees[i] {
                    TokenTree::Punct(p) if p.as_char() == ';' => break,
                    TokenTree::Group(g) if g.delimiter() == Delimiter::Brace => break,
                    _ => i += 1,
                }
            }
            i += 1;
            continue;
        }
        match &trees[i] {
            TokenTree::Ident(ident) => {
                let name = ident.to_string();
                if READERS.contains(&name.as_str()) {
                    found.push((ident.span().start().line, name));
                } else if name == "env" && is_path_sep(&trees, i + 1) {
                    match trees.get(i + 3) {
                        Some(TokenTree::Ident(f))
                            if ENV_FUNCTIONS.contains(&f.to_string().as_str()) =>
                        {
                            found.push((f.span().start().line, format!("env::{f}")));
                        }
                        Some(TokenTree::Group(g)) if g.delimiter() == Delimiter::Brace => {
                            for t in g.stream() {
                                if let TokenTree::Ident(f) = t
                                    && ENV_FUNCTIONS.contains(&f.to_string().as_str())
                                {
                                    found.push((f.span().start().line, format!("env::{{{f}}}")));
                                }
                            }
                        }
                        _ => {}
                    }
                }
            }
            TokenTree::Group(g) => found.extend(reads(g.stream())),
            _ => {}
        }
        i += 1;
    }
    found
}

/// `#` followed by `[cfg(test)]` at `i`.
fn is_cfg_test(trees: &[TokenTree], i: usize) -> bool {
    matches!(&trees[i], TokenTree::Punct(p) if p.as_char() == '#')
        && matches!(trees.get(i + 1), Some(TokenTree::Group(g))
            if g.delimiter() == Delimiter::Bracket
                && g.stream().to_string().replace(' ', "") == "cfg(test)")
}

/// `::` at `i`.
fn is_path_sep(trees: &[TokenTree], i: usize) -> bool {
    matches!(trees.get(i), Some(TokenTree::Punct(p)) if p.as_char() == ':')
        && matches!(trees.get(i + 1), Some(TokenTree::Punct(p)) if p.as_char() == ':')
}

fn reads_in(text: &str) -> Vec<(usize, String)> {
    let tokens: TokenStream = text.parse().expect("the file is Rust tokens");
    reads(tokens)
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let entries =
        std::fs::read_dir(dir).unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()));
    for entry in entries {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn only_the_config_crate_reads_the_environment() {
    let crates = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut problems = Vec::new();
    let mut checked = 0;
    let mut allowed_seen = Vec::new();
    for entry in std::fs::read_dir(&crates).expect("crates/") {
        let dir = entry.expect("crate directory").path();
        let name = dir.file_name().map(|n| n.to_string_lossy().into_owned());
        // config is the one reader; testkit is test support that never ships.
        if matches!(name.as_deref(), Some("config" | "testkit")) || !dir.join("src").is_dir() {
            continue;
        }
        let mut files = Vec::new();
        rust_files(&dir.join("src"), &mut files);
        for file in files {
            checked += 1;
            let text = std::fs::read_to_string(&file)
                .unwrap_or_else(|e| panic!("cannot read {}: {e}", file.display()));
            let shown = file
                .strip_prefix(&crates)
                .unwrap_or(&file)
                .display()
                .to_string();
            let found = reads_in(&text);
            if ALLOWED.iter().any(|(allowed, _)| *allowed == shown) {
                allowed_seen.push(shown);
                continue;
            }
            for (line, what) in found {
                problems.push(format!("crates/{shown}:{line}: {what}"));
            }
        }
    }
    assert!(
        checked > 50,
        "only {checked} files found under {}",
        crates.display()
    );
    assert_eq!(
        allowed_seen.len(),
        ALLOWED.len(),
        "an allowed file is gone; drop it from ALLOWED: {ALLOWED:?}"
    );
    assert!(
        problems.is_empty(),
        "environment read outside taskpilot-config (add a setting to Settings, or a convention \
         to taskpilot_config::console, and take it from there):\n{}",
        problems.join("\n")
    );
}

#[test]
fn every_way_of_reading_is_found_and_tests_comments_and_strings_are_not() {
    let text = r#"
use std::env::{self, var_os};
fn a() { let _ = std::env::var("A"); }
fn b() { let _ = env::vars(); }
fn c() { assert!(std::env::var_os("C").is_none(), "{}", 1); }
fn d() { let _ = EnvFilter::try_from_default_env(); }
fn e() { dotenvy::dotenv().ok(); }
// std::env::var("IN_A_COMMENT")
fn f() { let _ = "std::env::var(\"IN_A_STRING\")"; let env = 1; let _ = env; }
#[cfg(test)]
mod tests { fn g() { std::env::set_var("T", "1"); } }
#[cfg(test)]
fn h() { std::env::remove_var("T"); }
fn i() { let _ = std::env::current_dir(); let _ = std::env::args(); }
"#;
    let found: Vec<String> = reads_in(text)
        .into_iter()
        .map(|(line, what)| format!("{line}:{what}"))
        .collect();
    assert_eq!(
        found,
        [
            "2:env::{var_os}",
            "3:env::var",
            "4:env::vars",
            "5:env::var_os",
            "6:try_from_default_env",
            "7:dotenvy",
        ]
    );
}
