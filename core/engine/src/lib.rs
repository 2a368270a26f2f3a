//! The deploy engine: resources, dependencies, recorded state, a plan, and a concurrent apply.
//!
//! It knows nothing of the cloud it drives. A [`Cloud`] performs the steps (create, read,
//! update, delete) for each kind of resource; the engine decides what to do and in which
//! order, runs independent steps concurrently, and records what exists in a [`State`] that is
//! written after every step, so an interrupted deploy resumes where it stopped:
//!
//! - before a create, the intent is recorded (`Pending`); a crash between the API call and the
//!   record is found on the next run by [`Cloud::read`] (by name and mcpkit's tags), and the
//!   resource is adopted rather than created twice;
//! - a recorded resource that is gone (deleted in the console) is created again;
//! - an unchanged resource is left alone: an unchanged re-deploy makes no mutating call;
//! - deletes run in reverse dependency order, and tolerate resources already gone.

pub mod state;

use futures::stream::{FuturesUnordered, StreamExt};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
pub use state::{Record, RecordStatus, State, StateStore};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// Identifies a resource: its kind (`cognito.pool`, `agentcore.runtime`, ...) and its name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Key {
    pub kind: String,
    pub name: String,
}

impl Key {
    pub fn new(kind: impl Into<String>, name: impl Into<String>) -> Self {
        Key { kind: kind.into(), name: name.into() }
    }
    /// The form used in state files and messages: `kind:name`.
    pub fn id(&self) -> String {
        format!("{}:{}", self.kind, self.name)
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.kind, self.name)
    }
}

/// A resource the deploy wants to exist.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Desired {
    pub key: Key,
    pub depends_on: Vec<Key>,
    /// The resource's configuration; its hash decides between update and no-op.
    pub config: serde_json::Value,
}

impl Desired {
    pub fn hash(&self) -> String {
        config_hash(&self.config)
    }
}

pub fn config_hash(config: &serde_json::Value) -> String {
    hex::encode(Sha256::digest(serde_json::to_vec(config).expect("json values serialize")))[..16].to_string()
}

/// What a target reports about a live resource.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Live {
    /// The physical id (an ARN, a pool id, ...).
    pub id: String,
    /// Values dependents need (ARNs, URLs, client ids). Never secrets: state files are not
    /// secret stores.
    pub outputs: serde_json::Value,
}

/// The outputs of a resource's dependencies, by key, given to the target with each step.
pub type Inputs = BTreeMap<Key, Live>;

/// Performs steps on one cloud. Errors are messages for the user; `retryable` errors are for
/// the target's own retry loop (the engine does not retry).
pub trait Cloud: Sync {
    /// Finds a resource: by its recorded id when there is one, else by name (and mcpkit's
    /// tags). `None`: it does not exist.
    /// `inputs` are the dependencies' outputs when known (on a create; empty on a refresh, where
    /// the record's own outputs say what the target needs).
    fn read(
        &self,
        key: &Key,
        recorded: Option<&Record>,
        inputs: &Inputs,
    ) -> impl Future<Output = mcpkit_workspace::Result<Option<Live>>> + Send;
    fn create(
        &self,
        desired: &Desired,
        inputs: &Inputs,
    ) -> impl Future<Output = mcpkit_workspace::Result<Live>> + Send;
    fn update(
        &self,
        desired: &Desired,
        current: &Record,
        inputs: &Inputs,
    ) -> impl Future<Output = mcpkit_workspace::Result<Live>> + Send;
    /// Deletes; a resource already gone is success.
    fn delete(&self, record: &Record) -> impl Future<Output = mcpkit_workspace::Result<()>> + Send;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Create,
    Update,
    Delete,
    Noop,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Step {
    pub key: Key,
    pub action: Action,
    pub reason: String,
}

/// What a deploy (or destroy) will do, in an order that respects dependencies.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Plan {
    pub steps: Vec<Step>,
    /// Updated even though their configuration and inputs are what the state recorded: the
    /// cloud found them changed outside mcpkit ([`Plan::repair`]).
    #[serde(skip)]
    repairs: BTreeSet<Key>,
}

