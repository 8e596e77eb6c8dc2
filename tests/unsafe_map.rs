//! The unsafe map of ARCHITECTURE.md, checked against the source: `unsafe`
//! appears (and `unsafe_code` is allowed) in exactly the four modules the
//! map names, each of which does allow it; the library denies it elsewhere
//! and requires a `// SAFETY:` comment on every block and impl (clippy's
//! `undocumented_unsafe_blocks`, run by `make lint`); the binary and the
//! build script forbid it.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The modules allowed to hold `unsafe`, as ARCHITECTURE.md lists them.
const UNSAFE_MODULES: [&str; 4] = [
    "src/emu/ffi.rs",
    "src/emu/script_ffi.rs",
    "src/sys/mmap.rs",
    "src/sys/tensor_view.rs",
];

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The file's code without comments (line comments and doc comments; the
/// crate has no block comments containing the word).
fn code(text: &str) -> String {
    text.lines()
        .map(|line| match line.find("//") {
            Some(at) => &line[..at],
            None => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn has_word(text: &str, word: &str) -> bool {
    text.match_indices(word).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + word.len()..].chars().next();
        let ident = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
        !ident(before) && !ident(after)
    })
}

#[test]
fn unsafe_code_is_in_the_four_mapped_modules_only() {
    let mut files = Vec::new();
    rust_files(&root().join("src"), &mut files);
    files.push(root().join("build.rs"));
    let mut with_unsafe = BTreeSet::new();
    let mut allowing = BTreeSet::new();
    for file in &files {
        let text = code(&std::fs::read_to_string(file).unwrap());
        let name = file
            .strip_prefix(root())
            .unwrap()
            .to_string_lossy()
            .into_owned();
        if has_word(&text, "unsafe") {
            with_unsafe.insert(name.clone());
        }
        if text.contains("allow(unsafe_code)") {
            allowing.insert(name);
        }
    }
    let mapped: BTreeSet<String> = UNSAFE_MODULES.iter().map(|s| s.to_string()).collect();
    assert_eq!(with_unsafe, mapped, "modules holding `unsafe`");
    assert_eq!(allowing, mapped, "modules allowing `unsafe_code`");

    let lib = std::fs::read_to_string(root().join("src/lib.rs")).unwrap();
    assert!(lib.contains("#![deny(unsafe_code)]"));
    assert!(lib.contains("#![deny(clippy::undocumented_unsafe_blocks)]"));
    for file in ["src/main.rs", "build.rs"] {
        let text = std::fs::read_to_string(root().join(file)).unwrap();
        assert!(text.contains("#![forbid(unsafe_code)]"), "{file}");
    }
    let league = std::fs::read_to_string(root().join("src/league/mod.rs")).unwrap();
    assert!(league.contains("#![forbid(unsafe_code)]"));

    let architecture = std::fs::read_to_string(root().join("ARCHITECTURE.md")).unwrap();
    for module in UNSAFE_MODULES {
        assert!(
            architecture.contains(&format!("`{module}`")),
            "ARCHITECTURE.md's unsafe map does not name `{module}`"
        );
    }
}
