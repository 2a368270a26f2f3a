//! The AWS cloud the deploy engine drives: one [`Cloud`] whose steps are SDK calls, a module
//! per service family. Every resource mcpkit makes carries its tags (`mcpkit:project`,
//! `mcpkit:resource`) or lives inside one that does (a pool's clients, a gateway's targets),
//! so a resource found by name but missing from the state is adopted only when it is this
//! project's, and is otherwise a conflict the user must resolve.
//!
//! What the SDK does not do and this module does: polling until READY (AgentCore has no
//! waiters), retrying "Role validation failed" while a new IAM role propagates, and waiting for
//! deletes to finish so dependencies can go next.

mod agentcore;
mod cognito;
mod drift;
mod iam;
mod preflight;
mod storage;

pub use cognito::client_secret;

use super::artifact::Spec;
use super::resources::Kind;
use super::sdk::Aws;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use mcpkit_engine::{Cloud, Desired, Inputs, Key, Live, Record};
use mcpkit_workspace::error::{Error, Problem, Result};
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::time::{Duration, Instant};

pub const TAG_PROJECT: &str = "mcpkit:project";
pub const TAG_RESOURCE: &str = "mcpkit:resource";
/// The environment a resource was made for; absent on the workspace's own resources (which
/// is how they were made before environments existed).
pub const TAG_ENVIRONMENT: &str = "mcpkit:environment";

/// How long to wait for AWS to finish something.
#[derive(Debug, Clone)]
pub struct Waits {
    /// A resource reaching READY (or going away).
    pub ready: Duration,
    /// A new IAM role becoming usable by AgentCore.
    pub role_propagation: Duration,
}

impl Default for Waits {
    fn default() -> Self {
        Waits { ready: Duration::from_secs(15 * 60), role_propagation: Duration::from_secs(120) }
    }
}

pub struct AwsCloud {
    pub aws: Aws,
    pub project: String,
    /// The environment deployed (none: the workspace's own deployment).
    pub environment: Option<String>,
    /// A runtime's delete leaves its log groups (`destroy --keep-logs`).
    pub keep_logs: bool,
    /// Resources found changed outside mcpkit: their update is a full one (a target's is not
    /// a mere synchronisation).
    pub repairs: std::collections::BTreeSet<Key>,
    /// What a delete left on purpose, and why (a bucket holding someone else's objects).
    pub kept: std::sync::Mutex<BTreeMap<Key, String>>,
    /// Each code-built server's artifact.
    pub artifacts: BTreeMap<String, Spec>,
    /// Where built artifacts are cached.
    pub build_cache: PathBuf,
    pub waits: Waits,
    /// Set once IAM's policy simulator could not be asked: the preflight is skipped from then on.
    pub simulator_off: std::sync::atomic::AtomicBool,
    /// What the deploy should say in verbose output (said once each).
    pub notes: std::sync::Mutex<Vec<String>>,
}

impl AwsCloud {
    pub fn new(
        ws: &mcpkit_workspace::manifest::Workspace,
        aws: Aws,
        artifacts: BTreeMap<String, Spec>,
        waits: Waits,
    ) -> Self {
        AwsCloud {
            aws,
            project: ws.manifest().project.name.clone(),
            environment: ws.environment().map(str::to_string),
            keep_logs: false,
            repairs: Default::default(),
            kept: Default::default(),
            artifacts,
            build_cache: ws.root().join(".mcpkit").join("build"),
            waits,
            simulator_off: Default::default(),
            notes: Default::default(),
        }
    }

    fn note(&self, note: String) {
        let mut notes = self.notes.lock().expect("notes");
        if !notes.contains(&note) {
            notes.push(note);
        }
    }

    fn tags(&self, key: &Key) -> HashMap<String, String> {
        let mut tags = HashMap::from([
            (TAG_PROJECT.to_string(), self.project.clone()),
            (TAG_RESOURCE.to_string(), key.id()),
        ]);
        if let Some(e) = &self.environment {
            tags.insert(TAG_ENVIRONMENT.to_string(), e.clone());
        }
        tags
    }

