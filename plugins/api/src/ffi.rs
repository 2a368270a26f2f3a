//! The C ABI.
//!
//! A plugin exports two symbols:
//! - `uint32_t mcpkit_plugin_abi_version(void)`, which must return [`ABI_VERSION`];
//! - `const McpkitPluginV1 *mcpkit_plugin_vtable(void)`, a table of functions ([`VTable`]).
//!
//! Every function but `free` returns a [`Buffer`] holding a UTF-8 JSON document, allocated by
//! the plugin and handed back to the plugin's `free` when the host is done with it (memory is
//! always freed by the side that allocated it). Requests are passed as pointer and length,
//! owned by the host, valid only during the call. The response document is an envelope:
//! `{"ok": <result>}` or `{"error": {"message": "...", "kind": "input" | "world"}}`.
//!
//! The Rust side of the plugin catches panics at this boundary and turns them into error
//! envelopes; nothing unwinds into the host.

use crate::{ABI_VERSION, PluginError};
use serde::Serialize;
use serde::de::DeserializeOwned;

pub const SYMBOL_ABI_VERSION: &[u8] = b"mcpkit_plugin_abi_version\0";
pub const SYMBOL_VTABLE: &[u8] = b"mcpkit_plugin_vtable\0";

/// Bytes allocated by the plugin.
#[repr(C)]
#[derive(Debug)]
pub struct Buffer {
    pub ptr: *mut u8,
    pub len: usize,
}

/// The function table, version 1.
#[repr(C)]
pub struct VTable {
    /// Must equal [`ABI_VERSION`] (checked as well as the exported function).
    pub abi_version: u32,
    pub describe: unsafe extern "C" fn() -> Buffer,
    pub provision: unsafe extern "C" fn(request: *const u8, len: usize) -> Buffer,
    pub token: unsafe extern "C" fn(request: *const u8, len: usize) -> Buffer,
    pub teardown: unsafe extern "C" fn(request: *const u8, len: usize) -> Buffer,
    pub free: unsafe extern "C" fn(buffer: Buffer),
}

// The table only holds function pointers.
unsafe impl Sync for VTable {}

/// Moves bytes into a buffer the host will hand back to [`free_buffer`].
pub fn into_buffer(bytes: Vec<u8>) -> Buffer {
    let boxed = bytes.into_boxed_slice();
    let len = boxed.len();
    Buffer { ptr: Box::into_raw(boxed) as *mut u8, len }
}

/// Frees a buffer made by [`into_buffer`].
///
/// # Safety
/// `b` must come from [`into_buffer`] in this same library, and be freed once.
pub unsafe fn free_buffer(b: Buffer) {
    if !b.ptr.is_null() {
        let slice = std::ptr::slice_from_raw_parts_mut(b.ptr, b.len);
        drop(unsafe { Box::from_raw(slice) });
    }
}

fn envelope<T: Serialize>(r: Result<T, PluginError>) -> Vec<u8> {
    let v = match r {
        Ok(v) => serde_json::json!({ "ok": v }),
        Err(e) => serde_json::json!({ "error": e }),
    };
    serde_json::to_vec(&v)
        .unwrap_or_else(|_| br#"{"error":{"message":"cannot encode the response","kind":"world"}}"#.to_vec())
}

fn panic_message(p: Box<dyn std::any::Any + Send>) -> String {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into())
}

/// Runs `f` with panics caught, and wraps its result in an envelope.
pub fn guard<T: Serialize>(f: impl FnOnce() -> Result<T, PluginError>) -> Buffer {
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f))
        .unwrap_or_else(|p| Err(PluginError::world(format!("the plugin panicked: {}", panic_message(p)))));
    into_buffer(envelope(r))
}

/// Decodes a request, runs `f` with panics caught, and wraps its result in an envelope.
///
/// # Safety
/// `ptr` must point to `len` readable bytes for the duration of the call.
pub unsafe fn call<Req: DeserializeOwned, T: Serialize>(
    ptr: *const u8,
    len: usize,
    f: impl FnOnce(Req) -> Result<T, PluginError>,
) -> Buffer {
    let bytes: &[u8] = if ptr.is_null() { &[] } else { unsafe { std::slice::from_raw_parts(ptr, len) } };
    guard(|| {
        let req: Req = serde_json::from_slice(bytes)
            .map_err(|e| PluginError::world(format!("the plugin cannot read mcpkit's request: {e}")))?;
        f(req)
    })
}

/// Checks the ABI version a plugin reports.
pub fn compatible(version: u32) -> bool {
    version == ABI_VERSION
}

/// Turns an [`AuthProvider`](crate::AuthProvider) into a plugin: exports
/// `mcpkit_plugin_abi_version` and `mcpkit_plugin_vtable`. The expression builds the provider
/// (once, on first use).
///
/// ```ignore
/// struct MyIdp;
/// impl mcpkit_plugin_api::AuthProvider for MyIdp { /* ... */ }
/// mcpkit_plugin_api::export_auth_plugin!(MyIdp);
/// ```
#[macro_export]
macro_rules! export_auth_plugin {
    ($ctor:expr) => {
        fn __mcpkit_provider() -> &'static dyn $crate::AuthProvider {
            static PROVIDER: ::std::sync::OnceLock<::std::boxed::Box<dyn $crate::AuthProvider>> =
                ::std::sync::OnceLock::new();
            PROVIDER.get_or_init(|| ::std::boxed::Box::new($ctor)).as_ref()
        }

        #[unsafe(no_mangle)]
        pub extern "C" fn mcpkit_plugin_abi_version() -> u32 {
            $crate::ABI_VERSION
        }

        #[unsafe(no_mangle)]
        pub extern "C" fn mcpkit_plugin_vtable() -> *const $crate::ffi::VTable {
            unsafe extern "C" fn describe() -> $crate::ffi::Buffer {
                $crate::ffi::guard(|| Ok(__mcpkit_provider().describe()))
            }
            unsafe extern "C" fn provision(p: *const u8, l: usize) -> $crate::ffi::Buffer {
                unsafe { $crate::ffi::call(p, l, |r| __mcpkit_provider().provision(r)) }
            }
            unsafe extern "C" fn token(p: *const u8, l: usize) -> $crate::ffi::Buffer {
                unsafe { $crate::ffi::call(p, l, |r| __mcpkit_provider().token(r)) }
            }
            unsafe extern "C" fn teardown(p: *const u8, l: usize) -> $crate::ffi::Buffer {
                unsafe { $crate::ffi::call(p, l, |r| __mcpkit_provider().teardown(r)) }
            }
            unsafe extern "C" fn free(b: $crate::ffi::Buffer) {
                unsafe { $crate::ffi::free_buffer(b) }
            }
            static VTABLE: $crate::ffi::VTable = $crate::ffi::VTable {
                abi_version: $crate::ABI_VERSION,
                describe,
                provision,
                token,
                teardown,
                free,
            };
            &VTABLE
        }
    };
}
