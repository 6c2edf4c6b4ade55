//! The Pregel state machine of langgraph-rs, in plain Rust.
//!
//! Values are opaque (`V`); what needs the embedding language (reducers,
//! version generation, list flattening) goes through [`host::Host`]. The
//! semantics mirror `langgraph.pregel._algo` and `langgraph.channels` of
//! LangGraph 1.2.22.

pub mod channel;
pub mod error;
pub mod fast_hash;
pub mod fault;
pub mod graph;
pub mod host;
pub mod state;
pub mod task_id;
pub mod version;

pub use channel::{Channel, Got, Kind};
pub use error::PregelError;
pub use graph::{Graph, GraphError, Managed, ManagedValue, Name, Read, ReadItem};
pub use host::Host;
pub use state::{Plan, PlanInput, ReadVal, State, TaskWrites, Versions};
pub use version::Version;
