//! Each channel kind against the behaviour of `langgraph.channels`.

mod common;

use std::collections::BTreeSet;

use common::{int, s, TestHost, Val};
use langgraph_rs_core::{Channel, Got, Kind, PregelError};

fn upd(ch: &mut Channel<Val>, kind: &Kind, vals: Vec<Val>) -> Result<bool, PregelError<String>> {
    ch.update(kind, "k", vals, &mut TestHost::default())
}

fn value(ch: &Channel<Val>, kind: &Kind) -> Option<Val> {
    match ch.get(kind)? {
        Got::Value(v) => Some(v.clone()),
        Got::List(vs) => Some(Val::List(vs.to_vec())),
        Got::Unit => Some(Val::Str("<none>".into())),
    }
}

#[test]
fn last_value_takes_one_write_per_step() {
    let k = Kind::LastValue;
    let mut ch = Channel::default();
    assert!(!upd(&mut ch, &k, vec![]).unwrap());
    assert!(!ch.is_available(&k));
    assert!(upd(&mut ch, &k, vec![int(1)]).unwrap());
    assert_eq!(value(&ch, &k), Some(int(1)));
    match upd(&mut ch, &k, vec![int(2), int(3)]) {
        Err(PregelError::InvalidUpdate { message, concurrent }) => {
            assert!(concurrent);
            assert_eq!(
                message,
                "At key 'k': Can receive only one value per step. Use an Annotated key to handle multiple values."
            );
        }
        other => panic!("expected InvalidUpdate, got {other:?}"),
    }
    assert_eq!(value(&ch, &k), Some(int(1)), "a failed update keeps the value");
}

#[test]
fn last_value_after_finish_is_available_only_after_finish() {
    let k = Kind::LastValueAfterFinish;
    let mut ch = Channel::default();
    assert!(upd(&mut ch, &k, vec![int(1), int(2)]).unwrap());
    assert!(!ch.is_available(&k));
    assert!(!ch.consume(&k));
    assert!(ch.finish(&k));
    assert!(!ch.finish(&k), "finishing twice changes nothing");
    assert_eq!(value(&ch, &k), Some(int(2)));
    assert!(ch.consume(&k));
    assert!(ch.value.is_none() && !ch.finished);
}

#[test]
fn ephemeral_and_any_value_clear_on_an_empty_step() {
    for k in [Kind::Ephemeral { guard: true }, Kind::AnyValue] {
        let mut ch = Channel::default();
        assert!(upd(&mut ch, &k, vec![int(1)]).unwrap());
        assert!(upd(&mut ch, &k, vec![]).unwrap(), "{k:?} clears");
        assert!(!ch.is_available(&k));
        assert!(!upd(&mut ch, &k, vec![]).unwrap(), "{k:?} already empty");
    }
    let guarded = Kind::Ephemeral { guard: true };
    let mut ch = Channel::default();
    assert!(matches!(
        upd(&mut ch, &guarded, vec![int(1), int(2)]),
        Err(PregelError::InvalidUpdate { concurrent: false, .. })
    ));
    let unguarded = Kind::Ephemeral { guard: false };
    assert!(upd(&mut ch, &unguarded, vec![int(1), int(2)]).unwrap());
    assert_eq!(value(&ch, &unguarded), Some(int(2)));
    let any = Kind::AnyValue;
    assert!(upd(&mut ch, &any, vec![int(5), int(6)]).unwrap());
    assert_eq!(value(&ch, &any), Some(int(6)));
}

#[test]
fn untracked_value_keeps_its_value_on_an_empty_step() {
    let k = Kind::Untracked { guard: false };
    let mut ch = Channel::default();
    assert!(upd(&mut ch, &k, vec![int(1), int(2)]).unwrap());
    assert!(!upd(&mut ch, &k, vec![]).unwrap());
    assert_eq!(value(&ch, &k), Some(int(2)));
}

#[test]
fn topic_flattens_and_accumulates_or_not() {
    let k = Kind::Topic { accumulate: false };
    let mut ch = Channel::default();
    assert!(upd(&mut ch, &k, vec![int(1), Val::List(vec![int(2), int(3)])]).unwrap());
    assert_eq!(value(&ch, &k), Some(Val::List(vec![int(1), int(2), int(3)])));
    assert!(upd(&mut ch, &k, vec![]).unwrap(), "a new step clears the topic");
    assert!(!ch.is_available(&k));
    assert!(!upd(&mut ch, &k, vec![Val::List(vec![])]).unwrap());

    let acc = Kind::Topic { accumulate: true };
    let mut ch = Channel::default();
    assert!(upd(&mut ch, &acc, vec![int(1)]).unwrap());
    assert!(!upd(&mut ch, &acc, vec![]).unwrap());
    assert!(upd(&mut ch, &acc, vec![int(2)]).unwrap());
    assert_eq!(value(&ch, &acc), Some(Val::List(vec![int(1), int(2)])));
}

