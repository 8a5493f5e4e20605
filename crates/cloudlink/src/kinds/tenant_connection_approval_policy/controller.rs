//! Runs the policies: watches them (the spec and the user's annotations trigger a look at once)
//! and looks again every `spec.interval`.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::reflector::{ObjectRef, Store};
use kube::runtime::{WatchStreamExt, reflector, watcher};
use kube::{Resource, ResourceExt};

use super::look::{Look, look};
use super::rule::Candidate;
use super::status;
use crate::api::TenantConnectionApprovalPolicy;
use crate::api::common::condition::PAUSED;
use crate::api::tenant_connection_approval_policy::TenantConnectionApprovalPolicyStatus;
use crate::engine::adapter::Adapter;
use crate::engine::backoff::Backoff;
use crate::engine::conditions::{self, Desired};
use crate::engine::controller::{Watch, report_when_listed, shutdown_signal, slim};
use crate::engine::events::{EventSink, EventType};
use crate::engine::failure::Failure;
use crate::engine::outcome::{Phase, Reason};
use crate::engine::pause;
use crate::engine::readings::Readings;
use crate::kinds::Parts;
use crate::kinds::tenant_connection_approval::TenantConnectionApprovalAdapter;
use cloudlink_cloud::SessionKey;

const DEFAULT_INTERVAL: Duration = Duration::from_secs(60);
const SHORTEST_INTERVAL: Duration = Duration::from_secs(5);

struct Context {
    parts: Parts,
    events: EventSink,
    /// The latest listing of each credential's pending requests, shared by its policies.
    readings: Readings<SessionKey, Candidate>,
    backoff: Backoff,
    /// The policies this controller watches.
    store: Store<TenantConnectionApprovalPolicy>,
}

pub async fn run(parts: Parts, namespace: Option<String>, synced: Box<dyn FnOnce() + Send>) {
    let api: Api<TenantConnectionApprovalPolicy> = match &namespace {
        Some(ns) => Api::namespaced(parts.client.clone(), ns),
        None => Api::all(parts.client.clone()),
    };
    let (store, writer) = reflector::store();
    let watch = Watch {
        namespace: namespace.as_deref(),
        selector: parts.selector.as_deref(),
    };
    let changes = reflector(writer, watcher::watcher(api, watch.config()).modify(slim))
        .default_backoff()
        .touched_objects()
        .predicate_filter(pause::trigger, Default::default());
    report_when_listed(store.clone(), synced);
    let ctx = Arc::new(Context {
        events: EventSink::new(
            parts.client.clone(),
            "cloudlink",
            std::env::var("POD_NAME").ok(),
        ),
        parts,
        readings: Readings::new(|c: &Candidate| c.approval_request_id.clone()),
        backoff: Backoff::new(Duration::from_secs(1), Duration::from_secs(300)),
        store: store.clone(),
    });
    Controller::for_stream(changes, store)
        .graceful_shutdown_on(shutdown_signal())
        .run(reconcile, error_policy, ctx)
        .for_each(|result| async move {
            if let Err(error) = result {
                tracing::debug!(%error, "policy reconcile error");
            }
        })
        .await;
}

/// `spec.interval`, within its bounds.
fn interval(policy: &TenantConnectionApprovalPolicy) -> Duration {
    policy
        .spec
        .interval
        .as_deref()
        .and_then(|text| cloudlink_duration::parse(text).ok())
        .filter(|d| !d.is_zero())
        .unwrap_or(DEFAULT_INTERVAL)
        .max(SHORTEST_INTERVAL)
}

