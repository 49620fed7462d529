//! `taskpilot serve`: the HTTP API and web page (`taskpilot-server`) on `HOST:PORT`, until
//! SIGTERM or SIGINT; then in-flight requests finish and metrics and traces are flushed.
//! Without API tokens the server listens on loopback only (docs/API.md, threat model) unless
//! `--allow-open` is given, and says so on stderr and in the log.

use std::process::ExitCode;

use taskpilot_server::{Tokens, bind, exposure, serve, shutdown};

use crate::commands::run::runtime;
use crate::context::Context;
use crate::exit::usage;

#[derive(Debug, clap::Args)]
pub(crate) struct ServeArgs {
    /// Address to listen on (default: HOST).
    #[arg(long)]
    pub host: Option<String>,
    /// Port to listen on, 0 for any free one (default: PORT).
    #[arg(long)]
    pub port: Option<u16>,
    /// Serve without API tokens on any address (anyone who reaches it may create, approve and
    /// delete tasks). Without it, a server with no tokens listens on 127.0.0.1 only.
    #[arg(long)]
    pub allow_open: bool,
}

pub(crate) async fn run(args: ServeArgs, ctx: &Context) -> anyhow::Result<ExitCode> {
    let settings = &ctx.settings;
    let tokens = Tokens::from_settings(settings).map_err(|e| usage(e.to_string()))?;
    let rt = runtime(ctx).await?;
    let explicit = args.host.is_some();
    let host = args.host.unwrap_or_else(|| settings.host.value.clone());
    let plan = exposure::plan(&host, explicit, tokens.is_open(), args.allow_open)
        .map_err(|e| usage(e.to_string()))?;
    if let Some(note) = &plan.note {
        eprintln!("NOTE: {note}");
        tracing::warn!(asked = %host, bound = %plan.host, "{note}");
    }
    let port = args.port.unwrap_or(settings.port.value);
    let listener = bind(&plan.host, port).await?;
    let addr = listener.local_addr()?;
    if tokens.is_open() && args.allow_open {
        tracing::warn!(%addr, "--allow-open: serving the API without tokens");
    }
    if tokens.is_open() {
        eprintln!(
            "WARNING: no API tokens are configured (TASKPILOT_API_TOKENS or \
             TASKPILOT_API_TOKENS_FILE), so the API on {addr} is OPEN: anyone who can reach it \
             may submit requests, approve, reject and delete tasks."
        );
        tracing::warn!(%addr, "the API is open: no API tokens configured");
    } else {
        tracing::info!(%addr, tokens = tokens.len(), "API tokens configured");
    }
    eprintln!("TaskPilot serving on http://{addr} (web page at http://{addr}/ui)");
    tracing::info!(%addr, store = %settings.store_display(), "serving");
    let store = rt.store.clone();
    let state = taskpilot_server::state(rt, tokens);
    serve(listener, state, shutdown::signal()).await?;
    // Fold the journal: after a graceful stop `.tasks.json` alone holds every task.
    store
        .close()
        .await
        .map_err(|e| crate::exit::store_error(e, settings))?;
    tracing::info!(%addr, "server stopped");
    eprintln!("TaskPilot stopped");
    Ok(ExitCode::SUCCESS)
}
