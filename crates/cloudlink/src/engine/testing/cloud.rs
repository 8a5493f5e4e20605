//! An in-memory cloud of widgets and the adapter that drives it. Widgets build and delete over a
//! few reads, as real resources do; faults are scripted per operation (fail before the cloud
//! acts, or act and lose the answer); every call is counted and journaled.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use kube::ResourceExt;

use super::journal::Journal;
use super::widget::{Widget, WidgetView};
use crate::engine::adapter::{Adapter, AdapterError, Assessment, CloudDeletion, Created, Owner};
use crate::engine::outcome::{Phase, Reason};
use crate::engine::readings::Previous;
use cloudlink_cloud::{CloudError, CloudSession};

/// How often the adapter asks the engine to look again at a widget on its way.
pub const POLL: Duration = Duration::from_secs(2);

#[derive(Clone, Debug, PartialEq)]
pub enum State {
    /// Active after this many more reads.
    Building(u32),
    Active,
    /// Broken in the cloud: only a person can repair it.
    Failed,
    /// Gone after this many more reads.
    Deleting(u32),
}

/// One widget in the cloud.
#[derive(Clone, Debug)]
pub struct CloudWidget {
    pub id: String,
    pub name: String,
    pub description: String,
    pub state: State,
    /// The UID of the object whose create made it (a request's `cloudlink.dev/uid` tag): what
    /// `find_own` matches.
    pub created_for: Option<String>,
    /// The ownership mark.
    pub mark: Option<Owner>,
}

/// What a scripted fault does to the next call of an operation.
enum Fault {
    /// The call fails before the cloud does anything.
    Refuse(CloudError),
    /// The cloud carries the call out, but its answer is lost.
    LoseAnswer(CloudError),
}

/// How the cloud behaves; tests change it before reconciling.
pub struct Behaviour {
    /// Reads before a new widget is active.
    pub build_reads: u32,
    /// Reads before a deleted widget is gone.
    pub delete_reads: u32,
    /// A create names the new widget's owner in its mark (ECL's tags). Without it, the engine
    /// marks the widget once it is active (Nova's metadata).
    pub marks_on_create: bool,
    /// A create of a name that exists answers with the existing widget (Nova's cloudpipe, one per
    /// project).
    pub one_per_name: bool,
    /// The cloud would not take a create yet (a connection whose request is not approved).
    pub not_ready: bool,
    /// The cloud cannot delete or undo a widget (an approval decision).
    pub undeletable: bool,
}

#[derive(Default)]
struct Cloud {
    widgets: BTreeMap<String, CloudWidget>,
    created: u32,
    calls: HashMap<&'static str, u32>,
    faults: HashMap<&'static str, VecDeque<Fault>>,
}

/// The adapter; clones share one cloud.
#[derive(Clone)]
pub struct FakeAdapter {
    cloud: Arc<Mutex<Cloud>>,
    behaviour: Arc<Mutex<Behaviour>>,
    journal: Journal,
}

impl FakeAdapter {
    pub fn new(journal: Journal) -> Self {
        FakeAdapter {
            cloud: Arc::default(),
            behaviour: Arc::new(Mutex::new(Behaviour {
                build_reads: 1,
                delete_reads: 1,
                marks_on_create: true,
                one_per_name: false,
                not_ready: false,
                undeletable: false,
            })),
            journal,
        }
    }

    pub fn behave(&self, change: impl FnOnce(&mut Behaviour)) {
        change(&mut self.behaviour.lock().unwrap());
    }

    /// The next call of `operation` fails with `error`; the cloud does nothing.
    pub fn refuse_next(&self, operation: &'static str, error: CloudError) {
        self.push_fault(operation, Fault::Refuse(error));
    }

    /// The next call of `operation` is carried out, but the caller gets `error`.
    pub fn lose_next_answer(&self, operation: &'static str, error: CloudError) {
        self.push_fault(operation, Fault::LoseAnswer(error));
    }

    fn push_fault(&self, operation: &'static str, fault: Fault) {
        let mut cloud = self.lock();
        cloud.faults.entry(operation).or_default().push_back(fault);
    }

    /// How many times the engine called `operation`.
    pub fn calls(&self, operation: &str) -> u32 {
        self.lock()
            .calls
            .get(operation)
            .copied()
            .unwrap_or_default()
    }

