//! Calls waiting for a 2026-07-28 client's retry: the server asked the client something in the
//! middle of a call, the gateway answered the call with `input_required`, and the server's
//! request waits here until the client retries with its input.
//!
//! The client echoes `requestState` back untouched but untrusted (SEP-2322), so the state is
//! only a random handle to what the gateway keeps, good for the principal that was given it
//! and for [`HOLD`]; a call nobody comes back for is dropped, which closes its connection to
//! the server.

use super::relay::Ask;
use rmcp::model::{CallToolResult, InputRequests, InputRequiredResult, InputResponses};
use rmcp::{ErrorData, ServiceError};
use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot};

/// How long a held call waits for its client.
pub const HOLD: Duration = Duration::from_secs(600);

/// Prefix of the handles the gateway gives out, so a `requestState` of the server's own
/// (passed through unchanged) is never mistaken for one.
const PREFIX: &str = "mcpkit-held-";

/// A relayed call in flight.
pub struct Call {
    task: tokio::task::JoinHandle<Result<CallToolResult, ServiceError>>,
    asks: mpsc::Receiver<Ask>,
    waiting: BTreeMap<String, oneshot::Sender<Result<serde_json::Value, ErrorData>>>,
}

impl Drop for Call {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Call {
    pub fn new(
        task: tokio::task::JoinHandle<Result<CallToolResult, ServiceError>>,
        asks: mpsc::Receiver<Ask>,
    ) -> Call {
        Call { task, asks, waiting: BTreeMap::new() }
    }

    /// Gives the client's answers to the server's waiting requests. A request the client left
    /// unanswered gets an error, as a request to a client that failed it would.
    pub fn answer(&mut self, mut responses: InputResponses) {
        for (key, reply) in std::mem::take(&mut self.waiting) {
            let _ =
                reply.send(responses.remove(&key).ok_or_else(|| {
                    ErrorData::invalid_params(format!("no input response for `{key}`"), None)
                }));
        }
    }
}

/// What a call came to, this round.
pub enum Round {
    Done(Result<CallToolResult, ServiceError>),
    /// The server asked the client; the call waits in the store.
    Asked(Call, InputRequests),
}

/// Runs `call` until it finishes or the server asks the client something.
pub async fn drive(mut call: Call) -> Round {
    tokio::select! {
        r = &mut call.task => Round::Done(r.unwrap_or_else(|e| Err(ServiceError::McpError(
            ErrorData::internal_error(format!("the relayed call failed: {e}"), None),
        )))),
        Some(first) = call.asks.recv() => {
            let mut requests = InputRequests::new();
            let mut next = Some(first);
            let mut n = 0;
            // A server may ask several things at once; the client answers them together.
            while let Some(ask) = next {
                let key = n.to_string();
                requests.insert(key.clone(), ask.request);
                call.waiting.insert(key, ask.reply);
                n += 1;
                next = call.asks.try_recv().ok();
            }
            Round::Asked(call, requests)
        }
    }
}

#[derive(Default)]
pub struct Held {
    calls: Mutex<HashMap<String, (Call, String, Instant)>>,
}

impl Held {
    /// Keeps `call` for `principal`; returns the result that tells the client what to answer.
    pub fn keep(&self, call: Call, principal: String, requests: InputRequests) -> InputRequiredResult {
        let handle = format!("{PREFIX}{:032x}", rand::random::<u128>());
        let mut calls = self.calls.lock().expect("held calls");
        calls.retain(|_, (_, _, since)| since.elapsed() < HOLD);
        calls.insert(handle.clone(), (call, principal, Instant::now()));
        InputRequiredResult::new(Some(requests), Some(handle))
    }

    /// Whether `state` is one of the gateway's handles (not a server's own state).
    pub fn is_ours(state: &str) -> bool {
        state.starts_with(PREFIX)
    }

    /// Takes the call `state` names back, if `principal` was given it and it has not expired.
    pub fn take(&self, state: &str, principal: &str) -> Option<Call> {
        let mut calls = self.calls.lock().expect("held calls");
        match calls.remove(state) {
            Some((call, owner, since)) if owner == principal && since.elapsed() < HOLD => Some(call),
            Some(other) if other.1 != principal => {
                // Not theirs: put it back for its owner.
                calls.insert(state.to_string(), other);
                None
            }
            _ => None,
        }
    }
}
