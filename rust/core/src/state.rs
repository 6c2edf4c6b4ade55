//! The Pregel state of one run and the superstep algorithm of
//! `langgraph.pregel._algo`: `apply_writes`, task planning, reads.

use crate::fast_hash::FastMap;

use crate::channel::{Channel, Got};
use crate::error::PregelError;
use crate::graph::{Graph, ManagedValue, Name, Read, ReadItem};
use crate::host::Host;
use crate::task_id::{task_id_with, IdScheme};
use crate::version::Version;

pub const PULL: &str = "__pregel_pull";
pub const PUSH: &str = "__pregel_push";
pub const INTERRUPT: &str = "__interrupt__";

/// Write channels that are bookkeeping, never applied to channels.
const CONTROL_WRITES: [&str; 7] = [
    "__no_writes__",
    PUSH,
    "__resume__",
    INTERRUPT,
    "__return__",
    "__error__",
    "__error_source_node__",
];

/// The writes of one finished task, as `apply_writes` takes them.
pub struct TaskWrites<V> {
    pub name: String,
    /// `task_path_str(task.path)`, the sort key.
    pub sort_key: String,
    pub triggers: Vec<String>,
    pub writes: Vec<(String, V)>,
}

/// An insertion-ordered map of versions (Python dict semantics).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Versions {
    pub entries: Vec<(Name, Version)>,
    index: FastMap<Name, usize>,
}

impl Versions {
    pub fn get(&self, k: &str) -> Option<&Version> {
        self.entry(k).map(|(_, v)| v)
    }
    /// The entry of `k`: the name as this map holds it, and its version.
    pub fn entry(&self, k: &str) -> Option<&(Name, Version)> {
        self.index.get(k).map(|i| &self.entries[*i])
    }
    pub fn insert(&mut self, k: &Name, v: Version) {
        match self.index.get(&**k) {
            Some(i) => self.entries[*i].1 = v,
            None => {
                self.index.insert(k.clone(), self.entries.len());
                self.entries.push((k.clone(), v));
            }
        }
    }
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[derive(Clone, Debug)]
pub struct State<V> {
    pub channels: Vec<Channel<V>>,
    /// Per graph channel, its version (fast path for trigger checks).
    versions: Vec<Option<Version>>,
    /// `checkpoint["channel_versions"]`, including channels the graph lacks.
    ordered: Versions,
    max_version: Option<Version>,
    /// `checkpoint["versions_seen"]`.
    pub seen: Vec<(Name, Versions)>,
    seen_index: FastMap<Name, usize>,
    /// Per `seen` entry, when it was last handed out for change (from
    /// `seen_clock`): an entry whose stamp did not move did not change.
    seen_stamps: Vec<u64>,
    seen_clock: u64,
    /// Channels a new superstep (`update([])`) or `finish()` can change right
    /// now: the per-step notifications visit only these, not every channel.
    live: LiveSet,
    /// Per-channel scratch flags of one `apply_writes` (reset after use, so a
    /// step costs what it touches, not the number of channels).
    marks: Vec<u8>,
    /// The channels whose `marks` are set.
    marked: Vec<usize>,
}

const CONSUMED: u8 = 1;
const UPDATED: u8 = 2;

/// A set of channel indexes with O(1) insert/remove and cheap iteration.
#[derive(Clone, Debug, Default)]
struct LiveSet {
    items: Vec<usize>,
    pos: Vec<Option<usize>>,
}

impl LiveSet {
    fn with_capacity(n: usize) -> LiveSet {
        LiveSet { items: Vec::new(), pos: vec![None; n] }
    }