    /// True when `tags` say mcpkit made the resource `key` for this project, in this
    /// environment. (All three matter: the gateway's pool and a server's may share a physical
    /// name, and one environment must never adopt another's resource.)
    fn ours<'a>(&self, key: &Key, tags: impl IntoIterator<Item = (&'a String, &'a String)>) -> bool {
        let (mut project, mut resource, mut environment) = (false, false, None);
        for (k, v) in tags {
            project |= k == TAG_PROJECT && *v == self.project;
            resource |= k == TAG_RESOURCE && *v == key.id();
            if k == TAG_ENVIRONMENT {
                environment = Some(v.as_str());
            }
        }
        project && resource && environment == self.environment.as_deref()
    }

    /// A resource exists by this name but is not this project's.
    fn conflict(&self, key: &Key, id: &str) -> Error {
        Error::input(
            Problem::new(format!(
                "{key} already exists in this AWS account ({id}), and mcpkit did not make it for project `{}`{}",
                self.project,
                self.environment.as_ref().map(|e| format!(" in environment `{e}`")).unwrap_or_default()
            ))
            .hint("delete it, or choose another server or gateway name in mcpkit.toml"),
        )
    }

    /// Polls `status` until it says READY. `status` returns the current status and its
    /// reasons, or `None` when the resource is gone.
    async fn wait_ready<F, Fut>(&self, what: &str, mut status: F) -> Result<()>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<Option<(String, String)>>>,
    {
        let start = Instant::now();
        let mut delay = Duration::from_millis(250);
        loop {
            match status().await? {
                Some((s, _)) if s == "READY" => return Ok(()),
                Some((s, why)) if s.contains("FAILED") || s.contains("UNSUCCESSFUL") => {
                    return Err(Error::world(format!("{what} is {s}: {why}")));
                }
                None => return Err(Error::world(format!("{what} disappeared while it was being made"))),
                Some((s, _)) if start.elapsed() > self.waits.ready => {
                    return Err(Error::world(format!(
                        "{what} is still {s} after {} s",
                        self.waits.ready.as_secs()
                    ))
                    .with_hint("run `mcpkit deploy --target aws` again to keep waiting: it resumes"));
                }
                Some(_) => {}
            }
            tokio::time::sleep(delay).await;
            delay = (delay * 3 / 2).min(Duration::from_secs(5));
        }
    }

    /// Polls until `exists` says the resource is gone (deletes in AgentCore are asynchronous,
    /// and what depends on a resource can only go after it).
    async fn wait_gone<F, Fut>(&self, what: &str, mut exists: F) -> Result<()>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<bool>>,
    {
        let start = Instant::now();
        let mut delay = Duration::from_millis(250);
        while exists().await? {
            if start.elapsed() > self.waits.ready {
                return Err(Error::world(format!("{what} is still being deleted")).with_hint(
                    "run `mcpkit destroy --target aws` again to keep waiting: it resumes where it stopped",
                ));
            }
            tokio::time::sleep(delay).await;
            delay = (delay * 3 / 2).min(Duration::from_secs(5));
        }
        Ok(())
    }

    /// Runs a call that names an IAM role, retrying while the role is too new for AgentCore
    /// to assume ("Role validation failed"): IAM is eventually consistent.
    async fn role_retry<T, E, F, Fut>(&self, what: &str, mut call: F) -> Result<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = std::result::Result<T, E>>,
        E: ProvideErrorMetadata + std::error::Error,
    {
        let start = Instant::now();
        let mut delay = Duration::from_secs(1);
        loop {
            match call().await {
                Ok(v) => return Ok(v),
                Err(e) => {
                    let text = e.message().unwrap_or_default();
                    let propagating =
                        text.contains("Role validation failed") || text.contains("cannot be assumed");
                    if !propagating || start.elapsed() + delay > self.waits.role_propagation {
                        return Err(super::sdk::failure(what, &e));
                    }
                }
            }
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(Duration::from_secs(15));
        }
    }
}

/// The recorded physical id, when a create finished.
fn recorded_id(record: Option<&Record>) -> Option<&str> {
    record.map(|r| r.id.as_str()).filter(|id| !id.is_empty())
}

