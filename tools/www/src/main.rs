//! `lcnet-www`: what the demo page needs besides the wasm module and the models — a static
//! server for `www/` and the sample gallery. It holds no model code (no candle), so
//! `scripts/serve.sh` has it built in seconds, beside the wasm build.

mod cifar;
mod gallery;
mod http;
mod serve;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// The lcnet demo's static server and sample gallery.
#[derive(Parser)]
#[command(name = "lcnet-www", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the web demo (www/) on localhost.
    Serve(serve::Args),
    /// Write a few CIFAR-10 test images per class (PNG + index.json) for the demo's gallery.
    Gallery(gallery::Args),
}

fn main() -> ExitCode {
    let result = match Cli::parse().command {
        Command::Serve(a) => serve::run(a),
        Command::Gallery(a) => gallery::run(a),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
