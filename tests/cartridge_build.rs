//! The committed cartridge (`tests/data/cartridge.gba`) is exactly what its
//! sources build to. Runs when Debian's `gcc-arm-none-eabi` is installed;
//! without it the test says so and passes, unless
//! `PMD_REQUIRE_CARTRIDGE_TOOLCHAIN=1` (set by `make test`) makes the
//! missing compiler a failure.

use std::path::Path;
use std::process::Command;

fn have(tool: &str) -> bool {
    Command::new(tool)
        .arg("--version")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

#[test]
fn committed_cartridge_rebuilds_byte_identically() {
    let required = std::env::var("PMD_REQUIRE_CARTRIDGE_TOOLCHAIN").as_deref() == Ok("1");
    let missing: Vec<&str> = [
        "arm-none-eabi-gcc",
        "arm-none-eabi-objcopy",
        "make",
        "python3",
    ]
    .into_iter()
    .filter(|tool| !have(tool))
    .collect();
    if !missing.is_empty() {
        assert!(!required, "cartridge toolchain missing: {missing:?}");
        eprintln!("skipped: {missing:?} not installed (run `make setup`)");
        return;
    }

    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let build = tempfile::tempdir().unwrap();
    let out = Command::new("make")
        .arg("-C")
        .arg(root.join("native/cartridge"))
        .arg(format!("BUILD={}", build.path().display()))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "cartridge build failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let fresh = std::fs::read(build.path().join("cartridge.gba")).unwrap();
    let committed = std::fs::read(root.join("tests/data/cartridge.gba")).unwrap();
    assert!(
        fresh == committed,
        "tests/data/cartridge.gba is stale: run `make -C native/cartridge install`"
    );
    assert_eq!(committed, pmd_agent::cartridge::ROM_BYTES);
}
