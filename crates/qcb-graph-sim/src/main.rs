//! `qcb-graph-sim`: serve the emulated tenant on 127.0.0.1 until Ctrl-C.
//!
//! Prints one `key: value` line each for base_url, tenant_id, client_id,
//! client_secret, graph_url, token_url and throttle (base_url first), then
//! serves.

use std::io::Write as _;
use std::net::{Ipv4Addr, SocketAddr};

use clap::Parser;
use qcb_graph_sim::{FaultConfig, SimOptions, SimServer, TenantSpec, ThrottleConfig};

#[derive(Debug, Parser)]
#[command(
    name = "qcb-graph-sim",
    version,
    about = "Microsoft Graph (Exchange Online mail) emulator"
)]
struct Args {
    #[command(subcommand)]
    command: Option<Command>,
    /// Seed of the generated tenant (same seed, same tenant).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Number of users (alice, bob, then generated ones).
    #[arg(long, default_value_t = 2)]
    users: usize,
    /// Messages per user.
    #[arg(long, default_value_t = 150)]
    items: usize,
    /// Shared mailboxes added after the users (default: one per ten users,
    /// and one in the default demo tenant).
    #[arg(long)]
    shared_mailboxes: Option<usize>,
    /// TCP port on 127.0.0.1 (0 = any free port).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Throttling: `off`, `real` (Exchange's limits per app per mailbox:
    /// 10,000 requests per 10 minutes, 4 concurrent, 150 MB upload per 5
    /// minutes), or a number N: the same limits with time running N times
    /// faster (`60` makes the 10-minute window 10 seconds).
    #[arg(long, default_value = "off")]
    throttle: Throttle,
    /// Seeded fault injection: the share (0.0–1.0) of Graph requests that
    /// answer 503 (with Retry-After: 1) instead.
    #[arg(long, default_value_t = 0.0)]
    fault_rate: f64,
    /// Seed of the fault draws.
    #[arg(long, default_value_t = 1)]
    fault_seed: u64,
    /// Access token lifetime in seconds.
    #[arg(long, default_value_t = 3600)]
    token_lifetime: u64,
    /// Most unchanged mailboxes kept in memory (each generated on first
    /// touch, dropped and regenerated identically later). Default: all of
    /// them for tenants up to 200,000 messages, 5 above.
    #[arg(long)]
    resident_mailboxes: Option<usize>,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Simulate user activity in a running emulator (between two backups):
    /// POST /_sim/activity to it and print what was done as JSON.
    Activity {
        /// The emulator's base_url (as it printed at start).
        #[arg(long)]
        url: String,
        /// Mailbox id or UPN (repeatable); default: every mailbox.
        #[arg(long = "user")]
        users: Vec<String>,
        /// Seed of the draws.
        #[arg(long = "activity-seed", default_value_t = 1)]
        activity_seed: u64,
        /// New messages in each inbox.
        #[arg(long, default_value_t = 5)]
        new_mail: usize,
        /// Messages moved to another folder.
        #[arg(long, default_value_t = 3)]
        moves: usize,
        /// Messages whose flag and read state change.
        #[arg(long, default_value_t = 3)]
        flag_changes: usize,
        /// Messages deleted (into Recoverable Items > Deletions).
        #[arg(long, default_value_t = 2)]
        deletions: usize,
        /// Events whose subject and location change.
        #[arg(long, default_value_t = 2)]
        event_edits: usize,
    },
}

/// `POST {base_url}/_sim/activity` with a plain HTTP/1.1 client; the
/// answer's body.
fn post_activity(base_url: &str, body: &str) -> anyhow::Result<String> {
    use std::io::Read as _;
    let rest = base_url
        .strip_prefix("http://")
        .ok_or_else(|| anyhow::anyhow!("--url must be the emulator's http:// base_url"))?;
    let host = rest.split('/').next().unwrap_or(rest);
    let mut stream = std::net::TcpStream::connect(host)?;
    write!(
        stream,
        "POST /_sim/activity HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer)?;
    let (head, rest) = answer
        .split_once("\r\n\r\n")
        .ok_or_else(|| anyhow::anyhow!("not an HTTP answer"))?;
    let status = head.split_whitespace().nth(1).unwrap_or("");
    if status != "200" {
        anyhow::bail!("{}: {rest}", head.lines().next().unwrap_or(""));
    }
    Ok(rest.to_string())
}

#[derive(Debug, Clone, Copy)]
enum Throttle {
    Off,
    Scaled(f64),
}

impl std::str::FromStr for Throttle {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "off" | "none" => Ok(Throttle::Off),
            "real" | "exchange" => Ok(Throttle::Scaled(1.0)),
            n => match n.parse::<f64>() {
                Ok(f) if f.is_finite() && f > 0.0 => Ok(Throttle::Scaled(f)),
                _ => Err(format!(
                    "expected off, real or a time-scale factor > 0, not '{n}'"
                )),
            },
        }
    }
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
    if let Some(Command::Activity {
        url,
        users,
        activity_seed,
        new_mail,
        moves,
        flag_changes,
        deletions,
        event_edits,
    }) = args.command
    {
        let a = qcb_graph_sim::Activity {
            users,
            seed: activity_seed,
            new_mail,
            moves,
            flag_changes,
            deletions,
            event_edits,
        };
        let body = post_activity(&url, &serde_json::to_string(&a)?)?;
        println!("{body}");
        return Ok(());
    }
    let mut spec = TenantSpec {
        seed: args.seed,
        users: args.users,
        messages_per_user: args.items,
        shared_mailboxes: args.shared_mailboxes,
    };
    // The defaults are the demo tenant, shared mailbox included.
    let demo = TenantSpec::demo();
    if spec.shared_mailboxes.is_none()
        && (spec.seed, spec.users, spec.messages_per_user)
            == (demo.seed, demo.users, demo.messages_per_user)
    {
        spec = demo;
    }
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, args.port));
    let mut options = SimOptions::default();
    if let Throttle::Scaled(f) = args.throttle {
        options.throttle = ThrottleConfig::exchange().scaled(f);
    }
    if args.fault_rate > 0.0 {
        options.faults = FaultConfig {
            seed: args.fault_seed,
            rate: args.fault_rate.min(1.0),
            ..FaultConfig::default()
        };
    }
    options.auth.token_lifetime_secs = args.token_lifetime.max(60);
    options.memory.resident_mailboxes = args.resident_mailboxes;
    let sim = SimServer::start_with(spec, options, addr).await?;
    let creds = sim.credentials();
    let mut out = std::io::stdout().lock();
    writeln!(out, "base_url: {}", sim.base_url())?;
    writeln!(out, "tenant_id: {}", creds.tenant_id)?;
    writeln!(out, "client_id: {}", creds.client_id)?;
    writeln!(out, "client_secret: {}", creds.client_secret)?;
    writeln!(out, "graph_url: {}", sim.graph_url())?;
    writeln!(out, "token_url: {}", sim.token_url())?;
    let throttle = match args.throttle {
        Throttle::Off => "off".to_string(),
        Throttle::Scaled(1.0) => "real".to_string(),
        Throttle::Scaled(f) => format!("real, {f}x faster"),
    };
    writeln!(out, "throttle: {throttle}")?;
    out.flush()?;
    drop(out);
    tokio::signal::ctrl_c().await?;
    sim.shutdown().await;
    Ok(())
}
