//! Leader election on a coordination.k8s.io Lease, so that of several replicas only one writes.
//!
//! The Lease names its holder and when it last renewed. A candidate takes the Lease when it is
//! free, or when its holder left it unchanged for the Lease's duration as measured on the
//! candidate's own clock (`expiry`), with the Lease's resourceVersion as a precondition, so that
//! two candidates cannot both win. The leader renews every `duration / 3`; a leader that could not
//! renew for `duration * 2/3` stops the process: by then another replica may take over, and two
//! writers are worse than a restart.

mod expiry;

use std::time::Duration;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use kube::Client;
use kube::api::{Api, ObjectMeta, PostParams};
use tokio::time::Instant;

use expiry::{Claim, Observer};

#[derive(Clone, Debug)]
pub struct LeaseConfig {
    pub name: String,
    pub namespace: String,
    pub identity: String,
    pub duration: Duration,
}

/// Waits until this process holds the Lease, then keeps renewing it in the background. The returned
/// handle gives the Lease up when dropped (on a clean shutdown), so a successor need not wait.
pub async fn acquire(client: Client, config: LeaseConfig) -> LeaderGuard {
    let mut elector = Elector {
        api: Api::namespaced(client, &config.namespace),
        config,
        observer: Observer::default(),
    };
    let retry = retry_period(elector.config.duration);
    let taken_at = loop {
        let attempt = Instant::now();
        match elector.try_take().await {
            Ok(true) => break attempt,
            Ok(false) => {}
            Err(error) => {
                tracing::warn!(%error, lease = %elector.config.name, "cannot read or take the lease")
            }
        }
        tokio::time::sleep(retry).await;
    };
    let (api, config) = (elector.api.clone(), elector.config.clone());
    tracing::info!(lease = %config.name, identity = %config.identity, "became leader");
    let renewer = tokio::spawn(keep(elector, taken_at));
    LeaderGuard {
        api,
        config,
        renewer,
    }
}
pub struct LeaderGuard {
    api: Api<Lease>,
    config: LeaseConfig,
    renewer: tokio::task::JoinHandle<()>,
}

impl LeaderGuard {
    /// Gives the Lease up at once (after the controllers stopped).
    pub async fn release(self) {
        self.renewer.abort();
        if let Ok(mut lease) = self.api.get(&self.config.name).await {
            let spec = lease.spec.get_or_insert_with(Default::default);
            if spec.holder_identity.as_deref() == Some(self.config.identity.as_str()) {
                spec.holder_identity = None;
                spec.renew_time = None;
                let _ = self
                    .api
                    .replace(&self.config.name, &PostParams::default(), &lease)
                    .await;
                tracing::info!(lease = %self.config.name, "released the lease");
            }
        }
    }
}

/// Renews until it cannot; then the process stops rather than keep writing as a former leader.
/// Others count the Lease's duration from when they see a renewal land, which is after the attempt
/// began; so the deadline runs from the start of the last successful attempt, and an attempt that
/// hangs is cut off at the deadline. A failed attempt is retried sooner than the renewal period.
async fn keep(mut elector: Elector, taken_at: Instant) {
    let name = elector.config.name.clone();
    let period = elector.config.duration / 3;
    let retry = retry_period(elector.config.duration);
    let deadline = elector.config.duration * 2 / 3;
    let mut renewed = taken_at;
    let mut wait = period;
    loop {
        tokio::time::sleep(wait).await;
        let attempt = Instant::now();
        let left = deadline.saturating_sub(renewed.elapsed());
        match tokio::time::timeout(left, elector.try_take()).await {
            Ok(Ok(true)) => {
                renewed = attempt;
                wait = period;
            }
            Ok(Ok(false)) => {
                tracing::error!(lease = %name, "another replica holds the lease now; stopping");
                std::process::exit(1);
            }
            Ok(Err(error)) => {
                tracing::warn!(%error, "cannot renew the lease");
                wait = retry;
            }
            Err(_) => {}
        }
        if renewed.elapsed() >= deadline {
            tracing::error!(lease = %name, "could not renew the lease in time; stopping");
            std::process::exit(1);
        }
    }
}

/// How often a candidate looks at the Lease, and how soon a failed renewal is tried again.
fn retry_period(duration: Duration) -> Duration {
    (duration / 5).max(Duration::from_millis(500))
}

/// One candidate: the Lease it competes for and what it last saw of it.
struct Elector {
    api: Api<Lease>,
    config: LeaseConfig,
    observer: Observer,
}

impl Elector {
    /// Takes or renews the Lease if it is ours, free or expired. `Ok(false)`: someone else holds it.
    async fn try_take(&mut self) -> Result<bool, kube::Error> {
        let config = &self.config;
        // Wall-clock times in the Lease are for people reading it; no decision uses them.
        let now = jiff::Timestamp::now();
        let seconds = i32::try_from(config.duration.as_secs().max(1)).unwrap_or(i32::MAX);
        let written = match self.api.get_opt(&config.name).await? {
            None => {
                let lease = Lease {
                    metadata: ObjectMeta {
                        name: Some(config.name.clone()),
                        ..Default::default()
                    },
                    spec: Some(LeaseSpec {
                        holder_identity: Some(config.identity.clone()),
                        lease_duration_seconds: Some(seconds),
                        acquire_time: Some(MicroTime(now)),
                        renew_time: Some(MicroTime(now)),
                        lease_transitions: Some(0),
                        ..Default::default()
                    }),
                };
                self.api.create(&PostParams::default(), &lease).await
            }
            Some(mut lease) => {
                let spec = lease.spec.get_or_insert_with(Default::default);
                let claim = self.observer.judge(
                    spec,
                    &config.identity,
                    config.duration,
                    Instant::now().into_std(),
                );
                match claim {
                    Claim::Held => return Ok(false),
                    Claim::Expired => tracing::info!(
                        lease = %config.name,
                        holder = spec.holder_identity.as_deref().unwrap_or_default(),
                        "the holder left the lease unchanged for its duration; taking it over"
                    ),
                    Claim::Ours | Claim::Free => {}
                }
                if claim != Claim::Ours {
                    spec.acquire_time = Some(MicroTime(now));
                    spec.lease_transitions = Some(spec.lease_transitions.unwrap_or(0) + 1);
                }
                spec.holder_identity = Some(config.identity.clone());
                spec.lease_duration_seconds = Some(seconds);
                spec.renew_time = Some(MicroTime(now));
                // `replace` carries the resourceVersion we read: a concurrent taker makes it fail with 409.
                self.api
                    .replace(&config.name, &PostParams::default(), &lease)
                    .await
            }
        };
        match written {
            Ok(lease) => {
                // What the server stored (timestamps in its precision) is the record others see next.
                self.observer
                    .see(&lease.spec.unwrap_or_default(), Instant::now().into_std());
                Ok(true)
            }
            Err(kube::Error::Api(status)) if status.code == 409 => Ok(false),
            Err(e) => Err(e),
        }
    }
}
