//! `homestream user ...` and `homestream token ...` (the only place this crate uses anyhow).
//!
//! Passwords are read from the terminal without echo (rpassword), twice, or from stdin
//! with `--password-stdin`; never from an argument, so they never show in `ps` or shell
//! history. The binary embeds these clap types:
//!
//! ```ignore
//! #[derive(clap::Subcommand)]
//! enum Command {
//!     /// Manage accounts.
//!     #[command(subcommand)]
//!     User(homestream_auth::cli::UserCommand),
//!     /// Manage API tokens.
//!     #[command(subcommand)]
//!     Token(homestream_auth::cli::TokenCommand),
//! }
//! ```

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::SystemTime;

use anyhow::Context;

use crate::Error;
use crate::password::{self, HashParams};
use crate::tokens;
use crate::users::UsersFile;

/// Default users file, relative to the current folder.
pub const DEFAULT_USERS_FILE: &str = "homestream-users.toml";

/// `--users FILE`, shared by every subcommand.
#[derive(Debug, Clone, clap::Args)]
pub struct UsersFileArg {
    /// Users file (TOML, written with mode 0600). The same file goes to `serve --auth`.
    #[arg(long = "users", value_name = "FILE", env = "HOMESTREAM_USERS", default_value = DEFAULT_USERS_FILE)]
    pub path: PathBuf,
}

/// `homestream user ...`
#[derive(Debug, Clone, clap::Subcommand)]
pub enum UserCommand {
    /// Add an account (asks for the password twice, without echo).
    Add {
        /// Login name: 1 to 64 of A-Z a-z 0-9 . _ @ -
        name: String,
        /// Read the password from the first line of stdin instead of the terminal.
        #[arg(long)]
        password_stdin: bool,
        /// Set a new password if the account exists already.
        #[arg(long)]
        replace: bool,
        #[command(flatten)]
        users: UsersFileArg,
    },
    /// List accounts.
    List {
        #[command(flatten)]
        users: UsersFileArg,
    },
    /// Remove an account and its tokens (its browser sessions end within a second).
    Remove {
        /// Login name.
        name: String,
        #[command(flatten)]
        users: UsersFileArg,
    },
}

/// `homestream token ...`
#[derive(Debug, Clone, clap::Subcommand)]
pub enum TokenCommand {
    /// Create an API token for NAME (for `Authorization: Bearer`); it is shown once.
    Create {
        /// The account the token acts as.
        name: String,
        /// Lifetime: e.g. 12h, 30d, 2w, or `never`.
        #[arg(long, default_value = "30d", value_parser = parse_expires)]
        expires: Expires,
        /// Also allow publishing to `publish` streams (WHIP: a camera app, OBS, a script).
        /// Without it the token can only watch: hand those to players and viewers.
        #[arg(long)]
        publish: bool,
        #[command(flatten)]
        users: UsersFileArg,
    },
    /// Revoke a token by its id (see `token list`).
    Revoke {
        /// Token id (8 hex digits).
        id: String,
        #[command(flatten)]
        users: UsersFileArg,
    },
    /// List tokens (ids, users, expiry; never the secrets).
    List {
        #[command(flatten)]
        users: UsersFileArg,
    },
}

/// A parsed `--expires` value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Expires(pub Option<std::time::Duration>);

fn parse_expires(s: &str) -> Result<Expires, String> {
    tokens::parse_duration(s)
        .map(Expires)
        .map_err(|e| e.to_string())
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Reads the new password: one line of `input` with `from_stdin`, else twice from the terminal.
fn read_new_password(from_stdin: bool, input: &mut dyn BufRead) -> anyhow::Result<String> {
    let pw = if from_stdin {
        let mut line = String::new();
        input
            .read_line(&mut line)
            .context("reading the password from stdin")?;
        line.trim_end_matches(['\r', '\n']).to_owned()
    } else {
        if !std::io::stdin().is_terminal() {
            anyhow::bail!(
                "stdin is not a terminal: pass --password-stdin to read the password from it"
            );
        }
        let a = rpassword::prompt_password("Password: ").context("reading the password")?;
        let b = rpassword::prompt_password("Password again: ").context("reading the password")?;
        if a != b {
            return Err(Error::PasswordMismatch.into());
        }
        a
    };
    password::check_new_password(&pw)?;
    Ok(pw)
}

fn fmt_time(unix: u64) -> String {
    // Days since the epoch to a civil date (Howard Hinnant's algorithm), so `token list`
    // needs no date crate.
    let days = (unix / 86_400) as i64;
    let secs = unix % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02} UTC",
        secs / 3600,
        secs / 60 % 60
    )
}

/// Runs `homestream user ...`.
pub fn run_user(cmd: UserCommand) -> anyhow::Result<ExitCode> {
    let stdin = std::io::stdin();
    run_user_with(
        cmd,
        HashParams::default(),
        &mut stdin.lock(),
        &mut std::io::stdout(),
    )
}

