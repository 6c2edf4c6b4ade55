//! The job queue of the engine's task threads (`langgraph_rs/_task_pool.py`).
//!
//! A sync step's tasks run on worker threads. Where LangGraph's fresh per-run
//! pool starts a thread for a task, its `submit` returns only once that thread
//! runs: the task runs (until it finishes or blocks) before the next one is
//! submitted, which LangGraph's runner shows when a task fails at once. The
//! pool emulates that wait, and on a small fan-out the thread handoffs cost
//! more than the tasks.
//!
//! Handing such a job over from Python costs a wasted wake-up: the submitter
//! wakes the worker while it holds the GIL, so the worker wakes only to wait
//! for the GIL. Here a waiting `put` queues the job and wakes the worker with
//! the GIL released, and is told the job started once the worker holds the
//! GIL; taking the GIL back then waits, as before, until the job finishes or
//! blocks. (A spin before sleeping was tried: no measurable gain.) A `put`
//! that does not wait keeps the GIL, so which thread runs next is what it is
//! under LangGraph's executor (a checkpoint saved in the background lands
//! where LangGraph's lands among the saver's calls).

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use pyo3::prelude::*;
use pyo3::{PyTraverseError, PyVisit};

use crate::boundary::guarded;

/// Set once a worker holding the GIL took the job.
#[derive(Default)]
struct Started {
    done: Mutex<bool>,
    cond: Condvar,
}

impl Started {
    fn set(&self) {
        *lock(&self.done) = true;
        self.cond.notify_all();
    }

    fn wait(&self) {
        let mut done = lock(&self.done);
        while !*done {
            done = match self.cond.wait(done) {
                Ok(g) => g,
                Err(e) => e.into_inner(),
            };
        }
    }
}

/// A mutex's guard; a poisoned one is still usable here (nothing it guards
/// is left half-changed: a push or a pop).
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

struct Job {
    call: Py<PyAny>,
    started: Option<Arc<Started>>,
}

/// Jobs for the task threads, first in first out.
#[pyclass(frozen, module = "langgraph_rs._native")]
pub struct JobQueue {
    jobs: Mutex<VecDeque<Job>>,
    ready: Condvar,
}

#[pymethods]
impl JobQueue {
    #[new]
    fn new() -> Self {
        JobQueue {
            jobs: Mutex::new(VecDeque::new()),
            ready: Condvar::new(),
        }
    }

    /// Queues `job` (a callable) and wakes a waiting thread. With
    /// `wait_started`, that is done with the GIL released, and returns once a
    /// thread took the job; the caller's GIL is then taken back when the job
    /// lets go of it. Without, the GIL is kept throughout, as a
    /// `queue.SimpleQueue.put` keeps it: no other thread runs in between.
    #[pyo3(signature = (job, wait_started = false))]
    fn put(&self, py: Python<'_>, job: Py<PyAny>, wait_started: bool) -> PyResult<()> {
        guarded("JobQueue.put", || {
            if !wait_started {
                // (the lock is never held while its holder waits for the GIL)
                lock(&self.jobs).push_back(Job {
                    call: job,
                    started: None,
                });
                self.ready.notify_one();
                return Ok(());
            }
            let started = Arc::new(Started::default());
            let job = Job {
                call: job,
                started: Some(started.clone()),
            };
            py.detach(|| {
                lock(&self.jobs).push_back(job);
                self.ready.notify_one();
                started.wait();
            });
            Ok(())
        })
    }

    /// The next job, waiting up to `timeout` seconds (the GIL released
    /// meanwhile) when there is none yet; None when none came.
    fn take(&self, py: Python<'_>, timeout: f64) -> PyResult<Option<Py<PyAny>>> {
        guarded("JobQueue.take", || {
            let wait = Duration::try_from_secs_f64(timeout.max(0.0)).unwrap_or(Duration::MAX);
            let deadline = Instant::now().checked_add(wait);
            loop {
                // a job is popped with the GIL held, as `queue.SimpleQueue.get`
                // pops it: of the threads woken, the first to hold the GIL
                // runs the first job, and a job already queued is taken with
                // no other thread running first
                if let Some(job) = lock(&self.jobs).pop_front() {
                    if let Some(s) = &job.started {
                        s.set(); // the job has started: this thread holds the GIL
                    }
                    return Ok(Some(job.call));
                }
                let queued = py.detach(|| {
                    let mut jobs = lock(&self.jobs);
                    loop {
                        if !jobs.is_empty() {
                            return true;
                        }
                        let left = match deadline {
                            Some(d) => match d.checked_duration_since(Instant::now()) {
                                Some(left) if !left.is_zero() => left,
                                _ => return false,
                            },
                            None => Duration::from_secs(3600),
                        };
                        jobs = match self.ready.wait_timeout(jobs, left) {
                            Ok((g, _)) => g,
                            Err(e) => e.into_inner().0,
                        };
                    }
                });
                if !queued {
                    return Ok(None);
                }
            }
        })
    }

    fn __len__(&self) -> usize {
        lock(&self.jobs).len()
    }

    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        // (a queue being pushed to or popped from is skipped this time: its
        // jobs are taken within microseconds)
        if let Ok(jobs) = self.jobs.try_lock() {
            for job in jobs.iter() {
                visit.call(&job.call)?;
            }
        }
        Ok(())
    }
}
