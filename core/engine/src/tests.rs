//! The engine against an in-memory cloud: ordering, idempotence, resuming after a crash at
//! every step, out-of-band deletion, concurrency, and deletion order.

use super::*;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// A cloud in memory. `crash_at`: the n-th mutating call (1-based) takes effect and then
/// reports failure, like a process killed between the API call and writing the state.
#[derive(Default)]
struct MemoryCloud {
    live: Mutex<BTreeMap<Key, (Live, serde_json::Value)>>,
    mutations: AtomicUsize,
    log: Mutex<Vec<String>>,
    crash_at: Option<usize>,
    delay: Duration,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
}

impl MemoryCloud {
    fn mutate(&self, what: String) -> mcpkit_workspace::Result<usize> {
        let n = self.mutations.fetch_add(1, Ordering::SeqCst) + 1;
        self.log.lock().unwrap().push(what);
        Ok(n)
    }
    fn crash_now(&self, n: usize) -> mcpkit_workspace::Result<()> {
        if self.crash_at == Some(n) {
            Err(mcpkit_workspace::Error::world(format!("crash after call {n}")))
        } else {
            Ok(())
        }
    }
    async fn busy(&self) {
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.max_in_flight.fetch_max(now, Ordering::SeqCst);
        tokio::time::sleep(self.delay).await;
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Cloud for MemoryCloud {
    async fn read(
        &self,
        key: &Key,
        _: Option<&Record>,
        _: &Inputs,
    ) -> mcpkit_workspace::Result<Option<Live>> {
        Ok(self.live.lock().unwrap().get(key).map(|(l, _)| l.clone()))
    }
    async fn create(&self, d: &Desired, inputs: &Inputs) -> mcpkit_workspace::Result<Live> {
        self.busy().await;
        // Dependencies must exist and have been handed over.
        for k in &d.depends_on {
            assert!(inputs.contains_key(k), "{} created before its dependency {k}", d.key);
            assert!(self.live.lock().unwrap().contains_key(k));
        }
        if self.live.lock().unwrap().contains_key(&d.key) {
            return Err(mcpkit_workspace::Error::world(format!("ConflictException: {} exists", d.key)));
        }
        let n = self.mutate(format!("create {}", d.key))?;
        let live = Live {
            id: format!("id-{}", d.key.name),
            outputs: serde_json::json!({ "arn": format!("arn:{}", d.key.id()) }),
        };
        self.live.lock().unwrap().insert(d.key.clone(), (live.clone(), d.config.clone()));
        self.crash_now(n)?;
        Ok(live)
    }
    async fn update(&self, d: &Desired, current: &Record, _: &Inputs) -> mcpkit_workspace::Result<Live> {
        self.busy().await;
        let n = self.mutate(format!("update {}", d.key))?;
        let live = Live { id: current.id.clone(), outputs: current.outputs.clone() };
        self.live.lock().unwrap().insert(d.key.clone(), (live.clone(), d.config.clone()));
        self.crash_now(n)?;
        Ok(live)
    }
    async fn delete(&self, r: &Record) -> mcpkit_workspace::Result<()> {
        let n = self.mutate(format!("delete {}", r.key))?;
        self.live.lock().unwrap().remove(&r.key);
        self.crash_now(n)?;
        Ok(())
    }
}

/// The AgentCore topology for `servers` servers: a gateway pool and role, the gateway, and per
/// server a pool, a runtime, a credential provider and a target.
fn topology(servers: usize) -> Vec<Desired> {
    let k = |kind: &str, name: &str| Key::new(kind, name);
    let mut v = vec![
        Desired { key: k("pool", "gw"), depends_on: vec![], config: serde_json::json!({"n": 1}) },
        Desired { key: k("role", "gw"), depends_on: vec![], config: serde_json::json!({"n": 1}) },
        Desired {
            key: k("gateway", "gw"),
            depends_on: vec![k("pool", "gw"), k("role", "gw")],
            config: serde_json::json!({"n": 1}),
        },
    ];
    for i in 0..servers {
        let s = format!("s{i}");
        v.push(Desired { key: k("pool", &s), depends_on: vec![], config: serde_json::json!({}) });
        v.push(Desired {
            key: k("runtime", &s),
            depends_on: vec![k("pool", &s)],
            config: serde_json::json!({"code": 1}),
        });
        v.push(Desired {
            key: k("identity", &s),
            depends_on: vec![k("pool", &s)],
            config: serde_json::json!({}),
        });
        v.push(Desired {
            key: k("target", &s),
            depends_on: vec![k("gateway", "gw"), k("runtime", &s), k("identity", &s)],
            config: serde_json::json!({}),
        });
    }
    v
}

async fn deploy(
    cloud: &MemoryCloud,
    desired: &[Desired],
    store: &StateStore,
) -> mcpkit_workspace::Result<Plan> {
    let mut state = store.load()?;
    let live = refresh(cloud, &state).await?;
    let p = plan(desired, &state, &live)?;
    apply(cloud, desired, &p, store, &mut state, 8, &Quiet).await?;
    Ok(p)
}

fn store() -> (tempfile::TempDir, StateStore) {
    let d = tempfile::tempdir().unwrap();
    let s = StateStore::open(&d.path().join("state/aws-us-east-1.json")).unwrap();
    (d, s)
}

#[tokio::test]
async fn deploys_in_dependency_order_then_does_nothing() {
    let cloud = MemoryCloud::default();
    let (_d, store) = store();
    let desired = topology(3);
    deploy(&cloud, &desired, &store).await.unwrap();
    assert_eq!(cloud.live.lock().unwrap().len(), desired.len());
    assert_eq!(store.load().unwrap().len(), desired.len());
    let before = cloud.mutations.load(Ordering::SeqCst);
    let p = deploy(&cloud, &desired, &store).await.unwrap();
    assert!(p.is_noop(), "{p:?}");
    assert_eq!(
        cloud.mutations.load(Ordering::SeqCst),
        before,
        "an unchanged re-deploy makes no mutating call"
    );
}

#[tokio::test]
async fn a_crash_after_any_call_converges_on_the_next_run_and_destroys_clean() {
    let desired = topology(2);
    let total = desired.len();
    for k in 1..=total {
        let cloud = MemoryCloud { crash_at: Some(k), ..Default::default() };
        let (_d, store) = store();
        assert!(deploy(&cloud, &desired, &store).await.is_err(), "call {k} should crash");
        let cloud = MemoryCloud {
            crash_at: None,
            live: Mutex::new(cloud.live.into_inner().unwrap()),
            ..Default::default()
        };
        deploy(&cloud, &desired, &store).await.unwrap_or_else(|e| panic!("resume after crash at {k}: {e}"));
        let live = cloud.live.lock().unwrap().clone();
        assert_eq!(live.len(), total, "crash at {k}: every resource exactly once");
        for d in &desired {
            assert_eq!(live[&d.key].1, d.config, "crash at {k}: {} has its configuration", d.key);
        }
        let creates = cloud.log.lock().unwrap().iter().filter(|l| l.starts_with("create")).count();
        assert!(creates <= total, "no resource is created twice");
        let mut state = store.load().unwrap();
        destroy(&cloud, &store, &mut state, &Quiet).await.unwrap();
        assert!(cloud.live.lock().unwrap().is_empty(), "crash at {k}: destroy leaves nothing");
        assert!(store.load().unwrap().is_empty());
    }
}

#[tokio::test]
async fn a_crash_during_destroy_resumes() {
    let desired = topology(2);
    let (_d, store) = store();
    let cloud = MemoryCloud::default();
    deploy(&cloud, &desired, &store).await.unwrap();
    let done = cloud.mutations.load(Ordering::SeqCst);
    let cloud = MemoryCloud {
        crash_at: Some(done + 3),
        live: Mutex::new(cloud.live.into_inner().unwrap()),
        mutations: AtomicUsize::new(done),
        ..Default::default()
    };
    let mut state = store.load().unwrap();
    assert!(destroy(&cloud, &store, &mut state, &Quiet).await.is_err());
    let mut state = store.load().unwrap();
    destroy(&cloud, &store, &mut state, &Quiet).await.unwrap();
    assert!(cloud.live.lock().unwrap().is_empty());
}

#[tokio::test]
async fn what_was_deleted_out_of_band_is_created_again() {
    let cloud = MemoryCloud::default();
    let (_d, store) = store();
    let desired = topology(1);
    deploy(&cloud, &desired, &store).await.unwrap();
    cloud.live.lock().unwrap().remove(&Key::new("runtime", "s0"));
    let p = deploy(&cloud, &desired, &store).await.unwrap();
    let mutating: Vec<&Step> = p.mutating().collect();
    assert_eq!(mutating.len(), 1);
    assert_eq!((mutating[0].key.clone(), mutating[0].action), (Key::new("runtime", "s0"), Action::Create));
    assert_eq!(mutating[0].reason, "recorded, but gone");
    assert!(cloud.live.lock().unwrap().contains_key(&Key::new("runtime", "s0")));
}

#[tokio::test]
async fn a_changed_configuration_is_an_update_of_that_resource_only() {
    let cloud = MemoryCloud::default();
    let (_d, store) = store();
    let mut desired = topology(2);
    deploy(&cloud, &desired, &store).await.unwrap();
    let rt = desired.iter_mut().find(|d| d.key == Key::new("runtime", "s1")).unwrap();
    rt.config = serde_json::json!({"code": 2});
    let p = deploy(&cloud, &desired, &store).await.unwrap();
    let mutating: Vec<(Key, Action)> = p.mutating().map(|s| (s.key.clone(), s.action)).collect();
    assert_eq!(mutating, vec![(Key::new("runtime", "s1"), Action::Update)]);
}

#[tokio::test]
async fn independent_resources_are_created_concurrently() {
    let cloud = MemoryCloud { delay: Duration::from_millis(50), ..Default::default() };
    let (_d, store) = store();
    let desired = topology(6);
    let start = Instant::now();
    deploy(&cloud, &desired, &store).await.unwrap();
    let took = start.elapsed();
    let sequential = Duration::from_millis(50) * desired.len() as u32;
    assert!(
        cloud.max_in_flight.load(Ordering::SeqCst) >= 6,
        "{}",
        cloud.max_in_flight.load(Ordering::SeqCst)
    );
    assert!(took < sequential / 3, "{took:?} vs {sequential:?} one after another");
}

#[tokio::test]
async fn removed_resources_are_deleted_dependents_first() {
    let cloud = MemoryCloud::default();
    let (_d, store) = store();
    deploy(&cloud, &topology(2), &store).await.unwrap();
    cloud.log.lock().unwrap().clear();
    deploy(&cloud, &topology(1), &store).await.unwrap();
    let log = cloud.log.lock().unwrap().clone();
    let pos =
        |what: &str| log.iter().position(|l| l == what).unwrap_or_else(|| panic!("{what} not in {log:?}"));
    assert!(pos("delete target s1") < pos("delete runtime s1"));
    assert!(pos("delete runtime s1") < pos("delete pool s1"));
    assert!(pos("delete identity s1") < pos("delete pool s1"));
    assert_eq!(cloud.live.lock().unwrap().len(), topology(1).len());
}

#[test]
fn cycles_and_unknown_dependencies_are_refused() {
    let k = |kind: &str, name: &str| Key::new(kind, name);
    let cyc = vec![
        Desired { key: k("a", "1"), depends_on: vec![k("b", "1")], config: serde_json::Value::Null },
        Desired { key: k("b", "1"), depends_on: vec![k("a", "1")], config: serde_json::Value::Null },
    ];
    assert!(topo_order(&cyc).unwrap_err().to_string().contains("cycle"));
    let unknown =
        vec![Desired { key: k("a", "1"), depends_on: vec![k("zz", "9")], config: serde_json::Value::Null }];
    assert!(topo_order(&unknown).unwrap_err().to_string().contains("zz 9"));
}

#[test]
fn a_second_store_on_the_same_state_is_refused() {
    let d = tempfile::tempdir().unwrap();
    let path = d.path().join("aws-eu-west-1.json");
    let first = StateStore::open(&path).unwrap();
    let err = StateStore::open(&path).err().expect("locked");
    assert_eq!(err.exit_code(), 2);
    assert!(err.to_string().contains("another mcpkit"));
    drop(first);
    StateStore::open(&path).unwrap();
}
