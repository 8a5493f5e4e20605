//! `cloudlink run`: flags, logging, and one controller per kind (and per watched namespace).

use std::sync::Arc;
use std::time::Duration;

use clap::{Args, ValueEnum};
use futures::future::join_all;
use kube::core::Selector;

use super::http::{self, Readiness};
use super::leader::{self, LeaseConfig};
use super::metrics::Metrics;
use super::preflight;
use super::shard;
use crate::engine::context::{Context, Settings};
use crate::engine::controller::{self, Watch};
use crate::engine::credentials::Sessions;
use crate::engine::objects::Objects;
use crate::engine::watched::Watched;
use crate::engine::writes::KubeWrites;
use crate::kinds::{Kind, Visit};
use cloudlink_cloud::SessionOptions;
use cloudlink_cloud::rate_limit::RateLimit;

#[derive(Args, Debug, Clone)]
pub struct RunArgs {
    /// Namespace to watch; repeat for several. Default: all namespaces.
    #[arg(
        long = "namespace",
        value_name = "NAMESPACE",
        env = "CLOUDLINK_NAMESPACES",
        value_delimiter = ','
    )]
    pub namespaces: Vec<String>,
    /// Reconciles running at once, per kind.
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u16).range(1..))]
    pub concurrency: u16,
    /// How often a Ready object is re-read from the cloud, at multiples of the period (plus up to
    /// 5 s) so that one batched reading serves every object of a credential; `spec.resyncPeriod`
    /// overrides it.
    #[arg(long, default_value = "10m", value_parser = duration)]
    pub resync: Duration,
    /// Calls per second one credential may send to the cloud, shared by all objects using it.
    #[arg(long, default_value_t = 20.0)]
    pub cloud_rate: f64,
    /// Calls one credential may send at once after a quiet spell.
    #[arg(long, default_value_t = 40)]
    pub cloud_burst: u32,
    /// Deadline of each cloud call.
    #[arg(long, default_value = "30s", value_parser = duration)]
    pub cloud_timeout: Duration,
    /// Where `/metrics`, `/healthz` and `/readyz` are served.
    #[arg(long, default_value = "0.0.0.0:8080", env = "CLOUDLINK_METRICS_ADDR")]
    pub metrics_addr: std::net::SocketAddr,
    /// Run only while holding a Lease, so that of several replicas only one reconciles.
    #[arg(long, env = "CLOUDLINK_LEADER_ELECT")]
    pub leader_elect: bool,
    /// Reconcile only the objects matching this label selector (`kubectl get -l` syntax), e.g.
    /// `sharding.cloudlink.dev/key=shard1` for a shard and `!sharding.cloudlink.dev/key` for the
    /// default shard. Default: every object.
    #[arg(
        long,
        value_name = "SELECTOR",
        env = "CLOUDLINK_WATCH_LABEL_SELECTOR",
        value_parser = shard::parse
    )]
    pub watch_label_selector: Option<Selector>,
    /// Name of the Lease. Default: `cloudlink-leader`, or `cloudlink-leader-NAME` with
    /// `--watch-label-selector sharding.cloudlink.dev/key=NAME` (each shard elects its own leader).
    #[arg(long)]
    pub lease_name: Option<String>,
    /// Namespace of the Lease (in a cluster: the operator's own).
    #[arg(long, env = "POD_NAMESPACE", default_value = "default")]
    pub lease_namespace: String,
    /// How long a Lease holds without renewal: a standby takes over once it saw the Lease unchanged
    /// this long (by its own clock), so about this long after the leader dies.
    #[arg(long, default_value = "15s", value_parser = duration)]
    pub lease_duration: Duration,
    /// Log format.
    #[arg(long, value_enum, default_value_t = LogFormat::Text, env = "CLOUDLINK_LOG_FORMAT")]
    pub log_format: LogFormat,
    /// Log filter (tracing's EnvFilter syntax, e.g. `info` or `cloudlink=debug`).
    #[arg(long, default_value = "info", env = "CLOUDLINK_LOG")]
    pub log: String,
}

#[derive(ValueEnum, Debug, Clone, Copy)]
pub enum LogFormat {
    Text,
    Json,
}

