//! The emulated world: everything the clouds hold (`resources.rs`), what requests do to it, and
//! the clock-driven transitions between states (timed by `lifecycle.rs`).
//!
//! Transitions (a server finishing its build, a TCR becoming `registered`, …) are kept in a
//! timeline and applied by [`World::advance`] whenever the world is next looked at, so a reader
//! always sees exactly the state the configured delays imply, with no background task racing it.

use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

use jiff::Timestamp;

mod connections;

use crate::lifecycle::{Event, Lifecycle, Timeline};
use crate::nova_release::NovaRelease;
use crate::resources::{
    Approval, ApprovalStatus, NewTcr, Server, Tc, Tcr, TcrStatus, VmState, VpnEndpoint,
};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    Approve,
    Deny,
    Cancel,
}

#[derive(Debug)]
pub enum DecisionError {
    NotFound,
    NotPending(ApprovalStatus),
}

pub struct World {
    pub servers: HashMap<String, Server>,
    pub vpn_endpoints: BTreeMap<String, VpnEndpoint>,
    pub tcrs: HashMap<String, Tcr>,
    pub tcs: HashMap<String, Tc>,
    pub approvals: HashMap<String, Approval>,
    pub nova_release: NovaRelease,
    startup_release: NovaRelease,
    /// Nova's `osapi_max_limit`: the most servers one page of a list holds.
    pub nova_max_limit: usize,
    lifecycle: Lifecycle,
    timeline: Timeline,
    /// Creation order (lists are sorted by it) and tie-break for simultaneous events.
    sequence: u64,
    approvals_issued: u64,
}

impl World {
    pub fn new(lifecycle: Lifecycle, nova_release: NovaRelease) -> World {
        World {
            servers: HashMap::new(),
            vpn_endpoints: BTreeMap::new(),
            tcrs: HashMap::new(),
            tcs: HashMap::new(),
            approvals: HashMap::new(),
            nova_release,
            startup_release: nova_release,
            nova_max_limit: 1000,
            lifecycle,
            timeline: Timeline::default(),
            sequence: 0,
            approvals_issued: 0,
        }
    }

    /// Back to how it started: no resources, the Nova release given on the command line.
    pub fn reset(&mut self) {
        let page = self.nova_max_limit;
        *self = World::new(self.lifecycle, self.startup_release);
        self.nova_max_limit = page;
    }

    fn next_sequence(&mut self) -> u64 {
        self.sequence += 1;
        self.sequence
    }

    fn schedule(&mut self, at: Instant, event: Event) {
        let sequence = self.next_sequence();
        self.timeline.schedule(at, sequence, event);
    }

    /// Applies every transition due by `now`, oldest first.
    pub fn advance(&mut self, now: Instant) {
        while let Some((at, event)) = self.timeline.next_due(now) {
            self.apply(at, event);
        }
    }

    /// `at` is when the event was due: follow-up steps are timed from it, not from whenever
    /// somebody happened to look.
    fn apply(&mut self, at: Instant, event: Event) {
        let now = Timestamp::now();
        match event {
            Event::ServerBuilt(id) => {
                if let Some(server) = self
                    .servers
                    .get_mut(&id)
                    .filter(|s| s.vm_state == VmState::Building)
                {
                    server.vm_state = VmState::Active;
                    if server.task_state != Some("deleting") {
                        server.task_state = None;
                    }
                    server.updated = now;
                }
            }
            Event::ServerGone(id) => {
                self.servers.remove(&id);
            }
            Event::TcrRegistering(id) => {
                let request_id = format!("req{:010}", self.approvals_issued + 1);
                if let Some(tcr) = self
                    .tcrs
                    .get_mut(&id)
                    .filter(|t| t.status == TcrStatus::Creating)
                {
                    tcr.status = TcrStatus::Registering;
                    tcr.approval_request_id = request_id;
                    self.approvals_issued += 1;
                    self.schedule(at + self.lifecycle.tcr_registered, Event::TcrRegistered(id));
                }
            }
            Event::TcrRegistered(id) => self.register_approval(at, now, &id),
            Event::AutoApprove(request_id) => {
                // The request may have been decided, cancelled or expired meanwhile: nothing to do then.
                let _ = self.decide(&request_id, Decision::Approve);
            }
            Event::ApprovalExpired(request_id) => {
                if let Some(approval) = self
                    .approvals
                    .get_mut(&request_id)
                    .filter(|a| a.status == ApprovalStatus::Registered)
                {
                    approval.status = ApprovalStatus::Expired;
                    approval.updated = Some(now);
                    let tcr_id = approval.tcr_id.clone();
                    // What an expired approval does to the TCR is not documented; `unavailable` is
                    // the one status in the ECL API reference nothing else explains (it lists the
                    // statuses, not the transitions).
                    if let Some(tcr) = self
                        .tcrs
                        .get_mut(&tcr_id)
                        .filter(|t| t.status == TcrStatus::Registered)
                    {
                        tcr.status = TcrStatus::Unavailable;
                    }
                }
            }
            Event::TcActive(id) => self.activate_tc(&id),
            Event::TcGone(id) => {
                self.tcs.remove(&id);
            }
        }
    }

