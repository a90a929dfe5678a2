//! A command line small enough to parse by hand: `--name VALUE` (or
//! `--name=VALUE`) options, bare `--flag`s and positional words.
//!
//! The peers take two or three options each; a parser crate would be more
//! code to read than the options themselves.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::str::FromStr;

/// A parsed command line.
#[derive(Debug, Default)]
pub struct Args {
    values: HashMap<String, String>,
    flags: Vec<String>,
    /// Words that are not options, in order.
    pub positional: Vec<String>,
}

impl Args {
    /// Parses `words` (without the program name). `valued` names the
    /// options that take a value, `flags` those that do not; anything else
    /// starting with `--` is an error.
    pub fn parse<I>(words: I, valued: &[&str], flags: &[&str]) -> Result<Args, String>
    where
        I: IntoIterator<Item = String>,
    {
        let mut args = Args::default();
        let mut words = words.into_iter();
        while let Some(word) = words.next() {
            let Some(option) = word.strip_prefix("--") else {
                args.positional.push(word);
                continue;
            };
            let (name, inline) = match option.split_once('=') {
                Some((name, value)) => (name, Some(value.to_string())),
                None => (option, None),
            };
            if flags.contains(&name) && inline.is_none() {
                args.flags.push(name.to_string());
            } else if valued.contains(&name) {
                let value = match inline {
                    Some(value) => value,
                    None => words
                        .next()
                        .ok_or_else(|| format!("--{name} needs a value"))?,
                };
                args.values.insert(name.to_string(), value);
            } else {
                return Err(format!("unknown option --{name}"));
            }
        }
        Ok(args)
    }

    /// Whether `--name` was given.
    pub fn flag(&self, name: &str) -> bool {
        self.flags.iter().any(|f| f == name)
    }

    /// The value of `--name` parsed as `T`, or `default` when absent.
    pub fn get<T: FromStr>(&self, name: &str, default: T) -> Result<T, String> {
        match self.values.get(name) {
            None => Ok(default),
            Some(text) => text
                .parse()
                .map_err(|_| format!("--{name}: cannot read {text:?}")),
        }
    }

    /// The value of `--name`, which must be given.
    pub fn required<T: FromStr>(&self, name: &str) -> Result<T, String> {
        let text = self
            .values
            .get(name)
            .ok_or_else(|| format!("--{name} is required"))?;
        text.parse()
            .map_err(|_| format!("--{name}: cannot read {text:?}"))
    }
}

/// What every server here takes: `--bind ADDR` and its own flags. On a
/// usage error prints `usage` and returns exit status 2 as the error.
pub fn server_args(usage: &str, flags: &[&str]) -> Result<(SocketAddr, Args), ExitCode> {
    let parsed = Args::parse(std::env::args().skip(1), &["bind"], flags)
        .and_then(|args| Ok((args.required::<SocketAddr>("bind")?, args)));
    match parsed {
        Ok((bind, args)) if args.positional.is_empty() => Ok((bind, args)),
        Ok(_) => {
            eprintln!("error: unexpected argument\nusage: {usage}");
            Err(ExitCode::from(2))
        }
        Err(e) => {
            eprintln!("error: {e}\nusage: {usage}");
            Err(ExitCode::from(2))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Args;

    fn words(line: &str) -> Vec<String> {
        line.split_whitespace().map(str::to_string).collect()
    }

    #[test]
    fn options_flags_and_positionals() -> Result<(), String> {
        let args = Args::parse(
            words("--bind 127.0.0.1:0 --multi --rate=5 host"),
            &["bind", "rate"],
            &["multi"],
        )?;
        assert_eq!(args.get("bind", String::new())?, "127.0.0.1:0");
        assert_eq!(args.get("rate", 0u32)?, 5);
        assert_eq!(args.get("absent", 7u32)?, 7);
        assert!(args.flag("multi"));
        assert_eq!(args.positional, ["host"]);
        Ok(())
    }

    #[test]
    fn unknown_options_and_missing_values_are_errors() {
        assert!(Args::parse(words("--nope"), &["bind"], &[]).is_err());
        assert!(Args::parse(words("--bind"), &["bind"], &[]).is_err());
        assert!(Args::parse(words("--multi=1"), &[], &["multi"]).is_err());
        let bad = Args::parse(words("--rate x"), &["rate"], &[]);
        assert!(bad.is_ok_and(|a| a.get("rate", 0u32).is_err()));
    }
}