    fn set(&mut self, c: usize, on: bool) {
        match (self.pos[c], on) {
            (None, true) => {
                self.pos[c] = Some(self.items.len());
                self.items.push(c);
            }
            (Some(i), false) => {
                self.items.swap_remove(i);
                if let Some(&moved) = self.items.get(i) {
                    self.pos[moved] = Some(i);
                }
                self.pos[c] = None;
            }
            _ => {}
        }
    }
}

/// A value read for a task input.
pub enum ReadVal<'a, V> {
    Got(Got<'a, V>),
    Managed(ManagedValue),
}

pub enum PlanInput<'a, V> {
    Single(Got<'a, V>),
    Map(Vec<(&'a str, ReadVal<'a, V>)>),
    /// A PUSH task: the `Send` packet itself.
    Packet(&'a V),
}

pub struct Plan<'a, V> {
    pub id: String,
    pub node: usize,
    /// `Some(idx)` for a PUSH (Send) task.
    pub push_idx: Option<usize>,
    pub task_ns: String,
    pub input: PlanInput<'a, V>,
}

impl<V: Clone> State<V> {
    pub fn new(graph: &Graph) -> State<V> {
        let mut st = State {
            channels: (0..graph.channels.len()).map(|_| Channel::default()).collect(),
            versions: vec![None; graph.channels.len()],
            ordered: Versions::default(),
            max_version: None,
            seen: Vec::new(),
            seen_index: FastMap::default(),
            seen_stamps: Vec::new(),
            seen_clock: 0,
            live: LiveSet::with_capacity(graph.channels.len()),
            marks: vec![0; graph.channels.len()],
            marked: Vec::new(),
        };
        st.reindex(graph);
        st
    }

    /// Re-derive which channels the per-step notifications must visit (after
    /// channel values were set from outside, e.g. restored from a checkpoint).
    pub fn reindex(&mut self, graph: &Graph) {
        for c in 0..graph.channels.len() {
            self.track(graph, c);
        }
    }

    fn track(&mut self, graph: &Graph, c: usize) {
        let kind = &graph.channels[c].1;
        let ch = &self.channels[c];
        // a barrier expecting no names can finish before anything is written
        let live = (kind.clears_on_empty_update() && ch.is_available(kind))
            || (kind.has_finish()
                && (ch.value.is_some() || !ch.seen.is_empty() || ch.can_finish(kind)));
        self.live.set(c, live);
    }

    /// Restore versions (in the checkpoint's order) and versions_seen.
    pub fn restore_versions(
        &mut self,
        graph: &Graph,
        versions: Vec<(String, Version)>,
        seen: Vec<(String, Vec<(String, Version)>)>,
    ) {
        for (k, v) in versions {
            self.set_version_by_name(graph, &k, v);
        }
        for (node, vs) in seen {
            let entry = self.seen_entry(graph, &node);
            for (k, v) in vs {
                entry.insert(&graph.channel_name(&k), v);
            }
        }
    }

    /// Replace all versions and versions_seen.
    pub fn replace_versions(
        &mut self,
        graph: &Graph,
        versions: Vec<(String, Version)>,
        seen: Vec<(String, Vec<(String, Version)>)>,
    ) {
        self.versions = vec![None; graph.channels.len()];
        self.ordered = Versions::default();
        self.max_version = None;
        self.seen.clear();
        self.seen_index.clear();
        self.seen_stamps.clear();
        self.restore_versions(graph, versions, seen);
    }

    fn set_version_by_name(&mut self, graph: &Graph, k: &str, v: Version) {
        match graph.channel_index.get(k) {
            Some(&c) => self.set_version(graph, c, &v),
            None => {
                self.bump_max(&v);
                self.ordered.insert(&Name::from(k), v);
            }
        }
    }

    fn set_version(&mut self, graph: &Graph, c: usize, v: &Version) {
        self.versions[c] = Some(v.clone());
        self.bump_max(v);
        self.ordered.insert(&graph.channel_names[c], v.clone());
    }

    fn bump_max(&mut self, v: &Version) {
        if self.max_version.as_ref().map_or(true, |m| v > m) {
            self.max_version = Some(v.clone());
        }
    }

    /// `versions_seen[node]`, made on first use (under the graph's own name
    /// when `node` is a node of the graph).
    fn seen_entry(&mut self, graph: &Graph, node: &str) -> &mut Versions {
        let i = match self.seen_index.get(node) {
            Some(i) => *i,
            None => {
                let name = graph.node_name(node);
                self.seen_index.insert(name.clone(), self.seen.len());
                self.seen.push((name, Versions::default()));
                self.seen_stamps.push(0);
                self.seen.len() - 1
            }
        };
        self.seen_clock += 1;
        self.seen_stamps[i] = self.seen_clock;
        &mut self.seen[i].1
    }