    fn register_approval(&mut self, at: Instant, now: Timestamp, tcr_id: &str) {
        if !self
            .tcrs
            .get(tcr_id)
            .is_some_and(|t| t.status == TcrStatus::Registering)
        {
            return;
        }
        let sequence = self.next_sequence();
        let Some(tcr) = self.tcrs.get(tcr_id) else {
            return;
        };
        let deadline = now
            .checked_add(self.lifecycle.approval_deadline)
            .unwrap_or(Timestamp::MAX);
        let approval = Approval {
            request_id: tcr.approval_request_id.clone(),
            tcr_id: tcr.id.clone(),
            requester_tenant: tcr.tenant_id.clone(),
            approver_tenant: tcr.tenant_id_other.clone(),
            request_user_id: tcr.requester_user_id.clone(),
            network_id: tcr.network_id.clone(),
            registered: now,
            updated: None,
            deadline,
            status: ApprovalStatus::Registered,
            sequence,
        };
        let request_id = approval.request_id.clone();
        self.approvals.insert(request_id.clone(), approval);
        if let Some(tcr) = self.tcrs.get_mut(tcr_id) {
            tcr.status = TcrStatus::Registered;
        }
        self.schedule(
            at + self.lifecycle.approval_deadline,
            Event::ApprovalExpired(request_id.clone()),
        );
        if let Some(delay) = self.lifecycle.auto_approve_after {
            self.schedule(at + delay, Event::AutoApprove(request_id));
        }
    }

    // ----- Nova

    /// The project's live VPN server, as Nova's cloudpipe lookup finds it (first created wins).
    pub fn vpn_server_of(&self, project_id: &str) -> Option<&Server> {
        self.servers
            .values()
            .filter(|s| s.project_id == project_id)
            .min_by_key(|s| s.sequence)
    }

    /// Every VPN server, oldest first.
    pub fn vpn_servers(&self) -> Vec<&Server> {
        let mut servers: Vec<&Server> = self.servers.values().collect();
        servers.sort_by_key(|s| s.sequence);
        servers
    }

    pub fn launch_vpn_server(&mut self, project_id: &str, now: Instant) -> String {
        let sequence = self.next_sequence();
        let id = uuid::Uuid::new_v4().to_string();
        let created = Timestamp::now();
        let server = Server {
            id: id.clone(),
            project_id: project_id.to_owned(),
            name: format!("{project_id}-vpn"),
            created,
            updated: created,
            vm_state: VmState::Building,
            task_state: Some("spawning"),
            internal_ip: format!("10.0.{}.{}", (sequence / 250) % 256, sequence % 250 + 3),
            metadata: BTreeMap::new(),
            sequence,
        };
        self.servers.insert(id.clone(), server);
        self.schedule(
            now + self.lifecycle.server_build,
            Event::ServerBuilt(id.clone()),
        );
        id
    }

