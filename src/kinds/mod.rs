//! One adapter per kind: the kind's cloud calls and what its cloud states mean. The lifecycle
//! itself is the engine's (`crate::engine`).

pub mod cloudpipe;
pub mod tenant_connection_request;
