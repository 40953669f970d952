//! The TOML configuration file (`--config FILE`): one more layer under the
//! flags and the environment. The one precedence rule is
//! flag > environment variable > file > built-in default: each key of the
//! file becomes the default of the setting it names, so clap keeps applying
//! the flag and the `DOORSTEP_…` variable over it. A key is a setting's
//! name with underscores (`max_page = 500`, `listen = "0.0.0.0:8080"`); an
//! unknown key or a bad value is refused naming the file, the key and what
//! would be accepted (en, zh-CN).

use clap::Command;
use std::path::Path;

/// Settings that are not read from the file: the file's own name
/// (`--config`, id `config_file`), and the built-in help and version flags.
const NOT_IN_FILE: &[&str] = &["config_file", "help", "version"];

/// A refusal of the configuration file (both languages in one text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigFileError(pub String);

impl std::fmt::Display for ConfigFileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConfigFileError {}

/// The keys a configuration file of `command` may set: the ids of its
/// top-level settings (not those of subcommands), in `--help` order.
pub fn file_keys(command: &Command) -> Vec<String> {
    command
        .get_arguments()
        .filter(|a| a.get_long().is_some())
        .map(|a| a.get_id().as_str().to_string())
        .filter(|id| !NOT_IN_FILE.contains(&id.as_str()))
        .collect()
}

/// Reads and parses the file at `path`.
pub fn read(path: &Path) -> Result<toml::Table, ConfigFileError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        ConfigFileError(format!(
            "cannot read the configuration file {path}: {e} / 无法读取配置文件 {path}：{e}",
            path = path.display()
        ))
    })?;
    text.parse::<toml::Table>().map_err(|e| {
        ConfigFileError(format!(
            "the configuration file {path} is not valid TOML: {e} / 配置文件 {path} 不是有效的 TOML：{e}",
            path = path.display()
        ))
    })
}

/// `command` with each setting that `table` names defaulting to the file's
/// value. Every value is checked with the setting's own parser here, so a
/// bad one is refused naming the file's key rather than a flag nobody typed.
pub fn with_file_defaults(
    mut command: Command,
    table: &toml::Table,
    path: &Path,
) -> Result<Command, ConfigFileError> {
    let keys = file_keys(&command);
    for (key, value) in table {
        if !keys.iter().any(|k| k == key) {
            return Err(ConfigFileError(format!(
                "{file}: unknown setting `{key}`; accepted: {list} / {file}：未知的设置项 `{key}`；可用的设置项：{list}",
                file = path.display(),
                list = keys.join(", ")
            )));
        }
        let arg = command
            .get_arguments()
            .find(|a| a.get_id().as_str() == key)
            .expect("a listed key is an argument");
        let text = value_text(value, arg.get_value_delimiter()).ok_or_else(|| {
            ConfigFileError(format!(
                "{file}: `{key}` must be a string, number, true/false or a list of strings / {file}：`{key}` 应为字符串、数字、true/false 或字符串列表",
                file = path.display()
            ))
        })?;
        let parts: Vec<String> = match arg.get_value_delimiter() {
            Some(d) => text.split(d).map(str::to_string).collect(),
            None => vec![text.clone()],
        };
        if let Err(reason) = check_value(arg, &text) {
            return Err(ConfigFileError(format!(
                "{file}: `{key} = {value}` is refused: {reason} / {file}：设置项 `{key} = {value}` 无效：{reason}",
                file = path.display()
            )));
        }
        let key = key.clone();
        command = command.mut_arg(key, |a| a.default_values(parts));
    }
    Ok(command)
}

/// Checks `text` with the setting's own parser, as if given as its flag: the
/// first line of clap's refusal, or nothing.
fn check_value(arg: &clap::Arg, text: &str) -> Result<(), String> {
    let long = arg.get_long().expect("file settings are flags");
    let flag = if arg.get_action().takes_values() {
        vec![format!("--{long}={text}")]
    } else if text == "true" {
        vec![format!("--{long}")]
    } else if text == "false" {
        vec![]
    } else {
        return Err("expected true or false / 应为 true 或 false".to_string());
    };
    let probe = Command::new("doorstep-server").arg(arg.clone().env(None::<&str>).required(false));
    match probe.try_get_matches_from(std::iter::once("doorstep-server".to_string()).chain(flag)) {
        Ok(_) => Ok(()),
        Err(e) => {
            let text = e.to_string();
            let first = text.lines().next().unwrap_or_default();
            Err(first.trim_start_matches("error: ").to_string())
        }
    }
}

