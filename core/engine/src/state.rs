//! Recorded state: what a deploy created, written atomically after every step, and a lock so
//! two deploys of the same state never run at once.

use super::{Key, Live};
use mcpkit_workspace::error::{Error, Problem, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RecordStatus {
    /// A create was started; it may or may not have happened.
    Pending,
    Ready,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    pub key: Key,
    pub id: String,
    pub hash: String,
    pub status: RecordStatus,
    pub outputs: serde_json::Value,
    /// Position in creation order; deletion goes backwards.
    pub order: usize,
    /// Hash of the dependencies' outputs it was made from ([`super::inputs_hash`]).
    #[serde(default)]
    pub inputs: String,
    /// What it depends on: a pending resource is found (to be deleted) through them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<Key>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct State {
    pub version: u32,
    resources: BTreeMap<String, Record>,
}

impl State {
    /// The state recorded at `path`, without taking its lock (for commands that only read it);
    /// an empty state when there is no file.
    pub fn read(path: &Path) -> Result<State> {
        match std::fs::read(path) {
            Ok(b) => serde_json::from_slice(&b)
                .map_err(|e| Error::world(format!("{} is damaged: {e}", path.display()))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                Ok(State { version: 1, ..Default::default() })
            }
            Err(e) => Err(Error::io("read", path, e)),
        }
    }

    pub fn get(&self, key: &Key) -> Option<&Record> {
        self.resources.get(&key.id())
    }
    pub fn records(&self) -> impl Iterator<Item = &Record> {
        self.resources.values()
    }
    pub fn len(&self) -> usize {
        self.resources.len()
    }
    pub fn is_empty(&self) -> bool {
        self.resources.is_empty()
    }
    pub fn mark_pending(&mut self, key: &Key, hash: &str, depends_on: &[Key], order: usize) {
        let rec = self.resources.entry(key.id()).or_insert_with(|| Record {
            key: key.clone(),
            id: String::new(),
            hash: hash.to_string(),
            status: RecordStatus::Pending,
            outputs: serde_json::Value::Null,
            order,
            inputs: String::new(),
            depends_on: depends_on.to_vec(),
        });
        rec.status = RecordStatus::Pending;
        rec.hash = hash.to_string();
    }
    pub fn record(
        &mut self,
        key: &Key,
        live: Live,
        hash: &str,
        inputs: &str,
        depends_on: &[Key],
        order: usize,
    ) {
        self.resources.insert(
            key.id(),
            Record {
                key: key.clone(),
                id: live.id,
                hash: hash.to_string(),
                status: RecordStatus::Ready,
                outputs: live.outputs,
                order,
                inputs: inputs.to_string(),
                depends_on: depends_on.to_vec(),
            },
        );
    }
    pub fn remove(&mut self, key: &Key) {
        self.resources.remove(&key.id());
    }
}

/// Where a state lives, and its lock (released when the store is dropped).
pub struct StateStore {
    path: PathBuf,
    _lock: nix::fcntl::Flock<std::fs::File>,
}

impl StateStore {
    /// Opens the state at `path`, taking its lock: a second deploy of the same state fails
    /// clearly instead of racing the first.
    pub fn open(path: &Path) -> Result<Self> {
        let lock_path = path.with_extension("lock");
        if let Some(d) = path.parent() {
            std::fs::create_dir_all(d).map_err(|e| Error::io("create folder", d, e))?;
        }
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| Error::io("open", &lock_path, e))?;
        let lock =
            nix::fcntl::Flock::lock(file, nix::fcntl::FlockArg::LockExclusiveNonblock).map_err(|_| {
                Error::input(
                    Problem::new(format!(
                        "another mcpkit is deploying or destroying this target ({} is locked)",
                        lock_path.display()
                    ))
                    .hint("wait for it to finish"),
                )
            })?;
        Ok(StateStore { path: path.to_path_buf(), _lock: lock })
    }

    pub fn load(&self) -> Result<State> {
        State::read(&self.path)
    }

    pub fn save(&self, state: &State) -> Result<()> {
        mcpkit_workspace::fs::write_atomic(
            &self.path,
            &serde_json::to_vec_pretty(state).expect("state serializes"),
        )
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}
