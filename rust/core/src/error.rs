//! The one error type of the core; the binding maps each case to LangGraph's
//! Python exception.

#[derive(Debug)]
pub enum PregelError<E> {
    /// `langgraph.errors.InvalidUpdateError`; `concurrent` marks LangGraph's
    /// INVALID_CONCURRENT_GRAPH_UPDATE messages (built with `create_error_message`).
    InvalidUpdate { message: String, concurrent: bool },
    /// `langgraph.errors.EmptyChannelError`.
    EmptyChannel,
    /// A name the graph does not know.
    UnknownChannel(String),
    /// An error raised by host code (a reducer, `get_next_version`).
    Host(E),
}

impl<E> From<E> for PregelError<E> {
    fn from(e: E) -> Self {
        PregelError::Host(e)
    }
}