    /// Per `seen` entry, a stamp that moves whenever the entry may have
    /// changed (and only then): what saw no new version since a stamp was
    /// read still holds what it held then.
    pub fn seen_stamps(&self) -> &[u64] {
        &self.seen_stamps
    }

    pub fn versions(&self) -> &Versions {
        &self.ordered
    }

    pub fn version(&self, c: usize) -> Option<&Version> {
        self.versions[c].as_ref()
    }

    pub fn is_available(&self, graph: &Graph, c: usize) -> bool {
        self.channels[c].is_available(&graph.channels[c].1)
    }

    pub fn get(&self, graph: &Graph, c: usize) -> Option<Got<'_, V>> {
        self.channels[c].get(&graph.channels[c].1)
    }

    fn null_version(&self) -> Option<Version> {
        self.ordered.entries.first().map(|(_, v)| v.null_like())
    }

    /// versions_seen[key][c] = version for every versioned graph channel.
    pub fn mark_seen(&mut self, graph: &Graph, key: &str) {
        let pairs: Vec<(Name, Version)> = graph
            .channel_names
            .iter()
            .enumerate()
            .filter_map(|(c, name)| self.versions[c].clone().map(|v| (name.clone(), v)))
            .collect();
        let entry = self.seen_entry(graph, key);
        for (k, v) in pairs {
            entry.insert(&k, v);
        }
    }

    /// Any channel version newer than versions_seen["__interrupt__"].
    pub fn should_interrupt(&self) -> bool {
        let Some(null) = self.null_version() else {
            return false;
        };
        let seen = self.seen_index.get(INTERRUPT).map(|i| &self.seen[*i].1);
        self.ordered.entries.iter().any(|(k, v)| {
            let s = seen.and_then(|s| s.get(k)).unwrap_or(&null);
            v > s
        })
    }

    /// `_algo.apply_writes`. Returns the updated channels in update order.
    pub fn apply_writes<H: Host<V>>(
        &mut self,
        graph: &Graph,
        tasks: Vec<TaskWrites<V>>,
        host: &mut H,
    ) -> Result<Vec<usize>, PregelError<H::Error>> {
        self.apply_writes_with(graph, tasks, true, host)
    }

    /// `_algo.apply_writes` with `get_next_version=None`, as LangGraph's state
    /// snapshot applies pending writes: the channels change, no version moves,
    /// so no channel counts as updated (and `finish()` follows any triggered
    /// task).
    pub fn apply_writes_unversioned<H: Host<V>>(
        &mut self,
        graph: &Graph,
        tasks: Vec<TaskWrites<V>>,
        host: &mut H,
    ) -> Result<Vec<usize>, PregelError<H::Error>> {
        self.apply_writes_with(graph, tasks, false, host)
    }

