//! What the core needs from its embedder (the Python binding): the values are
//! opaque to the core, so reducers, list flattening and version generation are
//! the host's.

use std::collections::BTreeSet;

use crate::version::Version;

pub trait Host<V> {
    type Error;
    /// `operator(acc, value)` of a BinaryOperatorAggregate.
    fn reduce(&mut self, op: usize, acc: V, value: V) -> Result<V, Self::Error>;
    /// DeltaChannel `op`: `reducer(base or typ(), values)`.
    fn delta_reduce(&mut self, op: usize, base: Option<V>, values: Vec<V>) -> Result<V, Self::Error>;
    /// DeltaChannel `op` overwritten: a copy of `value`, or `typ()` for None.
    fn delta_reset(&mut self, op: usize, value: V) -> Result<V, Self::Error>;
    /// `Some(inner)` when `value` is an `Overwrite` in any of its forms.
    fn overwrite(&mut self, value: &V) -> Result<Option<V>, Self::Error>;
    /// Topic flattening: a list becomes its items, anything else itself.
    fn flatten(&mut self, value: V) -> Result<Vec<V>, Self::Error>;
    /// The name a NamedBarrierValue write carries (a str), if any.
    fn name_of(&mut self, value: &V) -> Result<Option<String>, Self::Error>;
    /// LangGraph's message for a barrier write naming no expected node.
    fn barrier_error(&mut self, key: &str, value: &V, names: &BTreeSet<String>) -> String;
    /// `get_next_version(current_max, None)`.
    fn next_version(&mut self, current: Option<&Version>) -> Result<Version, Self::Error>;
    /// A task wrote to a channel the graph does not have.
    fn unknown_channel(&mut self, task: usize, channel: &str);
    /// The node a `Send` packet targets; `None` when `value` is not a `Send`.
    fn send_node(&mut self, value: &V) -> Result<Option<String>, Self::Error>;
    /// LangGraph's warning for a non-Send packet in `__pregel_tasks`.
    fn warn_invalid_packet(&mut self, value: &V);
    /// Log a warning on LangGraph's logger.
    fn warn(&mut self, message: &str);
}
