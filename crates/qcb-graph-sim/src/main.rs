//! `qcb-graph-sim`: serve the emulated tenant on 127.0.0.1 until Ctrl-C.
//!
//! Prints one `key: value` line each for base_url, tenant_id, client_id and
//! client_secret (base_url first), then serves.

use std::io::Write as _;
use std::net::{Ipv4Addr, SocketAddr};

use clap::Parser;
use qcb_graph_sim::{SimServer, TenantSpec};

#[derive(Debug, Parser)]
#[command(
    name = "qcb-graph-sim",
    version,
    about = "Microsoft Graph (Exchange Online mail) emulator"
)]
struct Args {
    /// Seed of the generated tenant (same seed, same tenant).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Number of users (alice, bob, then generated ones).
    #[arg(long, default_value_t = 2)]
    users: usize,
    /// Messages per user.
    #[arg(long, default_value_t = 150)]
    items: usize,
    /// TCP port on 127.0.0.1 (0 = any free port).
    #[arg(long, default_value_t = 0)]
    port: u16,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    let spec = TenantSpec {
        seed: args.seed,
        users: args.users,
        messages_per_user: args.items,
    };
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, args.port));
    let sim = SimServer::start(spec, addr).await?;
    let creds = sim.credentials();
    let mut out = std::io::stdout().lock();
    writeln!(out, "base_url: {}", sim.base_url())?;
    writeln!(out, "tenant_id: {}", creds.tenant_id)?;
    writeln!(out, "client_id: {}", creds.client_id)?;
    writeln!(out, "client_secret: {}", creds.client_secret)?;
    out.flush()?;
    drop(out);
    tokio::signal::ctrl_c().await?;
    sim.shutdown().await;
    Ok(())
}
