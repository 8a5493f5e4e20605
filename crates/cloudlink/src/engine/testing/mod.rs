//! The engine's whole lifecycle, tested in milliseconds: the engine runs as in the operator, but
//! over an in-memory API server and credentials ([`cluster`]) and an in-memory cloud
//! ([`cloud`]) with scripted faults. A test reconciles the stored object, and reconciles the
//! copy the writes left behind, as the controller does. The real-API-server suites (`tests/`)
//! still check the edges themselves.

mod cloud;
mod cluster;
mod harness;
mod journal;
mod widget;

mod conflicts;
mod creation;
mod errors;
mod export;
mod levers;
mod observation;
mod removal;
mod shards;
mod waiting;
