//! `ccc-proxy` binary: parse flags, install logging, run.

use clap::Parser;

/// jemalloc, with its background thread purging freed pages (after ten
/// seconds; `_RJEM_MALLOC_CONF` tunes it), instead of the system allocator:
/// glibc kept the pages of a shift's peak (2,000 long-polls took RSS from
/// 12 to 96 MiB and it stayed there, higher after every round), jemalloc
/// hands them back once the agents are forgotten (`make bench`, "proxy
/// memory over rounds").
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

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
