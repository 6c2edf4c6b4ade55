//! The fixed topology of a compiled graph: channels, nodes and which channel
//! triggers which node (a petgraph bipartite graph).

use std::collections::HashMap;
use std::sync::Arc;

use petgraph::graph::DiGraph;
use petgraph::Direction;

use crate::channel::Kind;
use crate::fast_hash::FastMap;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Managed {
    IsLastStep,
    RemainingSteps,
}

impl Managed {
    pub fn value(self, step: i64, stop: i64) -> ManagedValue {
        match self {
            Managed::IsLastStep => ManagedValue::Bool(step == stop - 1),
            Managed::RemainingSteps => ManagedValue::Int(stop - step),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ManagedValue {
    Bool(bool),
    Int(i64),
}

/// One name a node reads.
#[derive(Clone, Debug)]
pub enum ReadItem {
    Channel(usize),
    Managed(String, Managed),
}

#[derive(Clone, Debug)]
pub enum Read {
    /// `PregelNode.channels` is a str: the input is that channel's value
    /// (`None`: a name the graph lacks, so the node never runs).
    Single(Option<usize>),
    /// A list: the input is a dict of the available ones.
    Many(Vec<(String, ReadItem)>),
}

#[derive(Clone, Debug)]
pub struct NodeSpec {
    pub name: String,
    pub triggers: Vec<usize>,
    /// `tuple(sorted(proc.triggers))`.
    pub sorted_triggers: Vec<String>,
    pub read: Read,
}

/// A vertex of the topology: a channel or a node (the index into `channels`/`nodes`).
#[derive(Clone, Copy, Debug)]
enum Vertex {
    #[allow(dead_code)] // kept for traversals from the node side
    Channel(usize),
    Node(usize),
}

#[derive(Debug)]
pub struct Graph {
    pub channels: Vec<(String, Kind)>,
    /// The key a channel names in its errors (LangGraph's `BaseChannel.key`):
    /// the channel's name unless set otherwise (a raw `Pregel`'s channels keep "").
    pub error_keys: Vec<String>,
    pub channel_index: FastMap<String, usize>,
    pub nodes: Vec<NodeSpec>,
    pub node_index: FastMap<String, usize>,
    /// channel -> nodes it triggers, sorted by node name (`Pregel.trigger_to_nodes`).
    pub trigger_to_nodes: Vec<Vec<usize>>,
    pub tasks_channel: Option<usize>,
    /// The channels' and nodes' names as the version maps hold them.
    pub channel_names: Vec<Name>,
    pub node_names: Vec<Name>,
    topology: DiGraph<Vertex, ()>,
}

#[derive(Debug, PartialEq, Eq)]
pub enum GraphError {
    DuplicateChannel(String),
    UnknownTrigger { node: String, channel: String },
    UnknownRead { node: String, name: String },
}

/// A channel's or node's name as the version maps hold it: the graph's own
/// names are shared, not copied, into every map that records them.
pub type Name = Arc<str>;

pub const TASKS: &str = "__pregel_tasks";

impl Graph {
    pub fn new(
        channels: Vec<(String, Kind)>,
        nodes: Vec<(String, Vec<String>, Result<String, Vec<String>>)>,
        managed: &HashMap<String, Managed>,
    ) -> Result<Graph, GraphError> {
        let mut channel_index = FastMap::with_capacity_and_hasher(channels.len(), Default::default());
        let mut topology = DiGraph::new();
        let mut channel_vertex = Vec::with_capacity(channels.len());
        for (i, (name, _)) in channels.iter().enumerate() {
            if channel_index.insert(name.clone(), i).is_some() {
                return Err(GraphError::DuplicateChannel(name.clone()));
            }
            channel_vertex.push(topology.add_node(Vertex::Channel(i)));
        }
        let mut specs = Vec::with_capacity(nodes.len());
        let mut node_index = FastMap::with_capacity_and_hasher(nodes.len(), Default::default());
        for (n, (name, triggers, read)) in nodes.into_iter().enumerate() {
            let v = topology.add_node(Vertex::Node(n));
            let mut trig = Vec::with_capacity(triggers.len());
            for t in &triggers {
                let c = *channel_index.get(t).ok_or_else(|| GraphError::UnknownTrigger {
                    node: name.clone(),
                    channel: t.clone(),
                })?;
                trig.push(c);
                topology.update_edge(channel_vertex[c], v, ());
            }
            let mut sorted_triggers = triggers.clone();
            sorted_triggers.sort();
            let read = match read {
                Ok(single) => Read::Single(channel_index.get(&single).copied()),
                Err(many) => {
                    let mut items = Vec::with_capacity(many.len());
                    for k in many {
                        let item = if let Some(c) = channel_index.get(&k) {
                            ReadItem::Channel(*c)
                        } else if let Some(m) = managed.get(&k) {
                            ReadItem::Managed(k.clone(), *m)
                        } else {
                            return Err(GraphError::UnknownRead { node: name.clone(), name: k });
                        };
                        items.push((k, item));
                    }
                    Read::Many(items)
                }
            };
            node_index.insert(name.clone(), n);
            specs.push(NodeSpec { name, triggers: trig, sorted_triggers, read });
        }
        let trigger_to_nodes = channel_vertex
            .iter()
            .map(|cv| {
                let mut ns: Vec<usize> = topology
                    .neighbors_directed(*cv, Direction::Outgoing)
                    .filter_map(|w| match topology[w] {
                        Vertex::Node(n) => Some(n),
                        Vertex::Channel(_) => None,
                    })
                    .collect();
                ns.sort_by(|a, b| specs[*a].name.cmp(&specs[*b].name));
                ns
            })
            .collect();
        let tasks_channel = channel_index.get(TASKS).copied();
        let error_keys = channels.iter().map(|(name, _)| name.clone()).collect();
        let channel_names = channels.iter().map(|(name, _)| Name::from(name.as_str())).collect();
        let node_names = specs.iter().map(|s| Name::from(s.name.as_str())).collect();
        Ok(Graph {
            channels,
            error_keys,
            channel_index,
            nodes: specs,
            node_index,
            trigger_to_nodes,
            tasks_channel,
            channel_names,
            node_names,
            topology,
        })
    }

    /// Sets the key channel `name` names in its errors; false if there is no such channel.
    pub fn set_error_key(&mut self, name: &str, key: String) -> bool {
        match self.channel_index.get(name) {
            Some(&c) => {
                self.error_keys[c] = key;
                true
            }
            None => false,
        }
    }

    /// A channel's name as the version maps hold it: the graph's own when it
    /// has such a channel.
    pub fn channel_name(&self, name: &str) -> Name {
        match self.channel_index.get(name) {
            Some(&c) => self.channel_names[c].clone(),
            None => Name::from(name),
        }
    }

    /// A node's name (or another `versions_seen` key) as the maps hold it.
    pub fn node_name(&self, name: &str) -> Name {
        match self.node_index.get(name) {
            Some(&n) => self.node_names[n].clone(),
            None => Name::from(name),
        }
    }

    pub fn triggers_any(&self, channel: usize) -> bool {
        !self.trigger_to_nodes[channel].is_empty()
    }

    /// Number of vertices in the topology (channels + nodes).
    pub fn vertex_count(&self) -> usize {
        self.topology.node_count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trigger_index_is_sorted_by_node_name() {
        let g = Graph::new(
            vec![("a".into(), Kind::LastValue), ("b".into(), Kind::LastValue)],
            vec![
                ("zed".into(), vec!["a".into()], Err(vec!["a".into()])),
                ("alpha".into(), vec!["a".into(), "b".into()], Ok("b".into())),
            ],
            &HashMap::new(),
        )
        .unwrap();
        assert_eq!(g.trigger_to_nodes[0], vec![1, 0]);
        assert_eq!(g.trigger_to_nodes[1], vec![1]);
        assert_eq!(g.vertex_count(), 4);
        assert!(matches!(
            Graph::new(
                vec![],
                vec![("n".into(), vec!["x".into()], Ok("x".into()))],
                &HashMap::new()
            ),
            Err(GraphError::UnknownTrigger { .. })
        ));
    }
}