    /// Starts an asynchronous delete (`task_state: deleting`, then gone). False if unknown.
    pub fn delete_server(&mut self, id: &str, now: Instant) -> bool {
        let Some(server) = self.servers.get_mut(id) else {
            return false;
        };
        if server.task_state != Some("deleting") {
            server.task_state = Some("deleting");
            server.updated = Timestamp::now();
            self.schedule(
                now + self.lifecycle.server_delete,
                Event::ServerGone(id.to_owned()),
            );
        }
        true
    }

    /// Removes a server at once (out of band, as an operator of the cloud would).
    pub fn remove_server(&mut self, id: &str) -> bool {
        self.servers.remove(id).is_some()
    }

    // ----- ECL

    pub fn create_tcr(&mut self, new: NewTcr, now: Instant) -> &Tcr {
        let sequence = self.next_sequence();
        let id = uuid::Uuid::new_v4().to_string();
        let tcr = Tcr {
            id: id.clone(),
            name: new.name,
            description: new.description,
            tags: new.tags,
            tenant_id: new.tenant_id,
            name_other: String::new(),
            description_other: String::new(),
            tags_other: BTreeMap::new(),
            tenant_id_other: new.tenant_id_other,
            network_id: new.network_id,
            status: TcrStatus::Creating,
            approval_request_id: String::new(),
            requester_user_id: new.requester_user_id,
            sequence,
        };
        self.schedule(
            now + self.lifecycle.tcr_registering,
            Event::TcrRegistering(id.clone()),
        );
        self.tcrs.entry(id).or_insert(tcr)
    }

    /// Every TCR, oldest first.
    pub fn tcrs_in_order(&self) -> Vec<&Tcr> {
        let mut tcrs: Vec<&Tcr> = self.tcrs.values().collect();
        tcrs.sort_by_key(|t| t.sequence);
        tcrs
    }

    /// Every approval request, oldest first.
    pub fn approvals_in_order(&self) -> Vec<&Approval> {
        let mut approvals: Vec<&Approval> = self.approvals.values().collect();
        approvals.sort_by_key(|a| a.sequence);
        approvals
    }

    /// Deletes a TCR; a still pending approval request for it is cancelled (nobody could act on
    /// it any more), and tenant connections still on it go with it (the API refuses that delete
    /// with 409; only an out-of-band delete gets here with connections left).
    pub fn remove_tcr(&mut self, id: &str) -> bool {
        let Some(tcr) = self.tcrs.remove(id) else {
            return false;
        };
        self.tcs
            .retain(|_, tc| tc.tenant_connection_request_id != id);
        if let Some(approval) = self
            .approvals
            .get_mut(&tcr.approval_request_id)
            .filter(|a| a.status == ApprovalStatus::Registered)
        {
            approval.status = ApprovalStatus::Cancelled;
            approval.updated = Some(Timestamp::now());
        }
        true
    }

    /// Approves, denies or cancels a pending approval request; its TCR takes the same status.
    /// Who may do it is the caller's business.
    pub fn decide(&mut self, request_id: &str, decision: Decision) -> Result<(), DecisionError> {
        let approval = self
            .approvals
            .get_mut(request_id)
            .ok_or(DecisionError::NotFound)?;
        if approval.status != ApprovalStatus::Registered {
            return Err(DecisionError::NotPending(approval.status));
        }
        let (approval_status, tcr_status) = match decision {
            Decision::Approve => (ApprovalStatus::Approved, TcrStatus::Approved),
            Decision::Deny => (ApprovalStatus::Denied, TcrStatus::Denied),
            Decision::Cancel => (ApprovalStatus::Cancelled, TcrStatus::Cancelled),
        };
        approval.status = approval_status;
        approval.updated = Some(Timestamp::now());
        let tcr_id = approval.tcr_id.clone();
        if let Some(tcr) = self
            .tcrs
            .get_mut(&tcr_id)
            .filter(|t| t.status == TcrStatus::Registered)
        {
            tcr.status = tcr_status;
        }
        Ok(())
    }
}
