// Included by the build scripts of every package whose binaries link
// libtorch (pmd-torch and the pmd-agent command line): one definition.

/// torch-sys links against `$LIBTORCH/lib` but records no path in the
/// final binaries; this adds `-Wl,-rpath,<that directory>`. `LIBTORCH`
/// comes from `.cargo/config.toml` (the `.libtorch` link that
/// `scripts/libtorch.sh` makes) or from the environment; torch-sys prefers
/// `LIBTORCH_LIB` for the libraries, and so does this.
fn libtorch_rpath() {
    println!("cargo:rerun-if-env-changed=LIBTORCH");
    println!("cargo:rerun-if-env-changed=LIBTORCH_LIB");
    let lib_dir = match (std::env::var_os("LIBTORCH_LIB"), std::env::var_os("LIBTORCH")) {
        (Some(lib), _) => std::path::PathBuf::from(lib).join("lib"),
        (None, Some(root)) => std::path::PathBuf::from(root).join("lib"),
        // torch-sys stops the build with its own message.
        (None, None) => return,
    };
    if !lib_dir.join("libtorch_cpu.so").exists() {
        println!(
            "cargo:warning=libtorch not found in {} (run scripts/libtorch.sh)",
            lib_dir.display()
        );
        return;
    }
    // The path as configured, not canonicalised: `.libtorch` is a link
    // into the per-machine cache, and re-running the install script
    // re-points it without relinking anything.
    let lib_dir = if lib_dir.is_absolute() {
        lib_dir
    } else {
        std::env::var_os("CARGO_MANIFEST_DIR")
            .map(std::path::PathBuf::from)
            .unwrap_or_default()
            .join(lib_dir)
    };
    println!("cargo:rustc-link-arg=-Wl,-rpath,{}", lib_dir.display());
    println!(
        "cargo:rerun-if-changed={}",
        lib_dir.join("libtorch_cpu.so").display()
    );
}