    pub fn widgets(&self) -> Vec<CloudWidget> {
        self.lock().widgets.values().cloned().collect()
    }

    pub fn widget(&self, id: &str) -> Option<CloudWidget> {
        self.lock().widgets.get(id).cloned()
    }

    /// A widget made outside cloudlink, already active; returns its id.
    pub fn seed(&self, name: &str, mark: Option<Owner>) -> String {
        let mut cloud = self.lock();
        let id = cloud.next_id();
        let widget = CloudWidget {
            id: id.clone(),
            name: name.into(),
            description: String::new(),
            state: State::Active,
            created_for: None,
            mark,
        };
        cloud.widgets.insert(id.clone(), widget);
        id
    }

    /// Someone deletes the widget out of band.
    pub fn vanish(&self, id: &str) {
        self.lock().widgets.remove(id);
    }

    /// Someone breaks the widget in the cloud.
    pub fn break_widget(&self, id: &str) {
        if let Some(widget) = self.lock().widgets.get_mut(id) {
            widget.state = State::Failed;
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Cloud> {
        self.cloud.lock().unwrap()
    }

    /// Counts and journals the call, and runs `act` unless a fault refuses it.
    fn call<T>(
        &self,
        operation: &'static str,
        target: &str,
        act: impl FnOnce(&mut Cloud, &Behaviour) -> T,
    ) -> Result<T, AdapterError> {
        self.journal.record(format!("cloud {operation} {target}"));
        let behaviour = self.behaviour.lock().unwrap();
        let mut cloud = self.lock();
        *cloud.calls.entry(operation).or_default() += 1;
        let fault = cloud
            .faults
            .get_mut(operation)
            .and_then(VecDeque::pop_front);
        match fault {
            Some(Fault::Refuse(error)) => Err(error.into()),
            Some(Fault::LoseAnswer(error)) => {
                act(&mut cloud, &behaviour);
                Err(error.into())
            }
            None => Ok(act(&mut cloud, &behaviour)),
        }
    }
}

impl Cloud {
    fn next_id(&mut self) -> String {
        self.created += 1;
        format!("w-{}", self.created)
    }

    /// A read moves a widget on its way one step (the cloud's progress, as a test sees it).
    fn read(&mut self, id: &str) -> Option<CloudWidget> {
        let widget = self.widgets.get_mut(id)?;
        match widget.state {
            State::Building(n) if n <= 1 => widget.state = State::Active,
            State::Building(n) => widget.state = State::Building(n - 1),
            State::Deleting(n) if n <= 1 => {
                self.widgets.remove(id);
                return None;
            }
            State::Deleting(n) => widget.state = State::Deleting(n - 1),
            State::Active | State::Failed => {}
        }
        Some(widget.clone())
    }
}

/// A failure of the cloud that waiting may cure.
pub fn unavailable() -> CloudError {
    CloudError::Server {
        request: "POST http://cloud.invalid/widgets".into(),
        status: 503,
        message: "try again later".into(),
    }
}

/// A refusal that only a change of spec cures.
pub fn invalid() -> CloudError {
    CloudError::BadRequest {
        request: "POST http://cloud.invalid/widgets".into(),
        message: "name is not allowed".into(),
    }
}

/// The answer that never came.
pub fn timeout() -> CloudError {
    CloudError::Timeout {
        request: "POST http://cloud.invalid/widgets".into(),
        after: Duration::from_secs(30),
    }
}

#[async_trait]
impl Adapter for FakeAdapter {
    type Object = Widget;
    type Observed = CloudWidget;
    type Cloud = ();

    fn connect(&self, _session: &CloudSession) -> Self::Cloud {}

    fn id(observed: &CloudWidget) -> String {
        observed.id.clone()
    }

    async fn get(&self, _: &(), _: &Widget, id: &str) -> Result<Option<CloudWidget>, AdapterError> {
        self.call("get", id, |cloud, _| cloud.read(id))
    }

    async fn list(
        &self,
        _: &(),
        _: &Previous<CloudWidget>,
    ) -> Result<Vec<CloudWidget>, AdapterError> {
        self.call("list", "", |cloud, _| {
            let ids: Vec<String> = cloud.widgets.keys().cloned().collect();
            ids.iter().filter_map(|id| cloud.read(id)).collect()
        })
    }

    async fn find_own(&self, _: &(), object: &Widget) -> Result<Option<CloudWidget>, AdapterError> {
        let uid = object.uid();
        self.call("find_own", &object.name_any(), |cloud, _| {
            let found = cloud.widgets.values().find(|w| w.created_for == uid);
            let id = found?.id.clone();
            cloud.read(&id)
        })
    }

    async fn ready_to_create(&self, _: &(), _: &Widget) -> Result<(), AdapterError> {
        if self.behaviour.lock().unwrap().not_ready {
            return Err(AdapterError::waiting(
                Reason::AwaitingApproval,
                "waiting for the owner",
                Duration::from_secs(30),
            ));
        }
        Ok(())
    }

    fn deletion(&self) -> CloudDeletion {
        if self.behaviour.lock().unwrap().undeletable {
            CloudDeletion::Impossible("the cloud keeps widgets")
        } else {
            CloudDeletion::Delete
        }
    }

    async fn create(&self, _: &(), object: &Widget) -> Result<Created<CloudWidget>, AdapterError> {
        let spec = object.spec.resource.clone().unwrap_or_default();
        let created = self.call("create", &spec.name, |cloud, behaviour| {
            let existing = cloud.widgets.values().find(|w| w.name == spec.name);
            if let Some(existing) = existing.filter(|_| behaviour.one_per_name) {
                return existing.clone();
            }
            let widget = CloudWidget {
                id: cloud.next_id(),
                name: spec.name.clone(),
                description: spec.description.clone(),
                state: State::Building(behaviour.build_reads),
                created_for: object.uid(),
                mark: behaviour.marks_on_create.then(|| Owner::of(object)),
            };
            cloud.widgets.insert(widget.id.clone(), widget.clone());
            widget
        })?;
        Ok(Created {
            id: created.id.clone(),
            resource: Some(created),
        })
    }

    async fn update(
        &self,
        _: &(),
        object: &Widget,
        observed: &CloudWidget,
    ) -> Result<Option<CloudWidget>, AdapterError> {
        let wanted = object.spec.resource.clone().unwrap_or_default().description;
        if wanted == observed.description {
            return Ok(None);
        }
        self.call("update", &observed.id, |cloud, _| {
            let widget = cloud.widgets.get_mut(&observed.id)?;
            widget.description = wanted;
            Some(widget.clone())
        })
    }

    async fn delete(&self, _: &(), observed: &CloudWidget) -> Result<(), AdapterError> {
        let id = &observed.id;
        let found = self.call("delete", id, |cloud, behaviour| {
            let widget = cloud.widgets.get_mut(id)?;
            widget.state = State::Deleting(behaviour.delete_reads);
            Some(())
        })?;
        found.ok_or_else(|| {
            AdapterError::from(CloudError::NotFound {
                request: format!("DELETE http://cloud.invalid/widgets/{id}"),
                message: "no such widget".into(),
            })
        })
    }

    fn deleting(&self, observed: &CloudWidget) -> bool {
        matches!(observed.state, State::Deleting(_))
    }

    fn owner(&self, observed: &CloudWidget) -> Option<Owner> {
        observed.mark.clone()
    }

    /// Like Nova, a widget on its way cannot take a mark yet.
    async fn claim(
        &self,
        _: &(),
        observed: &CloudWidget,
        owner: &Owner,
    ) -> Result<Option<CloudWidget>, AdapterError> {
        if observed.state != State::Active {
            return Ok(None);
        }
        self.call("claim", &observed.id, |cloud, _| {
            let widget = cloud.widgets.get_mut(&observed.id)?;
            widget.mark = Some(owner.clone());
            Some(widget.clone())
        })
    }

    fn assess(&self, _: &Widget, observed: &CloudWidget) -> Assessment<WidgetView> {
        let (phase, state) = match observed.state {
            State::Building(_) => (
                Phase::progressing(Reason::Progressing, "the widget is building", POLL),
                "building",
            ),
            State::Active => (Phase::ready("the widget is active"), "active"),
            State::Failed => (
                Phase::stalled(Reason::UnrecoverableError, "the widget failed"),
                "failed",
            ),
            State::Deleting(_) => (
                Phase::progressing(Reason::Progressing, "the widget is being deleted", POLL),
                "deleting",
            ),
        };
        Assessment {
            phase,
            view: WidgetView {
                name: observed.name.clone(),
                description: observed.description.clone(),
                state: state.into(),
            },
            conditions: Vec::new(),
        }
    }
}
