//! The AWS emulator for tests: moto in server mode (from PyPI, in the test virtualenv) behind
//! the test-only extension in `tests/aws_emulator/`. Started on a free port, stopped on drop.

use super::{ChildGuard, free_port, python};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

pub struct Moto {
    _child: ChildGuard,
    pub port: u16,
}

fn emulator_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/aws_emulator")
}

impl Moto {
    pub fn start() -> Moto {
        let port = free_port();
        let child = Command::new(python())
            .arg(emulator_dir().join("moto_ext.py"))
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the AWS emulator");
        let moto = Moto { _child: ChildGuard(child), port };
        let start = Instant::now();
        loop {
            let ok = std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
                && ping(&format!("{}/test-ext/ping", moto.url()));
            if ok {
                return moto;
            }
            assert!(start.elapsed() < Duration::from_secs(60), "the AWS emulator did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// A Cognito pool with a client-credentials client; what `cognito_setup.py` prints.
    pub fn cognito_client(&self, name: &str) -> serde_json::Value {
        let out = Command::new(python())
            .arg(emulator_dir().join("cognito_setup.py"))
            .arg(self.url())
            .arg(name)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice(&out.stdout).unwrap()
    }
}

/// GET `url` and report whether it answered 200. Runs on a thread of its own so it works
/// inside and outside the tests' async runtimes.
fn ping(url: &str) -> bool {
    let url = url.to_string();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let client = ::reqwest::Client::builder().timeout(Duration::from_secs(2)).build().unwrap();
            client.get(&url).send().await.map(|r| r.status().is_success()).unwrap_or(false)
        })
    })
    .join()
    .unwrap_or(false)
}
