//! cloudlink-emulator: an in-memory, loopback stand-in for the clouds cloudlink manages — a
//! Keystone v3 subset, Nova os-cloudpipe, ECL provider-connectivity tenant connection requests and
//! tenant connections, and SSS approval requests — faithful to the upstream code, API references and clients its modules
//! name, with injectable faults and an admin API for tests.
//!
//! A library, so that tests start it in-process ([`bind`], then [`Bound::serve`]); the
//! `cloudlink-emulator` binary (`main.rs`) is a thin command line around it. The built-in
//! identity's accounts are [`accounts`].

// Handlers return early with a ready error `Response` (`Result<_, Response>`); boxing it would
// only add noise to every call site of a test tool.
#![allow(clippy::result_large_err)]

pub mod accounts;
mod admin;
mod app;
mod auth;
mod body;
mod caller;
mod counters;
mod directory;
mod ecl;
mod ecl_attachment;
mod ecl_connections;
mod ecl_fields;
mod errors;
mod faults;
mod identity;
mod lifecycle;
mod middleware;
mod nova;
mod nova_cloudpipe;
mod nova_framing;
mod nova_release;
mod nova_servers;
mod nova_validation;
mod query;
mod resources;
mod route;
mod router;
mod server;
mod server_metadata;
mod sss;
mod state;
mod timefmt;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;

use crate::auth::{Authenticator, RemoteKeystone, ServiceCredentials};
use crate::directory::Directory;
use crate::faults::{FaultSpec, Faults};
use crate::identity::Identity;
use crate::lifecycle::Lifecycle;
use crate::nova_release::NovaRelease;
use crate::state::World;

/// Durations are written as cloudlink's: `500ms`, `2s`, `1.5s`, `1h30m`, `0s` (or `0`).
#[derive(Parser)]
#[command(
    version,
    about = "In-memory emulator of Keystone, Nova os-cloudpipe, ECL tenant connection requests and tenant connections"
)]
pub struct Args {
    /// Address to listen on (port 0: any free port).
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,

    /// Region named in the catalog and in SSS approval actions.
    #[arg(long, default_value = "RegionOne")]
    region: String,

    /// Projects, users and application credentials of the built-in identity (YAML or JSON; see
    /// `directory.rs` for the format and the defaults).
    #[arg(long, conflicts_with = "keystone_url")]
    identity_config: Option<PathBuf>,

    /// Lifetime of the built-in identity's tokens.
    #[arg(long, default_value = "1h", value_parser = parse_duration)]
    token_ttl: Duration,

    /// Use this real Keystone instead of the built-in identity: every token is validated there.
    #[arg(long)]
    keystone_url: Option<String>,

    /// Service user the emulator validates tokens with (needs the service or admin role).
    #[arg(long, default_value = "cloudlink-emulator")]
    keystone_service_user: String,

    #[arg(
        long,
        env = "CLOUDLINK_EMULATOR_SERVICE_PASSWORD",
        hide_env_values = true
    )]
    keystone_service_password: Option<String>,

    /// Project (by name) the service user's token is scoped to.
    #[arg(long, default_value = "service")]
    keystone_service_project: String,

    /// Domain id of the service user and project.
    #[arg(long, default_value = "default")]
    keystone_service_domain: String,

    /// How long a positive validation answer is reused. Short, so that a revoked token stops
    /// working within this time.
    #[arg(long, default_value = "2s", value_parser = parse_duration)]
    keystone_cache_ttl: Duration,

    /// Nova release to emulate: cloudpipe works up to ocata; pike and later answer 410.
    #[arg(long, value_enum, default_value = "ocata")]
    nova_release: NovaRelease,

    /// Nova's osapi_max_limit: the page size of `GET servers/detail`.
    #[arg(long, default_value_t = 1000)]
    nova_max_limit: usize,

    /// A cloudpipe's VPN server stays BUILD this long, then turns ACTIVE.
    #[arg(long, default_value = "2s", value_parser = parse_duration)]
    server_build_delay: Duration,

    /// A deleted server shows `task_state: deleting` this long, then is gone.
    #[arg(long, default_value = "500ms", value_parser = parse_duration)]
    server_delete_delay: Duration,

    /// A new TCR stays `creating` this long, then `registering`.
    #[arg(long, default_value = "500ms", value_parser = parse_duration)]
    tcr_registering_delay: Duration,

    /// A TCR stays `registering` this long, then `registered` with its SSS approval request.
    #[arg(long, default_value = "500ms", value_parser = parse_duration)]
    tcr_registered_delay: Duration,

    /// Approve every approval request this long after it is registered (for demos).
    #[arg(long, value_parser = parse_duration)]
    auto_approve_after: Option<Duration>,

    /// An approval request nobody answers expires after this (its TCR becomes `unavailable`).
    #[arg(long, default_value = "168h", value_parser = parse_duration)]
    approval_deadline: Duration,

    /// A new tenant connection stays `creating` this long, then `active`.
    #[arg(long, default_value = "500ms", value_parser = parse_duration)]
    tc_active_delay: Duration,

    /// A deleted tenant connection shows `deleting` this long, then is gone.
    #[arg(long, default_value = "500ms", value_parser = parse_duration)]
    tc_delete_delay: Duration,

    /// A fault at startup, `ROUTE=JSON` (repeatable); ROUTE may be `family.*` or `*`, JSON is a
    /// fault spec, e.g. `ecl.tcr.create={"commit_then_fail":"error","times":1}`.
    #[arg(long = "fault", value_name = "ROUTE=JSON", value_parser = faults::parse_flag)]
    faults: Vec<(String, FaultSpec)>,

    /// Seed for the faults' random draws, for repeatable runs.
    #[arg(long)]
    seed: Option<u64>,
}

