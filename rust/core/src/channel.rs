//! The built-in channel kinds of `langgraph.channels`, with their exact
//! update/consume/finish semantics.

use std::collections::BTreeSet;

use crate::error::PregelError;
use crate::host::Host;

/// What a channel is; fixed for the graph.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Kind {
    LastValue,
    LastValueAfterFinish,
    AnyValue,
    Ephemeral { guard: bool },
    Untracked { guard: bool },
    Topic { accumulate: bool },
    /// `op` is the host's index of the reducer.
    BinOp { op: usize },
    NamedBarrier { names: BTreeSet<String> },
    NamedBarrierAfterFinish { names: BTreeSet<String> },
    /// DeltaChannel (beta): a batch reducer; checkpointed as writes, not values.
    Delta { op: usize },
}

impl Kind {
    /// Whether `update([])` can change this channel (the per-step notification).
    pub fn clears_on_empty_update(&self) -> bool {
        matches!(
            self,
            Kind::AnyValue | Kind::Ephemeral { .. } | Kind::Topic { accumulate: false }
        )
    }

    /// Whether `finish()` can change this channel.
    pub fn has_finish(&self) -> bool {
        matches!(
            self,
            Kind::LastValueAfterFinish | Kind::NamedBarrierAfterFinish { .. }
        )
    }
}

/// The mutable state of one channel.
#[derive(Clone, Debug)]
pub struct Channel<V> {
    /// LastValue*, AnyValue, Ephemeral, Untracked, BinOp.
    pub value: Option<V>,
    /// Topic.
    pub values: Vec<V>,
    /// NamedBarrier*.
    pub seen: BTreeSet<String>,
    /// LastValueAfterFinish, NamedBarrierAfterFinish.
    pub finished: bool,
}

impl<V> Default for Channel<V> {
    fn default() -> Self {
        Channel { value: None, values: Vec::new(), seen: BTreeSet::new(), finished: false }
    }
}

impl<V: Clone> Channel<V> {
    pub fn is_available(&self, kind: &Kind) -> bool {
        match kind {
            Kind::LastValueAfterFinish => self.value.is_some() && self.finished,
            Kind::Topic { .. } => !self.values.is_empty(),
            Kind::NamedBarrier { names } => &self.seen == names,
            Kind::NamedBarrierAfterFinish { names } => self.finished && &self.seen == names,
            _ => self.value.is_some(),
        }
    }

