//! Runs the downloads API simulator on 127.0.0.1 until Ctrl-C.
//!
//! ```text
//! cargo run --example simulator              # API on a free port
//! cargo run --example simulator -- --port 8787
//! ```
//!
//! It prints the URLs, credentials and sample video, and `export` lines that point this
//! crate's client (or any Cloudflare SDK that reads the same variables) at it.

use std::{
    net::{Ipv4Addr, SocketAddr},
    process::ExitCode,
};

use cloudflare_stream::simulator::Simulator;

#[tokio::main]
async fn main() -> ExitCode {
    let port = match port_from_args(std::env::args().skip(1)) {
        Ok(port) => port,
        Err(message) => {
            eprintln!("{message}");
            eprintln!("usage: cargo run --example simulator [-- --port N]");
            return ExitCode::from(2);
        }
    };

    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let sim = match Simulator::builder().bind(addr).start().await {
        Ok(sim) => sim,
        Err(error) => {
            eprintln!("cannot start the simulator on {addr}: {error}");
            return ExitCode::FAILURE;
        }
    };

    println!("Cloudflare Stream downloads simulator");
    println!("  API base URL:  {}", sim.base_url());
    println!("  media URL:     {}", sim.media_url());
    println!("  account id:    {}", sim.account_id());
    println!("  API token:     {}", sim.api_token());
    println!("  email + key:   {} {}", sim.email(), sim.api_key());
    println!("  sample video:  {} (ready to view)", sim.sample_video_id());
    println!();
    println!("export CLOUDFLARE_BASE_URL={}", sim.base_url());
    println!("export CLOUDFLARE_API_TOKEN={}", sim.api_token());
    println!("export CLOUDFLARE_ACCOUNT_ID={}", sim.account_id());
    println!();
    println!("Press Ctrl-C to stop.");

    if let Err(error) = tokio::signal::ctrl_c().await {
        eprintln!("cannot wait for Ctrl-C ({error}); stopping");
    }
    sim.shutdown().await;
    println!("stopped");
    ExitCode::SUCCESS
}

/// Reads `--port N` or `--port=N`; no argument means a free port.
fn port_from_args(mut args: impl Iterator<Item = String>) -> Result<u16, String> {
    let mut port = 0;
    while let Some(arg) = args.next() {
        let value = match arg.strip_prefix("--port=") {
            Some(value) => value.to_owned(),
            None if arg == "--port" => args.next().ok_or("--port needs a number")?,
            None => return Err(format!("unknown argument {arg:?}")),
        };
        port = value
            .parse()
            .map_err(|_| format!("--port needs a number from 0 to 65535, not {value:?}"))?;
    }
    Ok(port)
}
