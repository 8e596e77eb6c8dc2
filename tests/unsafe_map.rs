//! The unsafe map of ARCHITECTURE.md, checked against the source: `unsafe`
//! appears (and `unsafe_code` is allowed) in exactly the five modules the
//! map names, in the four crates named for it (pmd-mgba, mhnsw,
//! pmd-torch, pmd-py), each of which denies it elsewhere and requires a
//! `// SAFETY:` comment on every block and impl (clippy's
//! `undocumented_unsafe_blocks`, run by `make lint`); every other crate of
//! the workspace, the binaries and the build scripts forbid it.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The modules allowed to hold `unsafe`, as ARCHITECTURE.md lists them.
const UNSAFE_MODULES: [&str; 5] = [
    "crates/pmd-mgba/src/ffi.rs",
    "crates/pmd-mgba/src/script_ffi.rs",
    "crates/mhnsw/src/mmap.rs",
    "crates/pmd-torch/src/tensor_view.rs",
    "crates/pmd-py/src/views.rs",
];

/// The crates that hold them: they deny `unsafe` at the root.
const UNSAFE_CRATES: [&str; 4] = ["pmd-mgba", "mhnsw", "pmd-torch", "pmd-py"];

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

/// Every crate's root file (`src/lib.rs`, else `src/main.rs`) and the
/// root package's.
fn crate_roots() -> Vec<(String, PathBuf)> {
    let mut roots = vec![("pmd-agent".to_owned(), root().join("src/lib.rs"))];
    for entry in std::fs::read_dir(root().join("crates")).unwrap() {
        let dir = entry.unwrap().path();
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let lib = dir.join("src/lib.rs");
        roots.push((
            name,
            if lib.is_file() {
                lib
            } else {
                dir.join("src/main.rs")
            },
        ));
    }
    roots
}

#[test]
fn unsafe_code_is_in_the_mapped_modules_only() {
    let mut files = Vec::new();
    rust_files(&root().join("src"), &mut files);
    rust_files(&root().join("crates"), &mut files);
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

    let roots = crate_roots();
    assert!(roots.len() >= 10, "{roots:?}");
    for (name, file) in roots {
        let text = std::fs::read_to_string(&file).unwrap();
        if UNSAFE_CRATES.contains(&name.as_str()) {
            assert!(text.contains("#![deny(unsafe_code)]"), "{name}");
            assert!(
                text.contains("#![deny(clippy::undocumented_unsafe_blocks)]"),
                "{name}"
            );
        } else {
            assert!(
                text.contains("#![forbid(unsafe_code)]"),
                "{name} must forbid unsafe"
            );
        }
    }
    let mut scripts = vec![root().join("src/main.rs")];
    for entry in std::fs::read_dir(root().join("crates")).unwrap() {
        let build = entry.unwrap().path().join("build.rs");
        if build.is_file() {
            scripts.push(build);
        }
    }
    for file in scripts {
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(
            text.contains("#![forbid(unsafe_code)]"),
            "{}",
            file.display()
        );
    }

    let architecture = std::fs::read_to_string(root().join("ARCHITECTURE.md")).unwrap();
    for module in UNSAFE_MODULES {
        assert!(
            architecture.contains(&format!("`{module}`")),
            "ARCHITECTURE.md's unsafe map does not name `{module}`"
        );
    }
}
