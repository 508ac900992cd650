// How the preload library is built, shared by `recorder/build.rs` (which
// embeds the result) and `cargo xtask build-preload` (`include!`d by both,
// so the two cannot drift apart).

/// Builds the preload library with its own profile into `target_dir` and
/// returns the built library's path.
fn build_preload(
    cargo: &std::ffi::OsStr,
    syscallbuf_dir: &std::path::Path,
    target_dir: &std::path::Path,
) -> Result<std::path::PathBuf, String> {
    const TARGET: &str = "x86_64-unknown-linux-gnu";
    let mut command = std::process::Command::new(cargo);
    command
        .current_dir(syscallbuf_dir)
        .args(["build", "--release", "--offline", "--quiet", "--target", TARGET])
        .arg("--manifest-path")
        .arg(syscallbuf_dir.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(target_dir)
        // The workspace's flags (a static C runtime for the binary) are
        // not the library's; the environment outranks the config files.
        .env("CARGO_ENCODED_RUSTFLAGS", "")
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_BUILD_RUSTFLAGS")
        .env_remove("CARGO_TARGET_DIR")
        // An outer `cargo clippy` would lint the library with the
        // workspace's settings; the library's own profile decides how it
        // is built (its symbols must stay for the test that reads them).
        .env_remove("RUSTC_WORKSPACE_WRAPPER")
        .env_remove("RUSTC_WRAPPER")
        .env_remove("CLIPPY_ARGS");
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("CARGO_PROFILE_") {
            command.env_remove(key);
        }
    }
    let status = command
        .status()
        .map_err(|e| format!("cannot run {}: {e}", cargo.to_string_lossy()))?;
    if !status.success() {
        return Err(format!("building the preload library failed ({status})"));
    }
    Ok(target_dir
        .join(TARGET)
        .join("release")
        .join("librewind_syscallbuf.so"))
}
