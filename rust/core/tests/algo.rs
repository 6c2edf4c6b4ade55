//! `apply_writes` and task planning against `langgraph.pregel._algo`.

mod common;

use std::collections::HashMap;

use common::{int, s, TestHost, Val};
use langgraph_rs_core::task_id::{checkpoint_id_bytes, task_id};
use langgraph_rs_core::{Graph, Kind, Managed, PlanInput, ReadVal, State, TaskWrites, Version};

const CKPT: &str = "1ef4f797-8335-6428-8001-8a1503f9b875";

/// `__start__ -> a -> b`, plus a `x` value channel, an ephemeral and a barrier.
fn graph() -> Graph {
    let mut managed = HashMap::new();
    managed.insert("remaining".to_string(), Managed::RemainingSteps);
    Graph::new(
        vec![
            ("__start__".into(), Kind::Ephemeral { guard: true }),
            ("x".into(), Kind::BinOp { op: 0 }),
            ("branch:to:a".into(), Kind::Ephemeral { guard: false }),
            ("branch:to:b".into(), Kind::Ephemeral { guard: false }),
            ("__pregel_tasks".into(), Kind::Topic { accumulate: false }),
            ("done".into(), Kind::LastValueAfterFinish),
        ],
        vec![
            ("__start__".into(), vec!["__start__".into()], Ok("__start__".into())),
            (
                "a".into(),
                vec!["branch:to:a".into()],
                Err(vec!["x".into(), "remaining".into()]),
            ),
            ("b".into(), vec!["branch:to:b".into()], Err(vec!["x".into()])),
        ],
        &managed,
    )
    .unwrap()
}

fn task(name: &str, key: &str, triggers: &[&str], writes: Vec<(&str, Val)>) -> TaskWrites<Val> {
    TaskWrites {
        name: name.into(),
        sort_key: key.into(),
        triggers: triggers.iter().map(|t| t.to_string()).collect(),
        writes: writes.into_iter().map(|(c, v)| (c.to_string(), v)).collect(),
    }
}

fn names(g: &Graph, cs: &[usize]) -> Vec<String> {
    cs.iter().map(|c| g.channels[*c].0.clone()).collect()
}

#[test]
fn a_run_of_supersteps() {
    let g = graph();
    let mut host = TestHost::default();
    let mut st: State<Val> = State::new(&g);
    st.channels[1].value = Some(int(0));
    let ns = checkpoint_id_bytes(CKPT).unwrap();

    // nothing versioned yet: no tasks
    assert!(st.prepare(&g, &ns, "", -1, 10, None, Default::default(), &mut host).unwrap().is_empty());

    // the input: applied with no triggers, so no step bump (ephemerals kept)
    let upd = st
        .apply_writes(&g, vec![task("__input__", "", &[], vec![("__start__", int(5))])], &mut host)
        .unwrap();
    assert_eq!(names(&g, &upd), vec!["__start__"]);
    assert_eq!(st.versions().get("__start__"), Some(&Version::Int(1)));

    let plans = st.prepare(&g, &ns, "", 0, 10, Some(&upd), Default::default(), &mut host).unwrap();
    assert_eq!(plans.len(), 1);
    assert_eq!(g.nodes[plans[0].node].name, "__start__");
    assert_eq!(
        plans[0].id,
        task_id(&ns, &["__start__", "0", "__start__", "__pregel_pull", "__start__"])
    );
    assert_eq!(plans[0].task_ns, format!("__start__:{}", plans[0].id));
    assert!(matches!(plans[0].input, PlanInput::Single(_)));
    drop(plans);

    // __start__ writes x and routes to a; its trigger is consumed
    let upd = st
        .apply_writes(
            &g,
            vec![task(
                "__start__",
                "~__pregel_pull, __start__",
                &["__start__"],
                vec![("x", int(5)), ("branch:to:a", Val::Str("__start__".into()))],
            )],
            &mut host,
        )
        .unwrap();
    // x updated, branch:to:a updated, __start__ cleared by the step bump (not available)
    assert_eq!(names(&g, &upd), vec!["x", "branch:to:a"]);
    assert!(!st.is_available(&g, 0));
    assert_eq!(st.versions().get("__start__"), Some(&Version::Int(2)));
    assert_eq!(st.seen.iter().find(|(n, _)| &**n == "__start__").unwrap().1.get("__start__"), Some(&Version::Int(1)));

    let plans = st.prepare(&g, &ns, "", 1, 10, Some(&upd), Default::default(), &mut host).unwrap();
    assert_eq!(plans.len(), 1, "only a is triggered");
    match &plans[0].input {
        PlanInput::Map(vals) => {
            assert_eq!(vals.len(), 2);
            assert_eq!(vals[0].0, "x");
            assert!(matches!(vals[1], ("remaining", ReadVal::Managed(langgraph_rs_core::ManagedValue::Int(9)))));
        }
        _ => panic!("a reads a dict"),
    }
    drop(plans);

    // two tasks, applied in path order whatever the order given; an unknown
    // channel is warned about and ignored
    let upd = st
        .apply_writes(
            &g,
            vec![
                task("a", "~__pregel_pull, a", &["branch:to:a"], vec![("x", int(2)), ("nope", int(0))]),
                task("a2", "~__pregel_pull, 0", &[], vec![("x", int(1))]),
            ],
            &mut host,
        )
        .unwrap();
    assert_eq!(names(&g, &upd), vec!["x"]);
    assert_eq!(host.warnings, vec!["task 0 wrote to unknown channel nope"]);
    match st.get(&g, 1) {
        Some(langgraph_rs_core::Got::Value(v)) => assert_eq!(v, &int(8)),
        _ => panic!("x is set"),
    }
    // every bump asked for the next version from the current max
    assert_eq!(
        host.versions_asked,
        vec![None, Some(Version::Int(1)), Some(Version::Int(2))]
    );
}

