// Builds the preload library (`syscallbuf/`, outside the workspace) so
// that `cargo build` alone gives a `rewind` with the library inside
// (`recorder::preload`, ARCHITECTURE.md "syscallbuf").
use std::path::PathBuf;

include!("../syscallbuf/preload_build.rs");

fn main() {
    let (Some(manifest_dir), Some(out_dir)) = (
        std::env::var_os("CARGO_MANIFEST_DIR"),
        std::env::var_os("OUT_DIR"),
    ) else {
        panic!("cargo sets CARGO_MANIFEST_DIR and OUT_DIR for build scripts");
    };
    let syscallbuf = PathBuf::from(manifest_dir).join("../syscallbuf");
    for input in [
        "src",
        "Cargo.toml",
        "Cargo.lock",
        "build.rs",
        "preload_build.rs",
    ] {
        println!(
            "cargo:rerun-if-changed={}",
            syscallbuf.join(input).display()
        );
    }
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let out_dir = PathBuf::from(out_dir);
    let built = build_preload(&cargo, &syscallbuf, &out_dir.join("syscallbuf-target"))
        .unwrap_or_else(|e| panic!("{e}"));
    let embedded = out_dir.join("librewind_syscallbuf.so");
    if let Err(e) = std::fs::copy(&built, &embedded) {
        panic!(
            "cannot copy {} to {}: {e}",
            built.display(),
            embedded.display()
        );
    }
}
