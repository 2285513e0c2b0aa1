//! `scim-agent`: parse the command line, run once (or every `--watch` interval), exit with
//! the run's code (0 done, 1 failed, 2 refused by a safety rail, 3 some items failed). A
//! command line that does not parse is a failure (1), not a refusal: 2 is kept for the
//! safety rails, which scripts act on.

use std::process::ExitCode;

use clap::Parser;
use scim_agent::cli::{self, Cli, Env};
use scim_agent::{Exit, Stop};

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { ExitCode::from(Exit::Failed.code()) } else { ExitCode::SUCCESS };
        }
    };
    let env = Env::from_process();
    let settings = match cli::resolve(cli.command.args(), &env) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(Exit::Failed.code());
        }
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::from(Exit::Failed.code());
        }
    };
    let exit = runtime.block_on(async {
        let mut out = std::io::stdout();
        match settings.watch {
            Some(interval) => {
                let stop = Stop::new();
                stop.on_signals();
                scim_agent::watch(&cli.command, &settings, interval, &stop, &mut out).await
            }
            None => scim_agent::run_with(&cli.command, &settings, &mut out).await.exit,
        }
    });
    ExitCode::from(exit.code())
}