impl Plan {
    /// Turns `key`'s no-op into an update: what the state recorded is no longer what exists,
    /// so the update puts back what mcpkit.toml asks.
    pub fn repair(&mut self, key: &Key, reason: String) {
        if let Some(s) = self.steps.iter_mut().find(|s| &s.key == key && s.action == Action::Noop) {
            s.action = Action::Update;
            s.reason = reason;
            self.repairs.insert(key.clone());
        }
    }

    pub fn mutating(&self) -> impl Iterator<Item = &Step> {
        self.steps.iter().filter(|s| s.action != Action::Noop)
    }
    pub fn is_noop(&self) -> bool {
        self.mutating().next().is_none()
    }
}

/// Orders desired resources so every dependency comes first; fails on unknown dependencies
/// and cycles.
pub fn topo_order(desired: &[Desired]) -> mcpkit_workspace::Result<Vec<Key>> {
    let known: BTreeSet<&Key> = desired.iter().map(|d| &d.key).collect();
    for d in desired {
        if let Some(missing) = d.depends_on.iter().find(|k| !known.contains(k)) {
            return Err(mcpkit_workspace::Error::world(format!(
                "{} depends on {missing}, which is not part of the deploy",
                d.key
            )));
        }
    }
    let mut done: BTreeSet<Key> = BTreeSet::new();
    let mut out = Vec::new();
    while out.len() < desired.len() {
        let ready: Vec<&Desired> = desired
            .iter()
            .filter(|d| !done.contains(&d.key) && d.depends_on.iter().all(|k| done.contains(k)))
            .collect();
        if ready.is_empty() {
            return Err(mcpkit_workspace::Error::world("the resources depend on each other in a cycle"));
        }
        for d in ready {
            done.insert(d.key.clone());
            out.push(d.key.clone());
        }
    }
    Ok(out)
}

/// The dependencies' recorded outputs, as handed to the target.
pub fn inputs_of(d: &Desired, state: &State) -> Inputs {
    d.depends_on
        .iter()
        .filter_map(|k| {
            state.get(k).map(|r| (k.clone(), Live { id: r.id.clone(), outputs: r.outputs.clone() }))
        })
        .collect()
}

/// A hash of the inputs a resource was made from: when a dependency is re-created (a new id, a
/// new ARN), its dependents are updated even though their own configuration is the same.
pub fn inputs_hash(inputs: &Inputs) -> String {
    let v: Vec<(String, &Live)> = inputs.iter().map(|(k, l)| (k.id(), l)).collect();
    config_hash(&serde_json::to_value(v).expect("json values serialize"))
}

/// Compares desired resources with what the state and the live API say.
/// `live` holds what [`Cloud::read`] found for every recorded resource (`None`: gone).
pub fn plan(
    desired: &[Desired],
    state: &State,
    live: &BTreeMap<Key, Option<Live>>,
) -> mcpkit_workspace::Result<Plan> {
    let order = topo_order(desired)?;
    let by_key: BTreeMap<&Key, &Desired> = desired.iter().map(|d| (&d.key, d)).collect();
    let mut steps = Vec::new();
    for key in &order {
        let d = by_key[key];
        let step = match (state.get(key), live.get(key)) {
            (None, _) => Step { key: key.clone(), action: Action::Create, reason: "not created yet".into() },
            (Some(_), Some(None)) => {
                Step { key: key.clone(), action: Action::Create, reason: "recorded, but gone".into() }
            }
            (Some(r), _) if r.status == RecordStatus::Pending => Step {
                key: key.clone(),
                action: Action::Create,
                reason: "an earlier create did not finish".into(),
            },
            (Some(r), _) if r.hash != d.hash() => {
                Step { key: key.clone(), action: Action::Update, reason: "configuration changed".into() }
            }
            (Some(r), _) if r.inputs != inputs_hash(&inputs_of(d, state)) => Step {
                key: key.clone(),
                action: Action::Update,
                reason: "a resource it depends on changed".into(),
            },
            // A dependency that changes in this run may hand it new outputs: apply checks,
            // and updates it then.
            _ => Step { key: key.clone(), action: Action::Noop, reason: "up to date".into() },
        };
        steps.push(step);
    }
    // Recorded resources no longer desired are deleted, dependents first.
    let mut stale: Vec<&Record> = state.records().filter(|r| !by_key.contains_key(&r.key)).collect();
    stale.sort_by_key(|r| std::cmp::Reverse(r.order));
    for r in stale {
        steps.push(Step {
            key: r.key.clone(),
            action: Action::Delete,
            reason: "no longer in mcpkit.toml".into(),
        });
    }
    Ok(Plan { steps, repairs: BTreeSet::new() })
}

