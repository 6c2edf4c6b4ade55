#![allow(dead_code)]
//! A host for tests: values are `Val`s, the reducer with index 0 adds ints.

use std::collections::BTreeSet;

use langgraph_rs_core::{Host, Version};

#[derive(Clone, Debug, PartialEq)]
pub enum Val {
    Int(i64),
    Str(String),
    List(Vec<Val>),
    Overwrite(Box<Val>),
    Send(String, Box<Val>),
}

#[derive(Default)]
pub struct TestHost {
    pub warnings: Vec<String>,
    pub versions_asked: Vec<Option<Version>>,
}

impl Host<Val> for TestHost {
    type Error = String;

    fn reduce(&mut self, op: usize, acc: Val, value: Val) -> Result<Val, String> {
        match (op, acc, value) {
            (0, Val::Int(a), Val::Int(b)) => Ok(Val::Int(a + b)),
            (1, Val::List(mut a), Val::List(b)) => {
                a.extend(b);
                Ok(Val::List(a))
            }
            (_, a, b) => Err(format!("cannot reduce {a:?} and {b:?}")),
        }
    }

    fn delta_reduce(&mut self, _op: usize, base: Option<Val>, values: Vec<Val>) -> Result<Val, String> {
        let mut acc = match base {
            Some(Val::List(v)) => v,
            None => vec![],
            Some(other) => return Err(format!("bad base {other:?}")),
        };
        acc.extend(values);
        Ok(Val::List(acc))
    }

    fn delta_reset(&mut self, _op: usize, value: Val) -> Result<Val, String> {
        Ok(value)
    }

    fn overwrite(&mut self, value: &Val) -> Result<Option<Val>, String> {
        Ok(match value {
            Val::Overwrite(v) => Some((**v).clone()),
            _ => None,
        })
    }

    fn flatten(&mut self, value: Val) -> Result<Vec<Val>, String> {
        Ok(match value {
            Val::List(vs) => vs,
            v => vec![v],
        })
    }

    fn name_of(&mut self, value: &Val) -> Result<Option<String>, String> {
        Ok(match value {
            Val::Str(s) => Some(s.clone()),
            _ => None,
        })
    }

    fn barrier_error(&mut self, key: &str, value: &Val, names: &BTreeSet<String>) -> String {
        format!("At key '{key}': Value {value:?} not in {names:?}")
    }

    fn next_version(&mut self, current: Option<&Version>) -> Result<Version, String> {
        self.versions_asked.push(current.cloned());
        Ok(match current {
            Some(Version::Int(i)) => Version::Int(i + 1),
            None => Version::Int(1),
            Some(Version::Str(_)) => return Err("str".into()),
        })
    }

    fn unknown_channel(&mut self, task: usize, channel: &str) {
        self.warnings.push(format!("task {task} wrote to unknown channel {channel}"));
    }

    fn send_node(&mut self, value: &Val) -> Result<Option<String>, String> {
        Ok(match value {
            Val::Send(n, _) => Some(n.clone()),
            _ => None,
        })
    }

    fn warn_invalid_packet(&mut self, value: &Val) {
        self.warnings.push(format!("invalid packet {value:?}"));
    }

    fn warn(&mut self, message: &str) {
        self.warnings.push(message.to_string());
    }
}

pub fn int(i: i64) -> Val {
    Val::Int(i)
}

pub fn s(x: &str) -> Val {
    Val::Str(x.to_string())
}
