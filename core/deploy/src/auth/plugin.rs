//! Loading auth-provider plugins: shared libraries speaking `mcpkit-plugin-api`'s C ABI.
//!
//! Everything that can be wrong with a plugin file is reported with the file's name: not a
//! shared library, a missing symbol, another ABI version, a response that is not the JSON
//! envelope. A panic inside a Rust plugin is caught on the plugin's side of the boundary and
//! arrives as an error envelope; nothing unwinds into mcpkit.

use mcpkit_plugin_api::ffi::{Buffer, SYMBOL_ABI_VERSION, SYMBOL_VTABLE, VTable, compatible};
use mcpkit_plugin_api::{
    ABI_VERSION, AuthProvider, Description, ErrorKind, PluginError, ProvisionRequest, ProvisionResponse,
    ResourceRequest, TokenResponse,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::path::{Path, PathBuf};

/// A provider in a shared library. The library is never unloaded: unloading is unreliable
/// (thread-locals, Go runtimes) and a plugin is small.
pub struct DylibProvider {
    path: PathBuf,
    vtable: *const VTable,
    description: Description,
}

// The vtable points into the library, which is never unloaded; the plugin contract
// requires its functions to be callable from any thread.
unsafe impl Send for DylibProvider {}
unsafe impl Sync for DylibProvider {}

impl DylibProvider {
    /// Loads and checks a plugin; the message of an error names the file.
    pub fn load(path: &Path) -> Result<Self, String> {
        let shown = path.display();
        if !path.is_file() {
            return Err(format!("{shown}: no such file"));
        }
        // Loading a library runs its initialisers: that is what registering a plugin trusts.
        let lib: &'static libloading::Library = Box::leak(Box::new(
            unsafe { libloading::Library::new(path) }
                .map_err(|e| format!("{shown} is not a loadable shared library: {e}"))?,
        ));
        let version = unsafe {
            let f: libloading::Symbol<unsafe extern "C" fn() -> u32> =
                lib.get(SYMBOL_ABI_VERSION).map_err(|_| {
                    format!("{shown} is not an mcpkit plugin: it does not export `mcpkit_plugin_abi_version`")
                })?;
            f()
        };
        if !compatible(version) {
            return Err(format!(
                "{shown} was built for plugin ABI version {version}, but this mcpkit speaks version {ABI_VERSION}; rebuild it against mcpkit-plugin-api {ABI_VERSION}"
            ));
        }
        let vtable = unsafe {
            let f: libloading::Symbol<unsafe extern "C" fn() -> *const VTable> =
                lib.get(SYMBOL_VTABLE).map_err(|_| {
                    format!("{shown} is not an mcpkit plugin: it does not export `mcpkit_plugin_vtable`")
                })?;
            f()
        };
        if vtable.is_null() {
            return Err(format!("{shown}: `mcpkit_plugin_vtable` returned no table"));
        }
        let table_version = unsafe { (*vtable).abi_version };
        if !compatible(table_version) {
            return Err(format!(
                "{shown}: its function table is for ABI version {table_version}, not {ABI_VERSION}"
            ));
        }
        let mut p = DylibProvider { path: path.to_path_buf(), vtable, description: placeholder() };
        p.description = p.invoke::<(), Description>("describe", None).map_err(|e| e.message)?;
        Ok(p)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Calls one function of the table and decodes the envelope it returns.
    fn invoke<Req: Serialize, Res: DeserializeOwned>(
        &self,
        method: &str,
        req: Option<&Req>,
    ) -> Result<Res, PluginError> {
        let table = unsafe { &*self.vtable };
        let body = req.map(|r| serde_json::to_vec(r).expect("requests serialize"));
        let buf: Buffer = unsafe {
            match (method, &body) {
                ("describe", _) => (table.describe)(),
                ("provision", Some(b)) => (table.provision)(b.as_ptr(), b.len()),
                ("token", Some(b)) => (table.token)(b.as_ptr(), b.len()),
                ("teardown", Some(b)) => (table.teardown)(b.as_ptr(), b.len()),
                _ => unreachable!("every method is called with its request"),
            }
        };
        let bytes = if buf.ptr.is_null() {
            Vec::new()
        } else {
            unsafe { std::slice::from_raw_parts(buf.ptr, buf.len) }.to_vec()
        };
        unsafe { (table.free)(buf) };
        let bad = |why: String| PluginError {
            message: format!(
                "plugin {} returned a malformed answer to `{method}`: {why}",
                self.path.display()
            ),
            kind: ErrorKind::World,
        };
        let env: serde_json::Value = serde_json::from_slice(&bytes).map_err(|e| bad(e.to_string()))?;
        let Some(obj) = env.as_object() else { return Err(bad("not a JSON object".into())) };
        if let Some(e) = obj.get("error") {
            let mut e: PluginError =
                serde_json::from_value(e.clone()).map_err(|e| bad(format!("bad `error`: {e}")))?;
            e.message = format!("plugin {}: {}", self.description_name(), e.message);
            return Err(e);
        }
        match obj.get("ok") {
            Some(v) => serde_json::from_value(v.clone()).map_err(|e| bad(format!("bad `ok`: {e}"))),
            None => Err(bad("neither `ok` nor `error`".into())),
        }
    }

    fn description_name(&self) -> String {
        if self.description.name.is_empty() {
            self.path.display().to_string()
        } else {
            self.description.name.clone()
        }
    }
}

fn placeholder() -> Description {
    Description {
        name: String::new(),
        version: String::new(),
        description: String::new(),
        capabilities: vec![],
        targets: vec![],
        config: vec![],
    }
}

impl AuthProvider for DylibProvider {
    fn describe(&self) -> Description {
        self.description.clone()
    }
    fn provision(&self, request: ProvisionRequest) -> Result<ProvisionResponse, PluginError> {
        self.invoke("provision", Some(&request))
    }
    fn token(&self, request: ResourceRequest) -> Result<TokenResponse, PluginError> {
        self.invoke("token", Some(&request))
    }
    fn teardown(&self, request: ResourceRequest) -> Result<(), PluginError> {
        self.invoke::<_, serde_json::Value>("teardown", Some(&request)).map(|_| ())
    }
}
