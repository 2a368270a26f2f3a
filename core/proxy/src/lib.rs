//! `mcpkit proxy`: an MCP server on stdio that is a deployed gateway, reached over streamable
//! HTTP. It exists because MCP clients keep a bearer token pasted into their configuration,
//! and the token expires in an hour; the proxy holds the token instead, and renews it.
//!
//! The proxy knows MCP transports ([`bridge`]) and tokens ([`tokens`], [`bearer`]); it knows
//! nothing of targets, providers or AWS: the caller gives it the gateway's URL and either a
//! token [`tokens::Source`] or a client that authorizes requests itself (SigV4).

pub mod bearer;
pub mod bridge;
pub mod tokens;

use rmcp::transport::streamable_http_client::StreamableHttpClient;
use std::sync::Arc;

/// Where the proxy's diagnostics go (stderr, a log file): never stdout, which is the client's.
pub type Log = Arc<dyn Fn(&str) + Send + Sync>;

/// Serves the client on this process's stdin and stdout until it closes stdin, forwarding
/// everything to the gateway at `url` through `http`.
pub async fn serve_stdio<C: StreamableHttpClient>(url: String, http: C, log: Log) -> std::io::Result<()> {
    let (stdin, stdout) = stdio::take()?;
    let down = rmcp::transport::async_rw::AsyncRwTransport::new_server(stdin, stdout);
    bridge::Bridge::new(url, http, log).run(down).await;
    Ok(())
}

mod stdio {
    //! The client's pipes, for the transport alone. Descriptor 1 is pointed at stderr once the
    //! transport has its own copy of stdout, so that a print by anything else in the process
    //! (an auth plugin's debugging output, a library's warning) lands on stderr instead of in
    //! the middle of the JSON-RPC stream.

    use std::fs::File;
    use std::os::fd::FromRawFd;
    use tokio::io::{AsyncRead, AsyncWrite};

    pub type Reader = Box<dyn AsyncRead + Send + Unpin>;
    pub type Writer = Box<dyn AsyncWrite + Send + Unpin>;

    pub fn take() -> std::io::Result<(Reader, Writer)> {
        // SAFETY: dup and dup2 on the process's own standard descriptors; the new descriptor is
        // owned by the File made from it and by nothing else.
        let out = unsafe {
            let saved = libc::dup(1);
            if saved < 0 || libc::dup2(2, 1) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            File::from_raw_fd(saved)
        };
        // Pipes (as MCP clients start servers) go through the reactor; anything else (a file,
        // a terminal) through tokio's blocking handles.
        let writer: Writer = match tokio::net::unix::pipe::Sender::from_file(out.try_clone()?) {
            Ok(pipe) => Box::new(pipe),
            Err(_) => Box::new(tokio::fs::File::from_std(out)),
        };
        // Its own open file description (via /proc), so that the non-blocking flag stays ours.
        let reader: Reader =
            match File::open("/proc/self/fd/0").map(tokio::net::unix::pipe::Receiver::from_file) {
                Ok(Ok(pipe)) => Box::new(pipe),
                _ => Box::new(tokio::io::stdin()),
            };
        Ok((reader, writer))
    }
}
