//! "Add user" in the window: `homestream user add NAME --password-stdin`, the same code and
//! checks as on the command line, fed from the window's fields.

use homestream_auth::cli::{UserCommand, UsersFileArg, run_user_with};
use homestream_auth::password::HashParams;
use std::path::Path;

/// Adds `name` to the users file at `path` (created if missing); the message says where.
pub fn add(name: &str, password: &str, path: &Path) -> Result<String, String> {
    add_with(name, password, path, HashParams::default())
}

fn add_with(name: &str, password: &str, path: &Path, params: HashParams) -> Result<String, String> {
    let cmd = UserCommand::Add {
        name: name.to_string(),
        password_stdin: true,
        replace: false,
        users: UsersFileArg {
            path: path.to_path_buf(),
        },
    };
    let mut input = std::io::Cursor::new(format!("{password}\n"));
    let mut out = Vec::new();
    run_user_with(cmd, params, &mut input, &mut out).map_err(|e| format!("{e:#}"))?;
    Ok(String::from_utf8_lossy(&out).trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adds_once_and_the_server_accepts_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("users.toml");
        let msg = add_with("ann", "correct horse battery", &path, HashParams::cheap()).unwrap();
        assert!(msg.starts_with("user ann saved in"), "{msg}");
        let e = add_with("ann", "another long one", &path, HashParams::cheap()).unwrap_err();
        assert!(e.contains("ann"), "{e}");
        assert!(
            add_with(
                "bad name!",
                "correct horse battery",
                &path,
                HashParams::cheap()
            )
            .is_err()
        );
        homestream_auth::Auth::load(&path).expect("the server reads what the window wrote");
    }
}
