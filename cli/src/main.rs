//! `doorstep`: the terminal way into the core. Runs visit scripts against a
//! playbook and prints the events and the visit view as JSON; checks and
//! shows playbooks. Refusals print the rule and exit non-zero.

mod device;

use clap::{Parser, Subcommand};
use doorstep_core::messages::Lang;
use doorstep_core::playbook::Playbook;
use doorstep_core::script_runner::{run_script, ScriptError};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "doorstep",
    version,
    about = "Doorstep field-service core: run visit scripts, check playbooks, act as a technician device"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a visit script (JSON lines) and print the events and the final view as JSON.
    Run {
        /// The script file (`-` for standard input).
        script: PathBuf,
        /// A custom playbook (.toml or .json) instead of the header's shipped trade.
        #[arg(long)]
        playbook: Option<PathBuf>,
        /// Language of refusal messages: zh-CN or en.
        #[arg(long, default_value = "zh-CN")]
        lang: String,
        /// Print only the final view, not every event.
        #[arg(long)]
        view_only: bool,
    },
    /// Validate a playbook file and print a one-line summary.
    CheckPlaybook { file: PathBuf },
    /// Print a shipped playbook as JSON (`list` for the ids).
    ShowPlaybook { trade: String },
    /// Act as a technician's phone: a local store that works offline and syncs.
    Device {
        /// The device's store file.
        #[arg(long)]
        db: PathBuf,
        /// Language of refusal messages: zh-CN or en.
        #[arg(long, default_value = "zh-CN")]
        lang: String,
        #[command(subcommand)]
        command: device::DeviceCommand,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Run {
            script,
            playbook,
            lang,
            view_only,
        } => run(script, playbook, Lang::from_tag(&lang), view_only),
        Command::Device { db, lang, command } => device::run(&db, command, Lang::from_tag(&lang)),
        Command::CheckPlaybook { file } => match Playbook::from_path(&file) {
            Ok(p) => {
                println!(
                    "ok: {} v{} ({} / {}), {} steps, {} kit items, {} fees",
                    p.id,
                    p.version,
                    p.name.en,
                    p.name.zh,
                    p.steps.len(),
                    p.kit.len(),
                    p.fees.len()
                );
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("{e}");
                ExitCode::from(2)
            }
        },
        Command::ShowPlaybook { trade } => {
            if trade == "list" {
                for p in Playbook::shipped() {
                    println!("{}\t{}\t{}", p.id, p.name.en, p.name.zh);
                }
                return ExitCode::SUCCESS;
            }
            match Playbook::shipped_by_id(&trade) {
                Some(p) => {
                    println!("{}", serde_json::to_string_pretty(&p).unwrap_or_default());
                    ExitCode::SUCCESS
                }
                None => {
                    eprintln!("unknown trade {trade:?}; `doorstep show-playbook list` shows the shipped ones");
                    ExitCode::from(2)
                }
            }
        }
    }
}

fn run(script: PathBuf, playbook: Option<PathBuf>, lang: Lang, view_only: bool) -> ExitCode {
    let text = if script.as_os_str() == "-" {
        let mut s = String::new();
        if let Err(e) = std::io::Read::read_to_string(&mut std::io::stdin(), &mut s) {
            eprintln!("cannot read standard input: {e}");
            return ExitCode::from(2);
        }
        s
    } else {
        match std::fs::read_to_string(&script) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("cannot read {}: {e}", script.display());
                return ExitCode::from(2);
            }
        }
    };
    let playbook = match playbook.map(|p| Playbook::from_path(&p)).transpose() {
        Ok(p) => p,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    match run_script(&text, playbook) {
        Ok(outcome) => {
            let out = if view_only {
                serde_json::to_string_pretty(&outcome.view)
            } else {
                serde_json::to_string_pretty(&outcome)
            };
            println!("{}", out.unwrap_or_default());
            ExitCode::SUCCESS
        }
        Err(ScriptError::Refused {
            line,
            command,
            error,
        }) => {
            let report = serde_json::json!({
                "line": line,
                "command": command,
                "refused": error.code(),
                "rule": error.rule(),
                "message": error.message(lang),
                "detail": error,
            });
            eprintln!(
                "{}",
                serde_json::to_string_pretty(&report).unwrap_or_default()
            );
            ExitCode::from(1)
        }
        Err(e) => {
            eprintln!("{e}");
            ExitCode::from(2)
        }
    }
}