/// Reads every recorded resource from the live API (concurrently). Pending records are left
/// out: the plan creates them again, and the create looks for them first, with the
/// dependencies' outputs at hand.
pub async fn refresh<T: Cloud>(
    target: &T,
    state: &State,
) -> mcpkit_workspace::Result<BTreeMap<Key, Option<Live>>> {
    let mut reads: FuturesUnordered<_> = state
        .records()
        .filter(|r| r.status == RecordStatus::Ready)
        .map(|r| async move { (r.key.clone(), target.read(&r.key, Some(r), &Inputs::new()).await) })
        .collect();
    let mut out = BTreeMap::new();
    while let Some((k, r)) = reads.next().await {
        out.insert(k, r?);
    }
    Ok(out)
}

/// Progress of an apply, for the CLI.
pub trait Observer: Sync {
    fn started(&self, _step: &Step) {}
    fn finished(&self, _step: &Step, _result: &mcpkit_workspace::Result<()>) {}
}

pub struct Quiet;
impl Observer for Quiet {}

/// Applies a plan: every step as soon as its dependencies are done, up to `concurrency` at a
/// time, recording the state after each. Stops starting new steps at the first failure, lets
/// the running ones finish, and returns that failure; the state on disk is then what exists.
pub async fn apply<T: Cloud>(
    target: &T,
    desired: &[Desired],
    plan: &Plan,
    store: &StateStore,
    state: &mut State,
    concurrency: usize,
    observer: &dyn Observer,
) -> mcpkit_workspace::Result<()> {
    let by_key: BTreeMap<&Key, &Desired> = desired.iter().map(|d| (&d.key, d)).collect();
    let order: BTreeMap<Key, usize> =
        plan.steps.iter().enumerate().map(|(i, s)| (s.key.clone(), i)).collect();
    let mut pending: Vec<&Step> = plan.steps.iter().filter(|s| s.action != Action::Delete).collect();
    let deletes: Vec<&Step> = plan.steps.iter().filter(|s| s.action == Action::Delete).collect();
    let mut done: BTreeSet<Key> = BTreeSet::new();
    let mut running = FuturesUnordered::new();
    let mut failure: Option<mcpkit_workspace::Error> = None;

    loop {
        // Start whatever is ready.
        while failure.is_none() && running.len() < concurrency.max(1) {
            let Some(pos) = pending.iter().position(|s| {
                by_key.get(&s.key).is_none_or(|d| d.depends_on.iter().all(|k| done.contains(k)))
            }) else {
                break;
            };
            let mut step = pending.remove(pos).clone();
            let d = by_key[&step.key];
            let inputs = inputs_of(d, state);
            let inputs_digest = inputs_hash(&inputs);
            let unchanged =
                state.get(&step.key).is_some_and(|r| r.hash == d.hash() && r.inputs == inputs_digest);
            match step.action {
                // Up to date, unless a dependency changed in this run and handed new outputs.
                Action::Noop | Action::Update if unchanged && !plan.repairs.contains(&step.key) => {
                    done.insert(step.key.clone());
                    continue;
                }
                Action::Noop => {
                    step.action = Action::Update;
                    step.reason = "a resource it depends on changed".into();
                }
                _ => {}
            }
            if step.action == Action::Create {
                // Intent first: a crash after the API call is found by `read` next time.
                state.mark_pending(&step.key, &d.hash(), &d.depends_on, order[&step.key]);
                store.save(state)?;
            }
            observer.started(&step);
            let current = state.get(&step.key).cloned();
            let position = order[&step.key];
            running.push(async move {
                let r = match step.action {
                    // A create first looks for the resource: an interrupted run may have made
                    // it (the target only finds resources tagged as this project's). Found: it
                    // is adopted and brought up to date with an update, since the interrupted
                    // create may have stopped between its calls.
                    Action::Create => match target.read(&step.key, current.as_ref(), &inputs).await {
                        Ok(Some(live)) => {
                            let found = Record {
                                key: step.key.clone(),
                                id: live.id.clone(),
                                hash: String::new(),
                                status: RecordStatus::Ready,
                                outputs: live.outputs.clone(),
                                order: position,
                                inputs: String::new(),
                                depends_on: d.depends_on.clone(),
                            };
                            target.update(d, &found, &inputs).await
                        }
                        Ok(None) => target.create(d, &inputs).await,
                        Err(e) => Err(e),
                    },
                    Action::Update => {
                        target
                            .update(d, current.as_ref().expect("updates are of recorded resources"), &inputs)
                            .await
                    }
                    Action::Noop | Action::Delete => unreachable!("not started here"),
                };
                (step, r, inputs_digest)
            });
        }
        let Some((step, result, inputs_digest)) = running.next().await else { break };
        let step = &step;
        match result {
            Ok(live) => {
                let d = by_key[&step.key];
                state.record(&step.key, live, &d.hash(), &inputs_digest, &d.depends_on, order[&step.key]);
                store.save(state)?;
                done.insert(step.key.clone());
                observer.finished(step, &Ok(()));
            }
            Err(e) => {
                observer.finished(step, &Err(mcpkit_workspace::Error::world(e.to_string())));
                failure.get_or_insert(e);
            }
        }
    }
    if let Some(e) = failure {
        return Err(e);
    }
    // Deletes, one at a time, dependents first (the plan is ordered so).
    for step in deletes {
        let Some(rec) = state.get(&step.key).cloned() else { continue };
        observer.started(step);
        let r = target.delete(&rec).await;
        observer.finished(step, &r);
        r?;
        state.remove(&step.key);
        store.save(state)?;
    }
    Ok(())
}