/// A flag's duration: `cloudlink_duration`'s grammar, and more than zero.
fn duration(text: &str) -> Result<Duration, String> {
    match cloudlink_duration::parse(text) {
        Ok(d) if d.is_zero() => Err(format!("{text:?} is zero; give a longer duration")),
        Ok(d) => Ok(d),
        Err(e) => Err(e.to_string()),
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("cannot configure a Kubernetes client: {0}")]
    Client(#[source] kube::Error),
    #[error(transparent)]
    Preflight(#[from] preflight::PreflightError),
    #[error("cannot serve metrics on {addr}: {source}")]
    Metrics {
        addr: std::net::SocketAddr,
        #[source]
        source: std::io::Error,
    },
}

pub async fn run(args: RunArgs) -> Result<(), RunError> {
    let logging = init_logging(&args);
    let result = operate(args).await;
    logging.finish().await;
    result
}

async fn operate(args: RunArgs) -> Result<(), RunError> {
    let selector = args.watch_label_selector.clone().unwrap_or_default();
    let pod = std::env::var("POD_NAME").ok();
    let client = super::kube_client::infer(&shard::user_agent(&selector, pod.as_deref()))
        .await
        .map_err(RunError::Client)?;
    preflight::check_crds_installed(&client, args.namespaces.first().map(String::as_str)).await?;

    let metrics = Arc::new(Metrics::default());
    let settings = Settings {
        resync: args.resync,
        shard_takeover: args
            .watch_label_selector
            .as_ref()
            .map(|_| args.cloud_timeout),
        ..Settings::default()
    };
    let options = SessionOptions {
        timeout: args.cloud_timeout,
        rate_limit: Some(RateLimit {
            per_second: args.cloud_rate,
            burst: args.cloud_burst,
        }),
        metrics: Some(metrics.clone()),
        ..SessionOptions::default()
    };
    let sessions = Arc::new(Sessions::new(client.clone(), options));

    let namespaces: Vec<Option<&str>> = if args.namespaces.is_empty() {
        vec![None]
    } else {
        args.namespaces.iter().map(|n| Some(n.as_str())).collect()
    };
    let readiness = Arc::new(Readiness::new(
        namespaces.len() * crate::kinds::plurals().len(),
    ));
    let listener = tokio::net::TcpListener::bind(args.metrics_addr)
        .await
        .map_err(|source| RunError::Metrics {
            addr: args.metrics_addr,
            source,
        })?;
    tokio::spawn(http::serve(listener, metrics.clone(), readiness.clone()));
    tokio::spawn(super::memory::return_free_pages());

    let leadership = if args.leader_elect {
        let identity = pod.unwrap_or_else(|| {
            format!(
                "cloudlink-{}-{:08x}",
                std::process::id(),
                rand::random::<u32>()
            )
        });
        let name = (args.lease_name.clone()).unwrap_or_else(|| shard::lease_name(&selector));
        tracing::info!(lease = %name, %identity, "waiting to become leader");
        let config = LeaseConfig {
            name,
            namespace: args.lease_namespace.clone(),
            identity,
            duration: args.lease_duration,
        };
        readiness.set_standby(true);
        let guard = leader::acquire(client.clone(), config).await;
        readiness.set_standby(false);
        Some(guard)
    } else {
        None
    };

    let selector = (!selector.selects_all()).then(|| selector.to_string());
    tracing::info!(namespaces = ?args.namespaces, selector = selector.as_deref().unwrap_or("(every object)"), concurrency = args.concurrency, "cloudlink starting");
    let mut controllers = Controllers {
        shared: Shared {
            client,
            sessions,
            objects: Arc::new(Objects::default()),
            settings,
            metrics: metrics.clone(),
        },
        namespaces: &namespaces,
        selector: selector.as_deref(),
        concurrency: args.concurrency,
        readiness,
        runs: Vec::new(),
    };
    crate::kinds::each(&mut controllers);
    let controllers = controllers.runs;
    join_all(controllers).await;
    if let Some(leadership) = leadership {
        leadership.release().await;
    }
    tracing::info!("cloudlink stopped");
    Ok(())
}

/// What every kind's engine shares: one client, one set of credential sessions (one token per
/// credential across kinds), the settings and the metrics.
struct Shared {
    client: kube::Client,
    sessions: Arc<Sessions>,
    objects: Arc<Objects>,
    settings: Settings,
    metrics: Arc<Metrics>,
}

/// Builds each kind's engine and one controller per kind and watched namespace.
struct Controllers<'a> {
    shared: Shared,
    namespaces: &'a [Option<&'a str>],
    /// `--watch-label-selector`, as sent to the API server.
    selector: Option<&'a str>,
    concurrency: u16,
    readiness: Arc<Readiness>,
    runs: Vec<futures::future::BoxFuture<'a, ()>>,
}

