//! Process set-up the binaries do before anything else.

use std::path::PathBuf;

/// Mesa's Vulkan drivers (lavapipe included) print `error: XDG_RUNTIME_DIR is invalid or not
/// set in the environment.` when wgpu enumerates adapters in a session without a runtime
/// directory (containers, CI, ssh). That line looks like one of our own errors while the run
/// is fine, so when the variable is missing or not a folder we point it at a private one
/// under the temp dir. Call first thing in `main`, while the process has one thread
/// (changing the environment is not thread-safe).
pub fn quiet_gpu_probe() {
    if std::env::var_os("XDG_RUNTIME_DIR").map(PathBuf::from).is_some_and(|p| p.is_dir()) {
        return;
    }
    let user = std::env::var("USER").unwrap_or_else(|_| "user".into());
    let dir = std::env::temp_dir().join(format!("oneclass-runtime-{user}"));
    if std::fs::create_dir_all(&dir).is_err() {
        return;
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700));
    }
    std::env::set_var("XDG_RUNTIME_DIR", &dir);
}
