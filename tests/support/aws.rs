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

impl Moto {
    /// The environment a mcpkit process needs to use the emulator as its AWS (and nothing of
    /// the developer's own AWS configuration).
    pub fn env(&self) -> Vec<(String, String)> {
        [
            ("AWS_ENDPOINT_URL", self.url()),
            ("AWS_ACCESS_KEY_ID", "testing".into()),
            ("AWS_SECRET_ACCESS_KEY", "testing".into()),
            ("AWS_REGION", "us-east-1".into()),
            ("AWS_CONFIG_FILE", "/nonexistent/mcpkit-test-aws-config".into()),
            ("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/mcpkit-test-aws-credentials".into()),
            ("AWS_EC2_METADATA_DISABLED", "true".into()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
    }

    fn request(&self, method: &str, path: &str, body: Option<serde_json::Value>) -> serde_json::Value {
        let url = format!("{}{path}", self.url());
        let method = ::reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            rt.block_on(async {
                let client = ::reqwest::Client::new();
                let mut req = client.request(method, &url);
                if let Some(b) = body {
                    req = req.json(&b);
                }
                let resp = req.send().await.unwrap();
                let text = resp.text().await.unwrap();
                serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text))
            })
        })
        .join()
        .unwrap()
    }

    /// Sets fault-injection settings (`tests/aws_emulator/README.md`).
    pub fn faults(&self, settings: serde_json::Value) -> serde_json::Value {
        self.request("POST", "/test-ext/faults", Some(settings))
    }
    pub fn fault_state(&self) -> serde_json::Value {
        self.request("GET", "/test-ext/faults", None)
    }
    pub fn release(&self) {
        self.request("POST", "/test-ext/release", None);
    }
    /// Every signed AWS request since the last `clear_calls`.
    pub fn calls(&self) -> Vec<serde_json::Value> {
        self.request("GET", "/test-ext/calls", None).as_array().cloned().unwrap_or_default()
    }
    pub fn clear_calls(&self) {
        self.request("DELETE", "/test-ext/calls", None);
    }
    /// The mutating AWS operations since the last `clear_calls`, as `service:op`.
    pub fn mutating_calls(&self) -> Vec<String> {
        self.calls()
            .iter()
            .filter(|c| c["mutating"] == true && c["fault"].is_null())
            .map(|c| format!("{}:{}", c["service"].as_str().unwrap_or(""), c["op"].as_str().unwrap_or("")))
            .collect()
    }
    /// What exists in the emulator (`total` counts everything).
    pub fn inventory(&self) -> serde_json::Value {
        self.request("GET", "/test-ext/inventory", None)
    }
    /// Forgets everything: AWS state, faults, the call log.
    pub fn reset(&self) {
        self.request("POST", "/moto-api/reset", None);
    }

    /// SDK configuration for checking what exists, the way a user's script would.
    pub fn sdk(&self) -> aws_config::SdkConfig {
        use aws_smithy_http_client::tls;
        let http = aws_smithy_http_client::Builder::new()
            .tls_provider(tls::Provider::Rustls(tls::rustls_provider::CryptoMode::Ring))
            .build_https();
        let creds = aws_credential_types::Credentials::new("testing", "testing", None, None, "test");
        let url = self.url();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            rt.block_on(
                aws_config::defaults(aws_config::BehaviorVersion::latest())
                    .http_client(http)
                    .endpoint_url(url)
                    .region(aws_config::Region::new("us-east-1"))
                    .credentials_provider(creds)
                    .load(),
            )
        })
        .join()
        .unwrap()
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