impl<'a> Visit for Controllers<'a> {
    fn kind<K: Kind>(&mut self)
    where
        K::Object: kube::CustomResourceExt,
    {
        let Shared {
            client,
            sessions,
            objects,
            settings,
            metrics,
        } = &self.shared;
        // Writes only for objects this replica still watches: see `engine::watched`.
        let writes = Arc::new(Watched::new(
            Arc::new(KubeWrites::new(client.clone())),
            objects.clone(),
        ));
        let context = Arc::new(
            Context::with_edges(K::default(), writes, sessions.clone(), settings.clone())
                .with_metrics(metrics.clone())
                .with_objects(objects.clone()),
        );
        for namespace in self.namespaces {
            let readiness = self.readiness.clone();
            self.runs.push(Box::pin(controller::run(
                client.clone(),
                context.clone(),
                Watch {
                    namespace: *namespace,
                    selector: self.selector,
                },
                self.concurrency,
                Box::new(move || readiness.synced()),
            )));
        }
    }

    fn standalone<S: crate::kinds::Standalone>(&mut self) {
        let parts = crate::kinds::Parts {
            client: self.shared.client.clone(),
            credentials: self.shared.sessions.clone(),
            objects: self.shared.objects.clone(),
            selector: self.selector.map(str::to_owned),
        };
        for namespace in self.namespaces {
            let readiness = self.readiness.clone();
            self.runs.push(S::run(
                &parts,
                namespace.map(str::to_owned),
                Box::new(move || readiness.synced()),
            ));
        }
    }
}

/// What logging needs done before the process exits: with `--features otel`, the last spans exported.
struct Logging {
    #[cfg(feature = "otel")]
    exporter: Option<super::telemetry::Exporter>,
}

impl Logging {
    async fn finish(self) {
        #[cfg(feature = "otel")]
        if let Some(exporter) = self.exporter {
            exporter.shutdown().await;
        }
    }
}

fn init_logging(args: &RunArgs) -> Logging {
    let filter = tracing_subscriber::EnvFilter::try_new(&args.log)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match args.log_format {
        LogFormat::Json => install(builder.json().finish()),
        LogFormat::Text => install(builder.finish()),
    }
}

/// Installs the subscriber, with a layer exporting its spans when OpenTelemetry export is configured.
#[cfg(feature = "otel")]
fn install<S>(subscriber: S) -> Logging
where
    S: tracing::Subscriber
        + for<'span> tracing_subscriber::registry::LookupSpan<'span>
        + Send
        + Sync
        + 'static,
{
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    // A broken exporter configuration (say, an endpoint that is no URL) costs the traces, not the operator.
    let (layer, exporter, failure) = match super::telemetry::layer() {
        Ok(Some((layer, exporter))) => (Some(layer), Some(exporter), None),
        Ok(None) => (None, None, None),
        Err(e) => (None, None, Some(e)),
    };
    let exporting = layer.is_some();
    subscriber.with(layer).init();
    if exporting {
        tracing::info!("exporting spans over OTLP/HTTP");
    }
    if let Some(e) = failure {
        tracing::error!(error = %e, "OpenTelemetry export is configured but cannot start; spans are not exported");
    }
    Logging { exporter }
}

#[cfg(not(feature = "otel"))]
fn install<S>(subscriber: S) -> Logging
where
    S: tracing::Subscriber + Send + Sync + 'static,
{
    use tracing_subscriber::util::SubscriberInitExt;
    subscriber.init();
    // Said once, at startup: someone expects traces from this build and will not get any.
    let configured = [
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    ]
    .into_iter()
    .find(|var| std::env::var_os(var).is_some_and(|value| !value.is_empty()));
    if let Some(var) = configured {
        tracing::warn!(
            "{var} is set but this build has no OpenTelemetry export; rebuild with `--features otel`"
        );
    }
    Logging {}
}