/// cloudlink's duration grammar (or `0`, as Go writes none), at most 100 years: far-off instants
/// would overflow the clock arithmetic.
fn parse_duration(text: &str) -> Result<Duration, String> {
    let duration = match text {
        "0" => Duration::ZERO,
        _ => cloudlink_duration::parse(text).map_err(|e| e.to_string())?,
    };
    if duration > Duration::from_secs(100 * 365 * 24 * 3600) {
        return Err("durations are limited to 100 years".to_owned());
    }
    Ok(duration)
}

/// The emulator bound to its address, ready to serve.
pub struct Bound {
    base_url: String,
    listener: tokio::net::TcpListener,
    router: axum::Router,
}

impl Bound {
    /// `http://127.0.0.1:PORT`: loopback when it listens on an unspecified address.
    pub fn url(&self) -> &str {
        &self.base_url
    }

    /// Serves until the task is dropped.
    pub async fn serve(self) {
        server::serve(self.listener, self.router).await;
    }
}

/// Binds the listener and builds the emulated world `args` describes; the error says what in
/// `args` is wrong (or why the address cannot be bound).
pub async fn bind(args: Args) -> Result<Bound, String> {
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", args.listen))?;
    let local = listener.local_addr().map_err(|e| e.to_string())?;
    // Clients cannot connect to an unspecified address; name loopback in URLs instead.
    let host = if local.ip().is_unspecified() {
        IpAddr::V4(Ipv4Addr::LOCALHOST)
    } else {
        local.ip()
    };
    let base_url = format!("http://{}", SocketAddr::new(host, local.port()));

    let (auth, identity) = match &args.keystone_url {
        Some(url) => {
            // https Keystones need a TLS provider; installing one twice is harmless.
            let _ = rustls::crypto::ring::default_provider().install_default();
            let password = args
                .keystone_service_password
                .clone()
                .ok_or("--keystone-url needs --keystone-service-password (or CLOUDLINK_EMULATOR_SERVICE_PASSWORD)")?;
            let credentials = ServiceCredentials {
                user: args.keystone_service_user.clone(),
                password,
                project: args.keystone_service_project.clone(),
                domain: args.keystone_service_domain.clone(),
            };
            let keystone = RemoteKeystone::new(url, credentials, args.keystone_cache_ttl)?;
            tracing::info!(%url, "validating tokens against a real Keystone");
            (Authenticator::Keystone(Box::new(keystone)), None)
        }
        None => {
            let directory = match &args.identity_config {
                Some(path) => Directory::load(path)?,
                None => Directory::builtin()?,
            };
            let identity = Arc::new(Identity::new(
                directory,
                args.token_ttl,
                base_url.clone(),
                args.region.clone(),
            ));
            (Authenticator::Builtin(identity.clone()), Some(identity))
        }
    };

    let lifecycle = Lifecycle {
        server_build: args.server_build_delay,
        server_delete: args.server_delete_delay,
        tcr_registering: args.tcr_registering_delay,
        tcr_registered: args.tcr_registered_delay,
        auto_approve_after: args.auto_approve_after,
        approval_deadline: args.approval_deadline,
        tc_active: args.tc_active_delay,
        tc_delete: args.tc_delete_delay,
    };
    let faults = Faults::new(args.faults, args.seed);
    let mut world = World::new(lifecycle, args.nova_release);
    world.nova_max_limit = args.nova_max_limit.max(1);
    let app = app::App::new(base_url.clone(), args.region, auth, faults, world);
    let router = router::router(&app, identity);

    tracing::info!(%base_url, nova_release = ?args.nova_release, "ready");
    Ok(Bound {
        base_url,
        listener,
        router,
    })
}