    fn apply_writes_with<H: Host<V>>(
        &mut self,
        graph: &Graph,
        tasks: Vec<TaskWrites<V>>,
        versioned: bool,
        host: &mut H,
    ) -> Result<Vec<usize>, PregelError<H::Error>> {
        let mut order: Vec<usize> = (0..tasks.len()).collect();
        order.sort_by(|a, b| tasks[*a].sort_key.cmp(&tasks[*b].sort_key));
        let bump_step = tasks.iter().any(|t| !t.triggers.is_empty());
        for &i in &order {
            let t = &tasks[i];
            let pairs: Vec<(Name, Version)> = t
                .triggers
                .iter()
                .filter_map(|c| self.ordered.entry(c).map(|(k, v)| (k.clone(), v.clone())))
                .collect();
            let entry = self.seen_entry(graph, &t.name);
            for (k, v) in pairs {
                entry.insert(&k, v);
            }
        }
        crate::fault::check(crate::fault::Op::ApplyWrites);
        let next =
            if versioned { Some(host.next_version(self.max_version.as_ref())?) } else { None };
        // consume the channels that triggered the tasks
        // an earlier call that failed half-way may have left marks set
        self.clear_marks();
        let mut touched = std::mem::take(&mut self.marked);
        for &i in &order {
            for t in &tasks[i].triggers {
                if let Some(&c) = graph.channel_index.get(t) {
                    if self.marks[c] & CONSUMED == 0 {
                        self.marks[c] |= CONSUMED;
                        touched.push(c);
                        let consumed_now = self.channels[c].consume(&graph.channels[c].1);
                        self.track(graph, c);
                        if let (true, Some(next)) = (consumed_now, &next) {
                            self.set_version(graph, c, next);
                        }
                    }
                }
            }
        }
        // group writes by channel, in first-write order
        let mut pending: Vec<(usize, Vec<V>)> = Vec::new();
        let mut slot: FastMap<usize, usize> = FastMap::default();
        let mut tasks = tasks;
        for &i in &order {
            let writes = std::mem::take(&mut tasks[i].writes);
            for (chan, val) in writes {
                if CONTROL_WRITES.contains(&chan.as_str()) {
                    continue;
                }
                match graph.channel_index.get(&chan) {
                    Some(&c) => {
                        let s = *slot.entry(c).or_insert_with(|| {
                            pending.push((c, Vec::new()));
                            pending.len() - 1
                        });
                        pending[s].1.push(val);
                    }
                    None => host.unknown_channel(i, &chan),
                }
            }
        }
        let mut updated: Vec<usize> = Vec::new();
        for (c, vals) in pending {
            let (key, kind) = (&graph.error_keys[c], &graph.channels[c].1);
            let changed = self.channels[c].update(kind, key, vals, host);
            self.track(graph, c);
            let changed = match changed {
                Ok(changed) => changed,
                Err(e) => {
                    self.marked = touched;
                    return Err(e);
                }
            };
            if let (true, Some(next)) = (changed, &next) {
                self.set_version(graph, c, next);
                if self.channels[c].is_available(kind) && self.marks[c] & UPDATED == 0 {
                    self.marks[c] |= UPDATED;
                    touched.push(c);
                    updated.push(c);
                }
            }
        }
        let result =
            self.notify_step(graph, bump_step, next.as_ref(), &mut updated, &mut touched, host);
        self.marked = touched;
        self.clear_marks();
        result.map(|()| updated)
    }

    fn clear_marks(&mut self) {
        for c in self.marked.drain(..) {
            self.marks[c] = 0;
        }
    }

    /// The live channels matching `pred` (a copy: notifying changes the set).
    fn live_where(&self, graph: &Graph, pred: fn(&crate::channel::Kind) -> bool) -> Vec<usize> {
        self.live.items.iter().copied().filter(|c| pred(&graph.channels[*c].1)).collect()
    }

