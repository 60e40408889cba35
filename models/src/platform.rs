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

/// The command line parsed into `T`, or the exit status to stop with. Help and version print
/// as clap writes them (status 0); every other problem is one `error: …` line and status 2,
/// the shape of the binaries' own errors, instead of clap's error, usage and tip block.
pub fn parse_args<T: clap::Parser>() -> Result<T, std::process::ExitCode> {
    use clap::error::ErrorKind;
    T::try_parse().map_err(|e| match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = e.print();
            std::process::ExitCode::SUCCESS
        }
        _ => {
            use clap::error::{ContextKind, ContextValue};
            // clap's "a similar argument exists" tip sits on a later line: keep it.
            let suggested = match e.get(ContextKind::SuggestedArg) {
                Some(ContextValue::String(s)) => Some(s.clone()),
                Some(ContextValue::StyledStr(s)) => Some(s.to_string()),
                _ => None,
            };
            eprintln!("{}", one_line_error(&e.to_string(), suggested.as_deref()));
            std::process::ExitCode::from(2)
        }
    })
}

/// clap's rendered error reduced to its first line, `error: ` kept, with the argument it
/// suggests or else a pointer to `--help`.
fn one_line_error(rendered: &str, suggested: Option<&str>) -> String {
    let mut lines = rendered.lines().map(str::trim).skip_while(|l| l.is_empty());
    let first = lines.next().unwrap_or("error: bad arguments");
    let mut msg = first.strip_prefix("error: ").unwrap_or(first).to_string();
    // "… were not provided:" lists what on the lines below it: keep the list.
    if msg.ends_with(':') {
        let listed: Vec<&str> = lines.take_while(|l| !l.is_empty()).collect();
        msg = format!("{} {}", msg, listed.join(", "));
    }
    match suggested {
        Some(arg) => format!("error: {msg} (did you mean {arg}?)"),
        None => format!("error: {msg} (see --help)"),
    }
}

/// `--device cpu|gpu|auto`, with errors that name the flag (train and score alike).
pub fn device_flag(name: &str) -> crate::Result<engine::Device> {
    use crate::Error;
    use engine::Device;
    match name {
        // `auto`: a hardware GPU when there is one, else the CPU (never a software adapter).
        "auto" | "cpu" => Device::parse(name).map_err(|e| Error::config(format!("--device {name}: {e}"))),
        "gpu" => Device::parse(name)
            .map_err(|e| Error::config(format!("--device gpu: no GPU adapter found ({e}); use --device cpu or auto"))),
        other => Err(Error::config(format!("--device {other:?} is not one of auto, cpu, gpu"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_clap_error_becomes_one_error_line() {
        let rendered = "error: unexpected argument '--bogus' found\n\n  tip: to pass '--bogus' as a value, use '-- --bogus'\n\nUsage: train [OPTIONS]\n\nFor more information, try '--help'.\n";
        assert_eq!(one_line_error(rendered, None), "error: unexpected argument '--bogus' found (see --help)");
        assert_eq!(
            one_line_error("error: unexpected argument '--epoch' found\n\n  tip: …", Some("--epochs")),
            "error: unexpected argument '--epoch' found (did you mean --epochs?)"
        );
        let missing = "error: the following required arguments were not provided:\n  --model <MODEL>\n\nUsage: score --model <MODEL>\n";
        assert_eq!(
            one_line_error(missing, None),
            "error: the following required arguments were not provided: --model <MODEL> (see --help)"
        );
    }
}
