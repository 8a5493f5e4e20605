//! The `cloudlink-emulator` command. On start it prints exactly one line on stdout,
//! `cloudlink-emulator listening on http://…`; everything else goes to stderr.

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;
use cloudlink_emulator::Args;

fn main() -> ExitCode {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("cloudlink-emulator: cannot start the runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("cloudlink-emulator: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<(), String> {
    let bound = cloudlink_emulator::bind(args).await?;
    let mut stdout = std::io::stdout();
    writeln!(stdout, "cloudlink-emulator listening on {}", bound.url())
        .and_then(|()| stdout.flush())
        .map_err(|e| e.to_string())?;
    bound.serve().await;
    Ok(())
}