/// Deletes everything recorded, dependents first, recording each deletion; resumable. A
/// pending resource (its create was interrupted) is looked for first, through what it
/// depends on, and deleted when it exists.
pub async fn destroy<T: Cloud>(
    target: &T,
    store: &StateStore,
    state: &mut State,
    observer: &dyn Observer,
) -> mcpkit_workspace::Result<()> {
    let mut records: Vec<Record> = state.records().cloned().collect();
    records.sort_by_key(|r| std::cmp::Reverse(r.order));
    for rec in records {
        let step = Step { key: rec.key.clone(), action: Action::Delete, reason: "destroy".into() };
        observer.started(&step);
        let r = async {
            if rec.status == RecordStatus::Ready {
                return target.delete(&rec).await;
            }
            let inputs: Inputs = rec
                .depends_on
                .iter()
                .filter_map(|k| {
                    state.get(k).map(|r| (k.clone(), Live { id: r.id.clone(), outputs: r.outputs.clone() }))
                })
                .collect();
            match target.read(&rec.key, Some(&rec), &inputs).await? {
                Some(live) => {
                    target.delete(&Record { id: live.id, outputs: live.outputs, ..rec.clone() }).await
                }
                None => Ok(()),
            }
        }
        .await;
        observer.finished(&step, &r);
        r?;
        state.remove(&rec.key);
        store.save(state)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests;