/// A TOML value as the text a flag would carry; a list is joined with the
/// setting's delimiter (`report_font_dirs = ["/a", "/b"]` → `/a:/b`).
fn value_text(value: &toml::Value, delimiter: Option<char>) -> Option<String> {
    match value {
        toml::Value::String(s) => Some(s.clone()),
        toml::Value::Integer(n) => Some(n.to_string()),
        toml::Value::Float(x) => Some(x.to_string()),
        toml::Value::Boolean(b) => Some(b.to_string()),
        toml::Value::Array(items) => {
            let delimiter = delimiter?;
            let texts: Option<Vec<String>> = items
                .iter()
                .map(|i| i.as_str().map(str::to_string))
                .collect();
            Some(texts?.join(&delimiter.to_string()))
        }
        toml::Value::Datetime(_) | toml::Value::Table(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::{Arg, ArgAction};

    fn command() -> Command {
        Command::new("t")
            .arg(
                Arg::new("config_file")
                    .long("config")
                    .env("T_CONFIG_FILE_TEST_CONFIG"),
            )
            .arg(
                Arg::new("max_page")
                    .long("max-page")
                    .env("T_CONFIG_FILE_TEST_MAX_PAGE")
                    .default_value("2000")
                    .value_parser(clap::value_parser!(u32).range(1..)),
            )
            .arg(
                Arg::new("dirs")
                    .long("dirs")
                    .value_delimiter(':')
                    .action(ArgAction::Append),
            )
            .arg(Arg::new("demo").long("demo").action(ArgAction::SetTrue))
    }

    fn table(text: &str) -> toml::Table {
        text.parse().unwrap()
    }

    #[test]
    fn a_file_value_replaces_the_built_in_default() {
        let cmd = with_file_defaults(
            command(),
            &table("max_page = 9\ndemo = true\ndirs = [\"/a\", \"/b\"]"),
            Path::new("f.toml"),
        )
        .unwrap();
        let m = cmd.try_get_matches_from(["t"]).unwrap();
        assert_eq!(m.get_one::<u32>("max_page"), Some(&9));
        assert!(m.get_flag("demo"));
        let dirs: Vec<&String> = m.get_many("dirs").unwrap().collect();
        assert_eq!(dirs, ["/a", "/b"]);
    }

    #[test]
    fn a_flag_wins_over_the_file() {
        let cmd =
            with_file_defaults(command(), &table("max_page = 9"), Path::new("f.toml")).unwrap();
        let m = cmd.try_get_matches_from(["t", "--max-page=3"]).unwrap();
        assert_eq!(m.get_one::<u32>("max_page"), Some(&3));
    }

    #[test]
    fn an_unknown_key_is_refused_naming_it_and_the_accepted_keys() {
        let err = with_file_defaults(command(), &table("max_pages = 9"), Path::new("f.toml"))
            .unwrap_err()
            .0;
        assert!(err.contains("`max_pages`"), "{err}");
        assert!(err.contains("max_page, dirs, demo"), "{err}");
        assert!(err.contains("未知的设置项"), "{err}");
    }

    #[test]
    fn a_bad_value_is_refused_naming_the_file_key() {
        let err = with_file_defaults(command(), &table("max_page = 0"), Path::new("f.toml"))
            .unwrap_err()
            .0;
        assert!(err.contains("f.toml"), "{err}");
        assert!(err.contains("`max_page = 0`"), "{err}");
        assert!(err.contains("无效"), "{err}");
    }

    #[test]
    fn a_table_value_is_refused_with_the_accepted_kinds() {
        let err = with_file_defaults(command(), &table("[max_page]\nx = 1"), Path::new("f.toml"))
            .unwrap_err()
            .0;
        assert!(err.contains("must be a string, number"), "{err}");
    }
}