#[test]
fn binop_reduces_and_overwrites() {
    let k = Kind::BinOp { op: 0 };
    let mut ch: Channel<Val> = Channel::default();
    ch.value = Some(int(0));
    assert!(!upd(&mut ch, &k, vec![]).unwrap());
    assert!(upd(&mut ch, &k, vec![int(1), int(2)]).unwrap());
    assert_eq!(value(&ch, &k), Some(int(3)));
    // an Overwrite replaces the value and later writes of the step are dropped
    assert!(upd(
        &mut ch,
        &k,
        vec![int(10), Val::Overwrite(Box::new(int(7))), int(100)]
    )
    .unwrap());
    assert_eq!(value(&ch, &k), Some(int(7)));
    match upd(
        &mut ch,
        &k,
        vec![Val::Overwrite(Box::new(int(1))), Val::Overwrite(Box::new(int(2)))],
    ) {
        Err(PregelError::InvalidUpdate { message, concurrent: true }) => {
            assert_eq!(message, "Can receive only one Overwrite value per super-step.")
        }
        other => panic!("expected InvalidUpdate, got {other:?}"),
    }
    // an empty channel (typ() failed) starts from the first write
    let mut empty: Channel<Val> = Channel::default();
    assert!(upd(&mut empty, &k, vec![int(4), int(5)]).unwrap());
    assert_eq!(value(&empty, &k), Some(int(9)));
}

#[test]
fn binop_keeps_its_value_when_the_reducer_fails() {
    let k = Kind::BinOp { op: 0 };
    let mut ch: Channel<Val> = Channel::default();
    ch.value = Some(int(1));
    assert!(matches!(upd(&mut ch, &k, vec![s("x")]), Err(PregelError::Host(_))));
    assert_eq!(value(&ch, &k), Some(int(1)));
}

#[test]
fn named_barrier_waits_for_every_name() {
    let names: BTreeSet<String> = ["a".to_string(), "b".to_string()].into();
    let k = Kind::NamedBarrier { names: names.clone() };
    let mut ch: Channel<Val> = Channel::default();
    assert!(upd(&mut ch, &k, vec![s("a")]).unwrap());
    assert!(!upd(&mut ch, &k, vec![s("a")]).unwrap());
    assert!(!ch.is_available(&k));
    assert!(upd(&mut ch, &k, vec![s("b")]).unwrap());
    assert!(ch.is_available(&k));
    assert!(matches!(upd(&mut ch, &k, vec![s("z")]), Err(PregelError::InvalidUpdate { .. })));
    assert!(ch.consume(&k));
    assert!(ch.seen.is_empty());

    let kf = Kind::NamedBarrierAfterFinish { names };
    let mut ch: Channel<Val> = Channel::default();
    assert!(upd(&mut ch, &kf, vec![s("a"), s("b")]).unwrap());
    assert!(!ch.is_available(&kf));
    assert!(!ch.consume(&kf));
    assert!(ch.finish(&kf));
    assert!(ch.is_available(&kf));
    assert!(ch.consume(&kf));
    assert!(!ch.finished && ch.seen.is_empty());
}

#[test]
fn delta_reduces_a_batch_and_overwrites() {
    let k = Kind::Delta { op: 0 };
    let mut ch: Channel<Val> = Channel::default();
    assert!(!upd(&mut ch, &k, vec![]).unwrap());
    assert!(upd(&mut ch, &k, vec![int(1), int(2)]).unwrap());
    assert_eq!(value(&ch, &k), Some(Val::List(vec![int(1), int(2)])));
    assert!(upd(&mut ch, &k, vec![int(3), Val::Overwrite(Box::new(Val::List(vec![int(9)])))]).unwrap());
    assert_eq!(value(&ch, &k), Some(Val::List(vec![int(9)])));
    assert!(matches!(
        upd(&mut ch, &k, vec![Val::Overwrite(Box::new(int(1))), Val::Overwrite(Box::new(int(2)))]),
        Err(PregelError::InvalidUpdate { concurrent: true, .. })
    ));
    assert!(!k.clears_on_empty_update() && !k.has_finish());
}