#[test]
fn sends_become_push_tasks_in_order() {
    let g = graph();
    let mut host = TestHost::default();
    let mut st: State<Val> = State::new(&g);
    let ns = checkpoint_id_bytes(CKPT).unwrap();
    st.apply_writes(
        &g,
        vec![task(
            "__input__",
            "",
            &[],
            vec![(
                "__pregel_tasks",
                Val::List(vec![
                    Val::Send("b".into(), Box::new(int(1))),
                    int(3),
                    Val::Send("zzz".into(), Box::new(int(2))),
                    Val::Send("a".into(), Box::new(int(4))),
                ]),
            )],
        )],
        &mut host,
    )
    .unwrap();
    let plans = st.prepare(&g, &ns, "parent:1", 3, 10, None, Default::default(), &mut host).unwrap();
    let pushes: Vec<(String, Option<usize>)> =
        plans.iter().map(|p| (g.nodes[p.node].name.clone(), p.push_idx)).collect();
    assert_eq!(pushes, vec![("b".to_string(), Some(0)), ("a".to_string(), Some(3))]);
    assert_eq!(
        plans[0].id,
        task_id(&ns, &["parent:1|b", "3", "b", "__pregel_push", "0"])
    );
    assert_eq!(host.warnings.len(), 2, "a non-Send packet and an unknown node are skipped");
}

#[test]
fn finish_runs_when_nothing_is_triggered() {
    let g = graph();
    let mut host = TestHost::default();
    let mut st: State<Val> = State::new(&g);
    st.apply_writes(&g, vec![task("__input__", "", &[], vec![("done", s("v"))])], &mut host)
        .unwrap();
    assert!(!st.is_available(&g, 5));
    // a step whose updates trigger no node finishes the after-finish channels
    let upd = st
        .apply_writes(&g, vec![task("b", "~__pregel_pull, b", &["branch:to:b"], vec![])], &mut host)
        .unwrap();
    assert_eq!(names(&g, &upd), vec!["done"]);
    assert!(st.is_available(&g, 5));
}

#[test]
fn a_barrier_expecting_no_names_finishes_unwritten() {
    // NamedBarrierValueAfterFinish(str, set()): nothing is ever written to it, and
    // the step that triggers no node finishes it all the same (a new version)
    let g = Graph::new(
        vec![
            ("__start__".into(), Kind::Ephemeral { guard: true }),
            ("gate".into(), Kind::NamedBarrierAfterFinish { names: Default::default() }),
        ],
        vec![("__start__".into(), vec!["__start__".into()], Ok("__start__".into()))],
        &HashMap::new(),
    )
    .unwrap();
    let mut host = TestHost::default();
    let mut st: State<Val> = State::new(&g);
    assert!(!st.is_available(&g, 1));
    let upd = st
        .apply_writes(&g, vec![task("__start__", "~__pregel_pull, __start__", &["__start__"], vec![])], &mut host)
        .unwrap();
    assert_eq!(names(&g, &upd), vec!["gate"]);
    assert!(st.is_available(&g, 1));
}

#[test]
fn interrupt_bookkeeping() {
    let g = graph();
    let mut host = TestHost::default();
    let mut st: State<Val> = State::new(&g);
    assert!(!st.should_interrupt());
    st.apply_writes(&g, vec![task("__input__", "", &[], vec![("x", int(1))])], &mut host)
        .unwrap();
    assert!(st.should_interrupt());
    st.mark_seen(&g, "__interrupt__");
    assert!(!st.should_interrupt());
}