    /// `get()`: `None` for EmptyChannelError. Topics return their list, barriers `None`
    /// through `Got::Unit`.
    pub fn get(&self, kind: &Kind) -> Option<Got<'_, V>> {
        if !self.is_available(kind) {
            return None;
        }
        Some(match kind {
            Kind::Topic { .. } => Got::List(&self.values),
            Kind::NamedBarrier { .. } | Kind::NamedBarrierAfterFinish { .. } => Got::Unit,
            _ => Got::Value(self.value.as_ref()?),
        })
    }

    pub fn update<H: Host<V>>(
        &mut self,
        kind: &Kind,
        key: &str,
        mut values: Vec<V>,
        host: &mut H,
    ) -> Result<bool, PregelError<H::Error>> {
        match kind {
            Kind::LastValue => {
                if values.is_empty() {
                    return Ok(false);
                }
                if values.len() != 1 {
                    return Err(PregelError::InvalidUpdate {
                        message: format!(
                            "At key '{key}': Can receive only one value per step. Use an Annotated key to handle multiple values."
                        ),
                        concurrent: true,
                    });
                }
                self.value = values.pop();
                Ok(true)
            }
            Kind::LastValueAfterFinish => {
                if values.is_empty() {
                    return Ok(false);
                }
                self.finished = false;
                self.value = values.pop();
                Ok(true)
            }
            Kind::AnyValue => {
                if values.is_empty() {
                    return Ok(self.value.take().is_some());
                }
                self.value = values.pop();
                Ok(true)
            }
            Kind::Ephemeral { guard } | Kind::Untracked { guard } => {
                let ephemeral = matches!(kind, Kind::Ephemeral { .. });
                if values.is_empty() {
                    return Ok(ephemeral && self.value.take().is_some());
                }
                if values.len() != 1 && *guard {
                    let what = if ephemeral { "EphemeralValue" } else { "UntrackedValue" };
                    return Err(PregelError::InvalidUpdate {
                        message: format!(
                            "At key '{key}': {what}(guard=True) can receive only one value per step. Use guard=False if you want to store any one of multiple values."
                        ),
                        concurrent: false,
                    });
                }
                self.value = values.pop();
                Ok(true)
            }
            Kind::Topic { accumulate } => {
                let mut updated = false;
                if !accumulate {
                    updated = !self.values.is_empty();
                    self.values.clear();
                }
                for v in values {
                    let flat = host.flatten(v)?;
                    if !flat.is_empty() {
                        updated = true;
                        self.values.extend(flat);
                    }
                }
                Ok(updated)
            }
            Kind::BinOp { op } => {
                if values.is_empty() {
                    return Ok(false);
                }
                let mut iter = values.into_iter();
                if self.value.is_none() {
                    self.value = iter.next();
                }
                let mut seen_overwrite = false;
                for v in iter {
                    if let Some(inner) = host.overwrite(&v)? {
                        if seen_overwrite {
                            return Err(PregelError::InvalidUpdate {
                                message: "Can receive only one Overwrite value per super-step."
                                    .to_string(),
                                concurrent: true,
                            });
                        }
                        self.value = Some(inner);
                        seen_overwrite = true;
                        continue;
                    }
                    if !seen_overwrite {
                        self.value = Some(match self.value.take() {
                            Some(acc) => {
                                let keep = acc.clone();
                                match host.reduce(*op, acc, v) {
                                    Ok(x) => x,
                                    Err(e) => {
                                        self.value = Some(keep);
                                        return Err(PregelError::Host(e));
                                    }
                                }
                            }
                            None => v,
                        });
                    }
                }
                Ok(true)
            }
            Kind::Delta { op } => {
                if values.is_empty() {
                    return Ok(false);
                }
                let mut overwrite = None;
                for v in &values {
                    if let Some(inner) = host.overwrite(v)? {
                        if overwrite.is_some() {
                            return Err(PregelError::InvalidUpdate {
                                message: "Can receive only one Overwrite value per super-step."
                                    .to_string(),
                                concurrent: true,
                            });
                        }
                        overwrite = Some(inner);
                    }
                }
                let new = match overwrite {
                    Some(inner) => host.delta_reset(*op, inner)?,
                    None => host.delta_reduce(*op, self.value.clone(), values)?,
                };
                self.value = Some(new);
                Ok(true)
            }
            Kind::NamedBarrier { names } | Kind::NamedBarrierAfterFinish { names } => {
                let mut updated = false;
                for v in values {
                    match host.name_of(&v)? {
                        Some(name) if names.contains(&name) => {
                            if self.seen.insert(name) {
                                updated = true;
                            }
                        }
                        _ => {
                            return Err(PregelError::InvalidUpdate {
                                message: host.barrier_error(key, &v, names),
                                concurrent: false,
                            })
                        }
                    }
                }
                Ok(updated)
            }
        }
    }

    pub fn consume(&mut self, kind: &Kind) -> bool {
        match kind {
            Kind::LastValueAfterFinish => {
                if self.finished {
                    self.finished = false;
                    self.value = None;
                    return true;
                }
                false
            }
            Kind::NamedBarrier { names } => {
                if &self.seen == names {
                    self.seen.clear();
                    return true;
                }
                false
            }
            Kind::NamedBarrierAfterFinish { names } => {
                if self.finished && &self.seen == names {
                    self.finished = false;
                    self.seen.clear();
                    return true;
                }
                false
            }
            _ => false,
        }
    }

    /// Whether `finish()` would change this channel now.
    pub fn can_finish(&self, kind: &Kind) -> bool {
        match kind {
            Kind::LastValueAfterFinish => !self.finished && self.value.is_some(),
            Kind::NamedBarrierAfterFinish { names } => !self.finished && &self.seen == names,
            _ => false,
        }
    }

    pub fn finish(&mut self, kind: &Kind) -> bool {
        match kind {
            Kind::LastValueAfterFinish => {
                if !self.finished && self.value.is_some() {
                    self.finished = true;
                    return true;
                }
                false
            }
            Kind::NamedBarrierAfterFinish { names } => {
                if !self.finished && &self.seen == names {
                    self.finished = true;
                    return true;
                }
                false
            }
            _ => false,
        }
    }
}

/// A value read from a channel.
pub enum Got<'a, V> {
    Value(&'a V),
    List(&'a [V]),
    Unit,
}
