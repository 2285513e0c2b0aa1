//! `scim-agent`: parse the command line, run once (or every `--watch` interval), exit with
//! the run's code (0 done, 1 failed, 2 refused by a safety rail, 3 some items failed).

use std::process::ExitCode;

use clap::Parser;
use scim_agent::cli::{self, Cli, Env};
use scim_agent::Exit;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let env = Env::from_process();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::from(Exit::Failed.code());
        }
    };
    let settings = match cli::resolve(cli.command.args(), &env) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(Exit::Failed.code());
        }
    };
    runtime.block_on(async {
        loop {
            let outcome = scim_agent::run_with(&cli.command, &settings, &mut std::io::stdout()).await;
            let Some(interval) = settings.watch else { return ExitCode::from(outcome.exit.code()) };
            println!("Next run in {}s (exit code of this one: {}).", interval.as_secs(), outcome.exit.code());
            tokio::select! {
                () = tokio::time::sleep(interval) => {}
                _ = tokio::signal::ctrl_c() => return ExitCode::from(outcome.exit.code()),
            }
        }
    })
}