async fn reconcile(
    policy: Arc<TenantConnectionApprovalPolicy>,
    ctx: Arc<Context>,
) -> Result<Action, kube::Error> {
    if policy.meta().deletion_timestamp.is_some() {
        return Ok(Action::await_change());
    }
    let uid = policy.uid().unwrap_or_default();
    let generation = policy.meta().generation.unwrap_or_default();
    let now = Time(jiff::Timestamp::now());
    let current = policy.status.as_ref();
    if pause::paused(&*policy) {
        let mut next = current.cloned().unwrap_or_default();
        next.conditions = conditions::merge(
            &next.conditions,
            &[Desired::new(
                PAUSED,
                true,
                Reason::Paused,
                "cloudlink.dev/paused is \"true\": this policy decides nothing until the annotation is removed",
            )],
            generation,
            &now,
        );
        write(&policy, current, next, &ctx).await?;
        return Ok(Action::await_change());
    }

    let every = interval(&policy);
    let Look {
        decided,
        more,
        failure,
    } = match ctx
        .parts
        .credentials
        .session(
            &policy.namespace().unwrap_or_default(),
            &policy.spec.cloud_credentials_ref,
        )
        .await
    {
        Ok(session) => {
            let desk = TenantConnectionApprovalAdapter.connect(&session);
            look(
                &policy.spec,
                &desk,
                session.key(),
                &ctx.readings,
                &ctx.parts.objects,
                every / 2,
            )
            .await
        }
        Err(e) => Look {
            decided: Vec::new(),
            more: false,
            failure: Some(Failure::from(e)),
        },
    };

    let phase = match &failure {
        Some(failure) => failure.phase(),
        None => Phase::ready(format!(
            "decides every pending tenant connection request that matches spec.match ({}), looking every {}s",
            policy.spec.decision.as_status(),
            every.as_secs()
        )),
    };
    let mut next = status::next(
        current,
        generation,
        &phase,
        &decided,
        pause::requested(&*policy),
        &now,
    );
    // The Events first: they are the record that outlives a failed status write.
    let reference = policy.object_ref(&());
    for decision in &decided {
        let reason = match decision.decision.as_str() {
            "approved" => "Approved",
            _ => "Denied",
        };
        let note = status::told(decision);
        tracing::info!(policy = %policy.name_any(), "{note}");
        ctx.events.record(
            reference.clone(),
            EventType::Normal,
            reason,
            "Decide",
            &note,
        );
    }
    if let Some(failure) = &failure
        && failure.is_warning()
    {
        ctx.events.publish(
            reference,
            EventType::Warning,
            failure.reason().as_str(),
            "Look",
            failure.message(),
        );
    }

    next.conditions.retain(|c| c.type_ != PAUSED);
    write(&policy, current, next, &ctx).await?;

    Ok(match (&failure, more) {
        (Some(Failure::Transient { retry_after, .. }), _) => {
            Action::requeue(ctx.backoff.failed(&uid, *retry_after))
        }
        (Some(_), _) => Action::requeue(every),
        (None, true) => {
            ctx.backoff.forget(&uid);
            Action::requeue(Duration::from_secs(1))
        }
        (None, false) => {
            ctx.backoff.forget(&uid);
            Action::requeue(every)
        }
    })
}

/// Writes `next` unless it is what the object shows already, or the policy left this watch
/// while the look ran (moved to another shard by its labels: its status is that shard's now).
async fn write(
    policy: &TenantConnectionApprovalPolicy,
    current: Option<&TenantConnectionApprovalPolicyStatus>,
    next: TenantConnectionApprovalPolicyStatus,
    ctx: &Context,
) -> Result<(), kube::Error> {
    if current == Some(&next) {
        return Ok(());
    }
    let watched = ctx
        .store
        .get(&ObjectRef::from(policy))
        .is_some_and(|held| held.uid() == policy.uid());
    if !watched {
        tracing::info!(policy = %policy.name_any(), "not writing: the policy left this replica's watch");
        return Ok(());
    }
    let api: Api<TenantConnectionApprovalPolicy> = Api::namespaced(
        ctx.parts.client.clone(),
        &policy.namespace().unwrap_or_default(),
    );
    api.patch_status(
        &policy.name_any(),
        &PatchParams::default(),
        &Patch::Merge(&serde_json::json!({ "status": next })),
    )
    .await
    .map(|_| ())
}

/// A failed status write: the decisions are in the cloud already and are not sent again (SSS
/// answers 409); only their record is lost. Retried shortly.
fn error_policy(
    policy: Arc<TenantConnectionApprovalPolicy>,
    error: &kube::Error,
    ctx: Arc<Context>,
) -> Action {
    tracing::warn!(policy = %policy.name_any(), %error, "cannot write the policy's status");
    Action::requeue(ctx.backoff.failed(&policy.uid().unwrap_or_default(), None))
}