/// [`run_user`] with explicit hash cost and streams (for tests).
pub fn run_user_with(
    cmd: UserCommand,
    params: HashParams,
    input: &mut dyn BufRead,
    out: &mut dyn Write,
) -> anyhow::Result<ExitCode> {
    match cmd {
        UserCommand::Add {
            name,
            password_stdin,
            replace,
            users,
        } => {
            crate::users::check_name(&name)?;
            let mut file = UsersFile::load_or_default(&users.path)?;
            if file.user(&name).is_some() && !replace {
                return Err(Error::UserExists(name).into());
            }
            let pw = read_new_password(password_stdin, input)?;
            let hash = password::hash_password(&pw, params)?;
            file.set_user(&name, hash, replace)?;
            file.save(&users.path)?;
            writeln!(out, "user {name} saved in {}", users.path.display())?;
        }
        UserCommand::List { users } => {
            let file = UsersFile::load_or_default(&users.path)?;
            if file.users.is_empty() {
                writeln!(out, "no users in {}", users.path.display())?;
            }
            for u in &file.users {
                let n = file.tokens.iter().filter(|t| t.user == u.name).count();
                writeln!(out, "{}\t{n} token(s)", u.name)?;
            }
        }
        UserCommand::Remove { name, users } => {
            let mut file = UsersFile::load(&users.path)?;
            file.remove_user(&name)?;
            file.save(&users.path)?;
            writeln!(out, "user {name} removed")?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Runs `homestream token ...`.
pub fn run_token(cmd: TokenCommand) -> anyhow::Result<ExitCode> {
    run_token_with(cmd, unix_now(), &mut std::io::stdout())
}

/// [`run_token`] at a given time with an explicit output (for tests).
pub fn run_token_with(
    cmd: TokenCommand,
    now: u64,
    out: &mut dyn Write,
) -> anyhow::Result<ExitCode> {
    match cmd {
        TokenCommand::Create {
            name,
            expires,
            publish,
            users,
        } => {
            let mut file = UsersFile::load(&users.path)?;
            let (rec, token) = tokens::create_scoped(&mut file, &name, expires.0, publish, now)?;
            file.save(&users.path)?;
            let until = rec.expires.map_or("never expires".to_owned(), |e| {
                format!("expires {}", fmt_time(e))
            });
            writeln!(out, "{token}")?;
            if !std::io::stdout().is_terminal() {
                // Script-friendly: the token alone on stdout.
                eprintln!(
                    "token {} for {name}, {until}; it is shown only this once",
                    rec.id
                );
            } else {
                writeln!(
                    out,
                    "token {} for {name}, {until}; it is shown only this once",
                    rec.id
                )?;
            }
        }
        TokenCommand::Revoke { id, users } => {
            let mut file = UsersFile::load(&users.path)?;
            let rec = tokens::revoke(&mut file, &id)?;
            file.save(&users.path)?;
            writeln!(out, "token {} of {} revoked", rec.id, rec.user)?;
        }
        TokenCommand::List { users } => {
            let file = UsersFile::load_or_default(&users.path)?;
            if file.tokens.is_empty() {
                writeln!(out, "no tokens in {}", users.path.display())?;
            }
            for t in &file.tokens {
                let exp = match t.expires {
                    None => "never".to_owned(),
                    Some(e) if e <= now => format!("{} (expired)", fmt_time(e)),
                    Some(e) => fmt_time(e),
                };
                writeln!(
                    out,
                    "{}\t{}\tcreated {}\texpires {exp}\t{}",
                    t.id,
                    t.user,
                    fmt_time(t.created),
                    if t.publish { "watch, publish" } else { "watch" }
                )?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, clap::Parser)]
    struct Bin {
        #[command(subcommand)]
        cmd: Cmd,
    }
    #[derive(Debug, clap::Subcommand)]
    enum Cmd {
        #[command(subcommand)]
        User(UserCommand),
        #[command(subcommand)]
        Token(TokenCommand),
    }

    fn parse(args: &[&str]) -> Cmd {
        Bin::try_parse_from(std::iter::once("homestream").chain(args.iter().copied()))
            .unwrap()
            .cmd
    }

    fn user(args: &[&str], stdin: &str) -> anyhow::Result<String> {
        let Cmd::User(c) = parse(args) else {
            unreachable!()
        };
        let mut out = Vec::new();
        run_user_with(c, HashParams::cheap(), &mut stdin.as_bytes(), &mut out)?;
        Ok(String::from_utf8(out).unwrap())
    }

    fn token(args: &[&str], now: u64) -> anyhow::Result<String> {
        let Cmd::Token(c) = parse(args) else {
            unreachable!()
        };
        let mut out = Vec::new();
        run_token_with(c, now, &mut out)?;
        Ok(String::from_utf8(out).unwrap())
    }

    #[test]
    fn user_and_token_lifecycle() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("u.toml");
        let fs = f.to_str().unwrap();
        user(
            &["user", "add", "alice", "--users", fs, "--password-stdin"],
            "s3cret pass\n",
        )
        .unwrap();
        let file = UsersFile::load(&f).unwrap();
        assert!(password::verify_password(
            "s3cret pass",
            &file.user("alice").unwrap().hash
        ));
        assert!(!std::fs::read_to_string(&f).unwrap().contains("s3cret"));

        let e = user(
            &["user", "add", "alice", "--users", fs, "--password-stdin"],
            "other pass\n",
        );
        assert!(e.unwrap_err().to_string().contains("exists"));
        user(
            &[
                "user",
                "add",
                "alice",
                "--users",
                fs,
                "--password-stdin",
                "--replace",
            ],
            "other pass\r\n",
        )
        .unwrap();
        let file = UsersFile::load(&f).unwrap();
        assert!(password::verify_password(
            "other pass",
            &file.user("alice").unwrap().hash
        ));

        let e = user(
            &["user", "add", "bob", "--users", fs, "--password-stdin"],
            "short\n",
        );
        assert!(e.unwrap_err().to_string().contains("at least 8"));
        let e = user(
            &["user", "add", "b:b", "--users", fs, "--password-stdin"],
            "long enough\n",
        );
        assert!(e.unwrap_err().to_string().contains("invalid user name"));

        let out = token(
            &["token", "create", "alice", "--expires", "1d", "--users", fs],
            1_000,
        )
        .unwrap();
        let tok = out.lines().next().unwrap().to_owned();
        assert!(tok.starts_with("hst_"), "{out}");
        let file = UsersFile::load(&f).unwrap();
        assert_eq!(tokens::verify(&file, &tok, 1_000), Ok("alice"));
        assert_eq!(file.tokens[0].expires, Some(1_000 + 86_400));

        let list = token(&["token", "list", "--users", fs], 1_000).unwrap();
        assert!(
            list.contains(&file.tokens[0].id) && !list.contains(&tok[13..]),
            "{list}"
        );
        assert!(
            token(&["token", "list", "--users", fs], 100_000)
                .unwrap()
                .contains("(expired)")
        );
        // A viewer's token cannot publish; one created with --publish can, and says so.
        assert_eq!(
            tokens::verify_scoped(&file, &tok, 1_000),
            Ok(("alice", false))
        );
        let out = token(
            &["token", "create", "alice", "--publish", "--users", fs],
            1_000,
        )
        .unwrap();
        let publisher = out.lines().next().unwrap().to_owned();
        let file = UsersFile::load(&f).unwrap();
        assert_eq!(
            tokens::verify_scoped(&file, &publisher, 1_000),
            Ok(("alice", true))
        );
        let list = token(&["token", "list", "--users", fs], 1_000).unwrap();
        assert!(
            list.contains("\twatch\n") && list.contains("watch, publish"),
            "{list}"
        );
        // The file of a token made before scopes existed still reads, as a viewer's.
        assert!(
            !std::fs::read_to_string(&f)
                .unwrap()
                .contains("publish = false")
        );
        token(&["token", "revoke", &file.tokens[1].id, "--users", fs], 0).unwrap();
        assert!(
            user(&["user", "list", "--users", fs], "")
                .unwrap()
                .contains("alice\t1 token(s)")
        );

        token(&["token", "revoke", &file.tokens[0].id, "--users", fs], 0).unwrap();
        assert!(UsersFile::load(&f).unwrap().tokens.is_empty());
        assert!(token(&["token", "revoke", "deadbeef", "--users", fs], 0).is_err());
        assert!(token(&["token", "create", "nobody", "--users", fs], 0).is_err());

        user(&["user", "remove", "alice", "--users", fs], "").unwrap();
        assert!(
            user(&["user", "list", "--users", fs], "")
                .unwrap()
                .contains("no users")
        );
        assert!(user(&["user", "remove", "alice", "--users", fs], "").is_err());
    }

    #[test]
    fn parsing() {
        let Cmd::Token(TokenCommand::Create { expires, users, .. }) =
            parse(&["token", "create", "a"])
        else {
            panic!()
        };
        assert_eq!(
            expires,
            Expires(Some(std::time::Duration::from_secs(30 * 86_400)))
        );
        assert_eq!(users.path, PathBuf::from(DEFAULT_USERS_FILE));
        assert!(
            Bin::try_parse_from(["homestream", "token", "create", "a", "--expires", "soon"])
                .is_err()
        );
        let Cmd::Token(TokenCommand::Create { expires, .. }) =
            parse(&["token", "create", "a", "--expires", "never"])
        else {
            panic!()
        };
        assert_eq!(expires, Expires(None));
    }

    #[test]
    fn dates() {
        assert_eq!(fmt_time(0), "1970-01-01 00:00 UTC");
        assert_eq!(fmt_time(1_790_000_000), "2026-09-21 14:13 UTC");
        assert_eq!(fmt_time(951_782_400), "2000-02-29 00:00 UTC");
    }
}
