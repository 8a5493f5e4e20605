//! The state every handler shares: where the emulator is reached, how callers are authenticated,
//! the faults and counters, and the emulated world behind a lock.

use std::ops::Deref;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use crate::auth::Authenticator;
use crate::counters::Counters;
use crate::faults::Faults;
use crate::state::World;

pub struct Shared {
    /// `http://host:port` as clients reach the emulator; the catalog and links are built on it.
    pub base_url: String,
    pub region: String,
    pub auth: Authenticator,
    pub faults: Faults,
    pub counters: Counters,
    world: Mutex<World>,
}

#[derive(Clone)]
pub struct App(Arc<Shared>);

impl Deref for App {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0
    }
}

impl App {
    pub fn new(
        base_url: String,
        region: String,
        auth: Authenticator,
        faults: Faults,
        world: World,
    ) -> App {
        App(Arc::new(Shared {
            base_url,
            region,
            auth,
            faults,
            counters: Counters::default(),
            world: Mutex::new(world),
        }))
    }

    /// The world, with every transition due by now applied. Held only for synchronous work.
    pub fn world(&self) -> MutexGuard<'_, World> {
        let mut world = self.world.lock().unwrap_or_else(PoisonError::into_inner);
        world.advance(Instant::now());
        world
    }
}