    /// The end of `apply_writes`: a new step for the channels no task wrote, and
    /// `finish()` when nothing triggers a node any more.
    fn notify_step<H: Host<V>>(
        &mut self,
        graph: &Graph,
        bump_step: bool,
        next: Option<&Version>,
        updated: &mut Vec<usize>,
        touched: &mut Vec<usize>,
        host: &mut H,
    ) -> Result<(), PregelError<H::Error>> {
        if bump_step {
            for c in self.live_where(graph, crate::channel::Kind::clears_on_empty_update) {
                let (key, kind) = (&graph.error_keys[c], &graph.channels[c].1);
                if self.marks[c] & UPDATED != 0 || !self.channels[c].is_available(kind) {
                    continue;
                }
                let changed = self.channels[c].update(kind, key, Vec::new(), host);
                self.track(graph, c);
                if let (true, Some(next)) = (changed?, next) {
                    self.set_version(graph, c, next);
                    if self.channels[c].is_available(kind) {
                        self.marks[c] |= UPDATED;
                        touched.push(c);
                        updated.push(c);
                    }
                }
            }
            if updated.iter().all(|c| !graph.triggers_any(*c)) {
                for c in self.live_where(graph, crate::channel::Kind::has_finish) {
                    let kind = &graph.channels[c].1;
                    if let (true, Some(next)) = (self.channels[c].finish(kind), next) {
                        self.set_version(graph, c, next);
                        if self.channels[c].is_available(kind) && self.marks[c] & UPDATED == 0 {
                            self.marks[c] |= UPDATED;
                            touched.push(c);
                            updated.push(c);
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// `_algo.prepare_next_tasks` (the planning half: ids, triggers, inputs).
    pub fn prepare<'a, H: Host<V>>(
        &'a self,
        graph: &'a Graph,
        checkpoint_id: &[u8],
        parent_ns: &str,
        step: i64,
        stop: i64,
        updated: Option<&[usize]>,
        scheme: IdScheme,
        host: &mut H,
    ) -> Result<Vec<Plan<'a, V>>, PregelError<H::Error>> {
        crate::fault::check(crate::fault::Op::Prepare);
        let step_str = step.to_string();
        let mut plans = Vec::new();
        let ns_of = |name: &str| {
            if parent_ns.is_empty() {
                name.to_string()
            } else {
                format!("{parent_ns}|{name}")
            }
        };
        if let Some(tc) = graph.tasks_channel {
            if let Some(Got::List(packets)) = self.get(graph, tc) {
                for (idx, packet) in packets.iter().enumerate() {
                    let Some(node_name) = host.send_node(packet)? else {
                        host.warn_invalid_packet(packet);
                        continue;
                    };
                    let Some(&node) = graph.node_index.get(&node_name) else {
                        host.warn(&format!(
                            "Ignoring unknown node name {node_name} in pending sends"
                        ));
                        continue;
                    };
                    let ns = ns_of(&node_name);
                    let idx_s = idx.to_string();
                    let id = task_id_with(
                        scheme,
                        checkpoint_id,
                        &[ns.as_str(), &step_str, &node_name, PUSH, &idx_s],
                    );
                    plans.push(Plan {
                        task_ns: format!("{ns}:{id}"),
                        id,
                        node,
                        push_idx: Some(idx),
                        input: PlanInput::Packet(packet),
                    });
                }
            }
        }
        let Some(null) = self.null_version() else {
            return Ok(plans);
        };
        let candidates: Vec<usize> = match updated {
            Some(upd) if !upd.is_empty() => {
                let mut out: Vec<usize> =
                    upd.iter().flat_map(|&c| graph.trigger_to_nodes[c].iter().copied()).collect();
                out.sort_by(|a, b| graph.nodes[*a].name.cmp(&graph.nodes[*b].name));
                out.dedup();
                out
            }
            _ => (0..graph.nodes.len()).collect(),
        };
        for n in candidates {
            let spec = &graph.nodes[n];
            let seen = self.seen_index.get(spec.name.as_str()).map(|i| &self.seen[*i].1);
            let triggered = spec.triggers.iter().any(|&c| {
                self.is_available(graph, c)
                    && match seen {
                        None => true,
                        Some(seen) => {
                            let v = self.versions[c].as_ref().unwrap_or(&null);
                            let s = seen.get(&graph.channels[c].0).unwrap_or(&null);
                            v > s
                        }
                    }
            });
            if !triggered {
                continue;
            }
            let input = match &spec.read {
                Read::Single(None) => continue,
                Read::Single(Some(c)) => match self.get(graph, *c) {
                    Some(got) => PlanInput::Single(got),
                    None => continue,
                },
                Read::Many(items) => {
                    let mut vals = Vec::with_capacity(items.len());
                    for (name, item) in items {
                        match item {
                            ReadItem::Channel(c) => {
                                if let Some(got) = self.get(graph, *c) {
                                    vals.push((name.as_str(), ReadVal::Got(got)));
                                }
                            }
                            ReadItem::Managed(_, m) => {
                                vals.push((name.as_str(), ReadVal::Managed(m.value(step, stop))))
                            }
                        }
                    }
                    PlanInput::Map(vals)
                }
            };
            let ns = ns_of(&spec.name);
            let mut parts: Vec<&str> = vec![ns.as_str(), &step_str, &spec.name, PULL];
            parts.extend(spec.sorted_triggers.iter().map(|s| s.as_str()));
            let id = task_id_with(scheme, checkpoint_id, &parts);
            plans.push(Plan { task_ns: format!("{ns}:{id}"), id, node: n, push_idx: None, input });
        }
        Ok(plans)
    }

    /// A copy of channel `c` with `writes` applied (`local_read(fresh=True)`).
    pub fn fresh_copy<H: Host<V>>(
        &self,
        graph: &Graph,
        c: usize,
        writes: Vec<V>,
        host: &mut H,
    ) -> Result<Channel<V>, PregelError<H::Error>> {
        let mut ch = self.channels[c].clone();
        let (key, kind) = (&graph.error_keys[c], &graph.channels[c].1);
        ch.update(kind, key, writes, host)?;
        Ok(ch)
    }
}