/// Builders' validation errors: a field mcpkit forgot, never the user's fault.
fn built<T>(r: std::result::Result<T, aws_smithy_types::error::operation::BuildError>) -> Result<T> {
    r.map_err(|e| Error::world(format!("internal: incomplete AWS request: {e}")))
}

impl Cloud for AwsCloud {
    async fn read(&self, key: &Key, recorded: Option<&Record>, inputs: &Inputs) -> Result<Option<Live>> {
        match Kind::of(key)? {
            Kind::Role => self.role_read(key, recorded).await,
            Kind::Pool => self.pool_read(key, recorded).await,
            Kind::Domain => self.domain_read(recorded, inputs).await,
            Kind::ResourceServer => self.resource_server_read(key, recorded, inputs).await,
            Kind::Client => self.client_read(key, recorded, inputs).await,
            Kind::Bucket => self.bucket_read(key, recorded).await,
            Kind::Code => self.code_read(recorded).await,
            Kind::Repository => self.repository_read(key, recorded).await,
            Kind::Image => self.image_read(recorded).await,
            Kind::Runtime => self.runtime_read(key, recorded).await,
            Kind::CredentialProvider => self.provider_read(key, recorded).await,
            Kind::Gateway => self.gateway_read(key, recorded).await,
            Kind::Target => self.target_read(key, recorded, inputs).await,
        }
    }

    async fn create(&self, d: &Desired, inputs: &Inputs) -> Result<Live> {
        match Kind::of(&d.key)? {
            Kind::Role => self.role_put(d, true).await,
            Kind::Pool => self.pool_create(d).await,
            Kind::Domain => self.domain_create(d, inputs).await,
            Kind::ResourceServer => self.resource_server_put(d, inputs, true).await,
            Kind::Client => self.client_create(d, inputs).await,
            Kind::Bucket => self.bucket_create(d).await,
            Kind::Code => self.code_put(d, inputs).await,
            Kind::Repository => self.repository_create(d).await,
            Kind::Image => self.image_put(d, inputs).await,
            Kind::Runtime => self.runtime_create(d, inputs).await,
            Kind::CredentialProvider => self.provider_create(d, inputs).await,
            Kind::Gateway => self.gateway_create(d, inputs).await,
            Kind::Target => self.target_create(d, inputs).await,
        }
    }

    async fn update(&self, d: &Desired, current: &Record, inputs: &Inputs) -> Result<Live> {
        match Kind::of(&d.key)? {
            Kind::Role => self.role_put(d, false).await,
            Kind::Pool => self.pool_update(d, current).await,
            Kind::Domain => self.domain_update(current, inputs).await,
            Kind::ResourceServer => self.resource_server_put(d, inputs, false).await,
            Kind::Client => self.client_update(d, current, inputs).await,
            Kind::Bucket => self.bucket_update(d).await,
            Kind::Code => self.code_put(d, inputs).await,
            Kind::Repository => self.repository_update(d, current).await,
            Kind::Image => self.image_put(d, inputs).await,
            Kind::Runtime => self.runtime_update(d, current, inputs).await,
            Kind::CredentialProvider => self.provider_update(d, inputs).await,
            Kind::Gateway => self.gateway_update(d, current, inputs).await,
            Kind::Target => self.target_update(d, current, inputs).await,
        }
    }

    async fn delete(&self, r: &Record) -> Result<()> {
        match Kind::of(&r.key)? {
            Kind::Role => self.role_delete(r).await,
            Kind::Pool => self.pool_delete(r).await,
            Kind::Domain => self.domain_delete(r).await,
            Kind::ResourceServer => self.resource_server_delete(r).await,
            Kind::Client => self.client_delete(r).await,
            Kind::Bucket => self.bucket_delete(r).await,
            Kind::Code => self.code_delete(r).await,
            Kind::Repository => self.repository_delete(r).await,
            Kind::Image => self.image_delete(r).await,
            Kind::Runtime => self.runtime_delete(r).await,
            Kind::CredentialProvider => self.provider_delete(r).await,
            Kind::Gateway => self.gateway_delete(r).await,
            Kind::Target => self.target_delete(r).await,
        }
    }
}
