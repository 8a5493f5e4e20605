//! One ordered record of what the engine did to Kubernetes, the credentials and the cloud, so a
//! test can say what happened in which order (the finalizer before the create, the create mark
//! before the request).

use std::sync::{Arc, Mutex};

#[derive(Clone, Default)]
pub struct Journal {
    entries: Arc<Mutex<Vec<String>>>,
}

impl Journal {
    pub fn record(&self, entry: String) {
        self.entries.lock().unwrap().push(entry);
    }

    /// Everything recorded since the last `take`.
    pub fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.entries.lock().unwrap())
    }
}
