//! Leader election on a coordination.k8s.io Lease, so that of several replicas only one writes.
//!
//! The Lease names its holder and when it last renewed. A candidate takes the Lease when it is
//! free or expired, with the Lease's resourceVersion as a precondition, so that two candidates
//! cannot both win. The leader renews every `duration / 3`; a leader that could not renew for
//! `duration * 2/3` stops the process: by then another replica may take over, and two writers
//! are worse than a restart.

use std::time::Duration;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use kube::Client;
use kube::api::{Api, ObjectMeta, PostParams};

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
    let api: Api<Lease> = Api::namespaced(client, &config.namespace);
    let retry = (config.duration / 5).max(Duration::from_millis(500));
    loop {
        match try_take(&api, &config).await {
            Ok(true) => break,
            Ok(false) => {}
            Err(error) => {
                tracing::warn!(%error, lease = %config.name, "cannot read or take the lease")
            }
        }
        tokio::time::sleep(retry).await;
    }
    tracing::info!(lease = %config.name, identity = %config.identity, "became leader");
    let renewer = tokio::spawn(keep(api.clone(), config.clone()));
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
async fn keep(api: Api<Lease>, config: LeaseConfig) {
    let period = config.duration / 3;
    let deadline = config.duration * 2 / 3;
    let mut last_renewal = tokio::time::Instant::now();
    loop {
        tokio::time::sleep(period).await;
        match try_take(&api, &config).await {
            Ok(true) => last_renewal = tokio::time::Instant::now(),
            Ok(false) => {
                tracing::error!(lease = %config.name, "another replica holds the lease now; stopping");
                std::process::exit(1);
            }
            Err(error) => tracing::warn!(%error, "cannot renew the lease"),
        }
        if last_renewal.elapsed() > deadline {
            tracing::error!(lease = %config.name, "could not renew the lease in time; stopping");
            std::process::exit(1);
        }
    }
}

/// Takes or renews the Lease if it is ours, free or expired. `Ok(false)`: someone else holds it.
async fn try_take(api: &Api<Lease>, config: &LeaseConfig) -> Result<bool, kube::Error> {
    let now = jiff::Timestamp::now();
    let seconds = i32::try_from(config.duration.as_secs().max(1)).unwrap_or(i32::MAX);
    match api.get_opt(&config.name).await? {
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
            match api.create(&PostParams::default(), &lease).await {
                Ok(_) => Ok(true),
                Err(kube::Error::Api(status)) if status.code == 409 => Ok(false),
                Err(e) => Err(e),
            }
        }
        Some(mut lease) => {
            let spec = lease.spec.get_or_insert_with(Default::default);
            let ours = spec.holder_identity.as_deref() == Some(config.identity.as_str());
            let free = spec.holder_identity.as_deref().is_none_or(str::is_empty);
            let expired = match (&spec.renew_time, spec.lease_duration_seconds) {
                (Some(MicroTime(renewed)), Some(held)) => {
                    *renewed + jiff::SignedDuration::from_secs(i64::from(held)) < now
                }
                _ => true,
            };
            if !(ours || free || expired) {
                return Ok(false);
            }
            if !ours {
                spec.acquire_time = Some(MicroTime(now));
                spec.lease_transitions = Some(spec.lease_transitions.unwrap_or(0) + 1);
            }
            spec.holder_identity = Some(config.identity.clone());
            spec.lease_duration_seconds = Some(seconds);
            spec.renew_time = Some(MicroTime(now));
            // `replace` carries the resourceVersion we read: a concurrent taker makes it fail with 409.
            match api
                .replace(&config.name, &PostParams::default(), &lease)
                .await
            {
                Ok(_) => Ok(true),
                Err(kube::Error::Api(status)) if status.code == 409 => Ok(false),
                Err(e) => Err(e),
            }
        }
    }
}
