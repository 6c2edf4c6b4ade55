//! The one-shot panic hook (`fault`). Its own test binary, and one test
//! function: the hook is process-wide, so nothing else may run beside it.

mod common;

use std::panic::{catch_unwind, AssertUnwindSafe};

use common::{int, TestHost, Val};
use langgraph_rs_core::fault::{self, Op};
use langgraph_rs_core::task_id::checkpoint_id_bytes;
use langgraph_rs_core::{Graph, Kind, State, TaskWrites};

fn graph() -> Graph {
    Graph::new(
        vec![
            ("__start__".into(), Kind::Ephemeral { guard: true }),
            ("x".into(), Kind::LastValue),
        ],
        vec![("__start__".into(), vec!["__start__".into()], Ok("__start__".into()))],
        &Default::default(),
    )
    .unwrap()
}

fn input(v: i64) -> Vec<TaskWrites<Val>> {
    vec![TaskWrites {
        name: "__input__".into(),
        sort_key: String::new(),
        triggers: vec![],
        writes: vec![("__start__".into(), int(v)), ("x".into(), int(v))],
    }]
}

fn panic_message(payload: Box<dyn std::any::Any + Send>) -> String {
    match payload.downcast::<String>() {
        Ok(s) => *s,
        Err(p) => p.downcast::<&str>().map(|s| s.to_string()).unwrap_or_default(),
    }
}

#[test]
fn an_armed_operation_panics_once() {
    let g = graph();
    let ns = checkpoint_id_bytes("1ef4f797-8335-6428-8001-8a1503f9b875").unwrap();
    let mut host = TestHost::default();

    assert_eq!(Op::from_name("apply_writes"), Some(Op::ApplyWrites));
    assert_eq!(Op::from_name("nope"), None);
    for op in Op::ALL {
        assert_eq!(Op::from_name(op.name()), Some(op));
    }

    // unarmed: nothing happens
    assert_eq!(fault::armed(), None);
    let mut st: State<Val> = State::new(&g);
    st.apply_writes(&g, input(1), &mut host).unwrap();
    fault::check(Op::Checkpoint);

    // armed at apply_writes: prepare and the other ops are unaffected, the next
    // apply_writes panics with the op's name, and the hook is spent
    fault::arm(Some(Op::ApplyWrites));
    assert_eq!(fault::armed(), Some(Op::ApplyWrites));
    fault::check(Op::Checkpoint);
    st.prepare(&g, &ns, "", 0, 10, None, Default::default(), &mut host).unwrap();
    let mut broken = st.clone();
    let err = catch_unwind(AssertUnwindSafe(|| broken.apply_writes(&g, input(2), &mut host)))
        .expect_err("apply_writes panics");
    assert_eq!(panic_message(err), "injected panic in apply_writes (test hook)");
    assert_eq!(fault::armed(), None);
    st.apply_writes(&g, input(3), &mut host).unwrap();
    match st.get(&g, 1) {
        Some(langgraph_rs_core::Got::Value(v)) => assert_eq!(v, &int(3)),
        _ => panic!("x is set"),
    }

    // armed at prepare
    fault::arm(Some(Op::Prepare));
    let err = catch_unwind(AssertUnwindSafe(|| {
        st.prepare(&g, &ns, "", 0, 10, None, Default::default(), &mut host).map(|p| p.len())
    }))
    .expect_err("prepare panics");
    assert_eq!(panic_message(err), "injected panic in prepare (test hook)");
    assert_eq!(st.prepare(&g, &ns, "", 0, 10, None, Default::default(), &mut host).unwrap().len(), 1);

    // armed at checkpoint (the embedder's check), then disarmed before it fires
    fault::arm(Some(Op::Checkpoint));
    let err = catch_unwind(|| fault::check(Op::Checkpoint)).expect_err("checkpoint panics");
    assert_eq!(panic_message(err), "injected panic in checkpoint (test hook)");
    fault::arm(Some(Op::Checkpoint));
    fault::arm(None);
    fault::check(Op::Checkpoint);
    assert_eq!(fault::armed(), None);
}
