//! The world's tenant connections: made `creating`, `active` after the configured delay (with
//! their port), `deleting` and then gone.

use std::collections::BTreeMap;
use std::time::Instant;

use super::World;
use crate::lifecycle::Event;
use crate::resources::{DeviceType, NewTc, Tc, TcStatus};

impl World {
    pub fn create_tc(&mut self, new: NewTc, now: Instant) -> &Tc {
        let sequence = self.next_sequence();
        let id = uuid::Uuid::new_v4().to_string();
        let tc = Tc {
            id: id.clone(),
            tenant_connection_request_id: new.tenant_connection_request_id,
            name: new.name,
            description: new.description,
            tags: new.tags,
            tenant_id: new.tenant_id,
            name_other: String::new(),
            description_other: String::new(),
            tags_other: BTreeMap::new(),
            tenant_id_other: new.tenant_id_other,
            network_id: new.network_id,
            device_type: new.device_type,
            device_id: new.device_id,
            device_interface_id: new.device_interface_id,
            port_id: String::new(),
            status: TcStatus::Creating,
            attachment_opts: new.attachment_opts,
            sequence,
        };
        self.schedule(now + self.lifecycle.tc_active, Event::TcActive(id.clone()));
        self.tcs.entry(id).or_insert(tc)
    }

    /// `creating` → `active`; a server's port comes into being with it.
    pub(super) fn activate_tc(&mut self, id: &str) {
        if let Some(tc) = self
            .tcs
            .get_mut(id)
            .filter(|tc| tc.status == TcStatus::Creating)
        {
            tc.status = TcStatus::Active;
            if tc.device_type != DeviceType::Vsrx {
                tc.port_id = uuid::Uuid::new_v4().to_string();
            }
        }
    }

    /// Every tenant connection, oldest first.
    pub fn tcs_in_order(&self) -> Vec<&Tc> {
        let mut tcs: Vec<&Tc> = self.tcs.values().collect();
        tcs.sort_by_key(|tc| tc.sequence);
        tcs
    }

    /// Starts an asynchronous delete (`deleting`, then gone); a second delete changes nothing.
    /// False if unknown.
    pub fn delete_tc(&mut self, id: &str, now: Instant) -> bool {
        let Some(tc) = self.tcs.get_mut(id) else {
            return false;
        };
        if tc.status != TcStatus::Deleting {
            tc.status = TcStatus::Deleting;
            self.schedule(now + self.lifecycle.tc_delete, Event::TcGone(id.to_owned()));
        }
        true
    }

    /// Removes a tenant connection at once (out of band).
    pub fn remove_tc(&mut self, id: &str) -> bool {
        self.tcs.remove(id).is_some()
    }
}
