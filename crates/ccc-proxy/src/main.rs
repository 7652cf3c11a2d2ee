//! `ccc-proxy` binary: parse flags, install logging, run.

use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args = ccc_proxy::Args::parse();
    let format = args.log_format;
    let config = match ccc_proxy::Config::from_args(args, |k| std::env::var(k).ok()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("ccc-proxy: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    ccc_proxy::init_tracing(format);
    match ccc_proxy::run(config).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "ccc-proxy failed");
            eprintln!("ccc-proxy: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