#[test]
fn restored_versions_keep_unknown_channels() {
    let g = graph();
    let mut st: State<Val> = State::new(&g);
    st.restore_versions(
        &g,
        vec![("gone".into(), Version::Int(7)), ("x".into(), Version::Int(3))],
        vec![("a".into(), vec![("x".into(), Version::Int(3))])],
    );
    let keys: Vec<&str> = st.versions().entries.iter().map(|(k, _)| &**k).collect();
    assert_eq!(keys, vec!["gone", "x"]);
    let mut host = TestHost::default();
    st.apply_writes(&g, vec![task("__input__", "", &[], vec![("x", int(1))])], &mut host)
        .unwrap();
    // the next version comes from the max over all versions, unknown ones included
    assert_eq!(host.versions_asked, vec![Some(Version::Int(7))]);
    assert_eq!(st.versions().get("x"), Some(&Version::Int(8)));
}

#[test]
fn a_failed_apply_leaves_the_next_one_correct() {
    let g = Graph::new(
        vec![("v".into(), Kind::LastValue), ("e".into(), Kind::Ephemeral { guard: false })],
        vec![("n".into(), vec!["e".into()], Ok("v".into()))],
        &HashMap::new(),
    )
    .unwrap();
    let mut host = TestHost::default();
    let mut st: State<Val> = State::new(&g);
    // the ephemeral is written, then the LastValue fails: two writes in one step
    let err = st.apply_writes(
        &g,
        vec![task("t", "a", &["x"], vec![("e", int(1)), ("v", int(1)), ("v", int(2))])],
        &mut host,
    );
    assert!(err.is_err());
    // a later step marks and reports exactly what it updates
    let upd = st
        .apply_writes(&g, vec![task("t", "a", &["x"], vec![("v", int(3))])], &mut host)
        .unwrap();
    assert_eq!(names(&g, &upd), vec!["v"]);
    assert!(!st.is_available(&g, 1), "the new step cleared the ephemeral");
}

#[test]
fn a_nodes_seen_stamp_moves_only_when_it_ran() {
    let g = graph();
    let mut host = TestHost::default();
    let mut st: State<Val> = State::new(&g);
    st.apply_writes(&g, vec![task("__start__", "s", &["__start__"], vec![("branch:to:a", int(1))])], &mut host)
        .unwrap();
    let after_start = st.seen_stamps().to_vec();
    assert_eq!(after_start.len(), 1, "one node has run");
    st.apply_writes(&g, vec![task("a", "a", &["branch:to:a"], vec![("branch:to:b", int(1))])], &mut host)
        .unwrap();
    let after_a = st.seen_stamps().to_vec();
    assert_eq!(after_a[0], after_start[0], "__start__ did not run again: its entry is unchanged");
    st.apply_writes(&g, vec![task("__start__", "s", &["__start__"], vec![])], &mut host).unwrap();
    assert_ne!(st.seen_stamps()[0], after_a[0], "__start__ ran: its entry may have changed");
    assert_eq!(st.seen_stamps()[1], after_a[1], "a did not run again");
}

#[test]
fn unversioned_writes_change_channels_but_no_version() {
    // `apply_writes(..., get_next_version=None)`, as a state snapshot applies
    // pending writes: values change, versions stay, nothing counts as
    // updated, so a triggered task's step clears the ephemeral channels it
    // wrote and finishes the after-finish ones
    let g = graph();
    let mut host = TestHost::default();
    let mut st: State<Val> = State::new(&g);
    st.apply_writes(&g, vec![task("__input__", "", &[], vec![("x", int(1))])], &mut host).unwrap();
    let before: Vec<Option<Version>> = (0..g.channels.len()).map(|c| st.version(c).cloned()).collect();
    let upd = st
        .apply_writes_unversioned(
            &g,
            vec![task("a", "~__pregel_pull, a", &["branch:to:a"], vec![("x", int(2)), ("branch:to:b", s("a")), ("done", s("v"))])],
            &mut host,
        )
        .unwrap();
    assert!(upd.is_empty());
    let after: Vec<Option<Version>> = (0..g.channels.len()).map(|c| st.version(c).cloned()).collect();
    assert_eq!(before, after);
    assert!(st.is_available(&g, 1), "x was written");
    assert!(!st.is_available(&g, 3), "the ephemeral write is cleared by the step's empty update");
    assert!(st.is_available(&g, 5), "finish() ran: no channel counted as updated");
    // the versioned twin keeps the ephemeral write and does not finish
    let mut st2: State<Val> = State::new(&g);
    st2.apply_writes(&g, vec![task("__input__", "", &[], vec![("x", int(1))])], &mut host).unwrap();
    st2.apply_writes(
        &g,
        vec![task("a", "~__pregel_pull, a", &["branch:to:a"], vec![("branch:to:b", s("a")), ("done", s("v"))])],
        &mut host,
    )
    .unwrap();
    assert!(st2.is_available(&g, 3));
    assert!(!st2.is_available(&g, 5));
}
