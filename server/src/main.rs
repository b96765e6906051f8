//! `latchkey`: the console, the authorization server and the operator's command line.

use clap::Parser;
use server::{commands, config};
use std::process::ExitCode;

/// mimalloc instead of glibc's allocator: a console page or a token response allocates many
/// small, short-lived buffers on two runtime threads, and profiles of the page workloads put
/// glibc's `malloc`/`free` at about a sixth of the server's CPU (see BENCH.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = config::Cli::parse();
    init_logging(cli.global.log_format);
    match commands::run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("latchkey: error: {error}");
            ExitCode::FAILURE
        }
    }
}

/// Structured logs on stderr (stdout is reserved for the CLI's machine-readable output).
/// Filter with `LATCHKEY_LOG` (default `info`).
fn init_logging(format: config::LogFormat) {
    use tracing_subscriber::{EnvFilter, fmt};
    let filter = EnvFilter::try_from_env("LATCHKEY_LOG")
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,sea_orm=warn"));
    let builder = fmt().with_env_filter(filter).with_writer(std::io::stderr);
    match format {
        config::LogFormat::Text => builder.with_target(false).init(),
        config::LogFormat::Json => builder.json().flatten_event(true).init(),
    }
}
