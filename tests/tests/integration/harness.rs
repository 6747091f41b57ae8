//! Helpers shared by the integration tests: run the binary, start nodes, poll with deadlines.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

/// The `rightsnet` program under test.
pub fn binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_rightsnet-under-test"))
}

/// The W3C test vectors shipped with proto-types.
pub fn vector(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../proto-types/testdata/w3c-vc-di-eddsa")
        .join(name)
}

/// Runs `rightsnet args…` with `stdin`, waits, returns its output.
pub fn run(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(binary())
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn rightsnet");
    let mut input = child.stdin.take().expect("stdin");
    let data = stdin.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = input.write_all(&data);
    });
    let output = child.wait_with_output().expect("wait rightsnet");
    writer.join().expect("stdin writer");
    output
}

/// Polls `check` every 50 ms until it returns true or `timeout` passes.
pub fn wait_until(timeout: Duration, mut check: impl FnMut() -> bool) -> bool {
    let deadline = std::time::Instant::now() + timeout;
    while std::time::Instant::now() < deadline {
        if check() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    check()
}

/// The operator token every test node uses.
pub const TOKEN: &str = "test-operator-token-0123456789";

/// A node's files: key, trust store, token, data directory.
pub struct NodeFiles {
    /// The temporary directory holding everything.
    pub dir: tempfile::TempDir,
    /// The authority's did:key.
    pub authority: String,
    /// A trusted foreign office's key file (FR), for signing entries outside the node.
    pub foreign_key: PathBuf,
    /// The foreign office's did:key.
    pub foreign_authority: String,
}

impl NodeFiles {
    /// Creates the files of a node whose authority is an office for `jurisdictions`, trusting
    /// also a second office (FR) whose key the tests hold.
    pub fn office(jurisdictions: &[&str]) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let key_path = dir.path().join("authority.json");
        let out = run(&["key", "gen", "--out", key_path.to_str().unwrap()], b"");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let authority = String::from_utf8(out.stdout).unwrap().trim().to_owned();
        let foreign_key = dir.path().join("foreign.json");
        let out = run(&["key", "gen", "--out", foreign_key.to_str().unwrap()], b"");
        assert!(out.status.success());
        let foreign_authority = String::from_utf8(out.stdout).unwrap().trim().to_owned();
        let list = jurisdictions
            .iter()
            .map(|j| format!("\"{j}\""))
            .collect::<Vec<_>>()
            .join(", ");
        let trust = format!(
            "[[authority]]\ndid = \"{authority}\"\nname = \"Test Office\"\nrole = \"office\"\njurisdictions = [{list}]\n\n[[authority]]\ndid = \"{foreign_authority}\"\nname = \"Foreign Office\"\nrole = \"office\"\njurisdictions = [\"FR\"]\n"
        );
        std::fs::write(dir.path().join("trust.toml"), trust).unwrap();
        std::fs::write(dir.path().join("token"), TOKEN).unwrap();
        Self {
            dir,
            authority,
            foreign_key,
            foreign_authority,
        }
    }

    /// Files for a node whose directory already holds `authority.json` and `token`, with a
    /// trust store elsewhere (the federation tests' layout).
    pub fn from_dir(directory: PathBuf, trust: PathBuf) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        for name in ["authority.json", "token"] {
            std::fs::copy(directory.join(name), dir.path().join(name)).unwrap();
        }
        std::fs::copy(trust, dir.path().join("trust.toml")).unwrap();
        let key = proto_types::keys::KeyFile::parse(
            &std::fs::read(dir.path().join("authority.json")).unwrap(),
        )
        .unwrap();
        let foreign_key = dir.path().join("authority.json");
        Self {
            authority: key.public_key().to_did_key(),
            foreign_authority: key.public_key().to_did_key(),
            foreign_key,
            dir,
        }
    }

    /// The data directory.
    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// Starts the node process with generous rate limits (tests send many requests).
    pub fn start(&self) -> NodeProcess {
        self.start_with_limits("rate_limit_per_second = 100000\nrate_limit_burst = 100000\n")
    }

    /// Starts the node process from a config file whose `[limits]` table is `limits`; returns
    /// it once it has printed its API address.
    pub fn start_with_limits(&self, limits: &str) -> NodeProcess {
        self.start_with(&[], limits)
    }

    /// Starts the node process with bootstrap peers and a `[limits]` table.
    pub fn start_with(&self, bootstrap: &[String], limits: &str) -> NodeProcess {
        let bootstrap = bootstrap
            .iter()
            .map(|address| format!("\"{address}\""))
            .collect::<Vec<_>>()
            .join(", ");
        let config = format!(
            "data_dir = \"data\"\napi_listen = \"127.0.0.1:0\"\np2p_listen = \"/ip4/127.0.0.1/tcp/0\"\nbootstrap = [{bootstrap}]\nauthority_key = \"authority.json\"\ntrust_store = \"trust.toml\"\noperator_token_file = \"token\"\n\n[limits]\n{limits}"
        );
        let config_path = self.dir.path().join("node.toml");
        std::fs::write(&config_path, config).unwrap();
        let mut child = Command::new(binary())
            .args(["node", "run", "--config", config_path.to_str().unwrap()])
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn node");
        let stdout = child.stdout.take().expect("stdout");
        let mut reader = std::io::BufReader::new(stdout);
        let mut line = String::new();
        std::io::BufRead::read_line(&mut reader, &mut line).expect("read listening line");
        let event: serde_json::Value =
            serde_json::from_str(&line).unwrap_or_else(|_| panic!("node did not start: {line:?}"));
        let api = event["api"].as_str().expect("api").to_owned();
        let peer_id = event["peer_id"].as_str().expect("peer_id").to_owned();
        NodeProcess {
            child,
            api,
            peer_id,
        }
    }
}

/// A running node process.
pub struct NodeProcess {
    /// The process.
    pub child: Child,
    /// Its API base URL.
    pub api: String,
    /// Its libp2p peer id.
    pub peer_id: String,
}

impl NodeProcess {
    /// `kill -9`.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM, then wait for a clean exit.
    pub fn terminate(mut self) -> std::process::ExitStatus {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        self.child.wait().expect("wait node")
    }
}

impl Drop for NodeProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A small blocking HTTP client over the node's API.
pub struct Client {
    /// The API base URL.
    pub base: String,
    http: reqwest::blocking::Client,
}

/// A response: status and JSON body (or the text when it is not JSON).
pub struct Reply {
    /// HTTP status.
    pub status: u16,
    /// Body as JSON (Null when empty, a string when not JSON).
    pub body: serde_json::Value,
}

impl Client {
    /// A client for `base`.
    pub fn new(base: &str) -> Self {
        Self {
            base: base.to_owned(),
            http: reqwest::blocking::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .unwrap(),
        }
    }

    fn reply(response: reqwest::blocking::Response) -> Reply {
        let status = response.status().as_u16();
        let text = response.text().unwrap_or_default();
        let body = serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text));
        Reply { status, body }
    }

    /// GET a path.
    pub fn get(&self, path: &str) -> Reply {
        Self::reply(
            self.http
                .get(format!("{}{path}", self.base))
                .send()
                .expect("GET"),
        )
    }

    /// GET a path with a bearer token.
    pub fn get_with_token(&self, path: &str, token: &str) -> Reply {
        Self::reply(
            self.http
                .get(format!("{}{path}", self.base))
                .bearer_auth(token)
                .send()
                .expect("GET"),
        )
    }

    /// POST raw bytes with an optional bearer token.
    pub fn post_raw(&self, path: &str, body: Vec<u8>, token: Option<&str>) -> Reply {
        let mut request = self
            .http
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/json")
            .body(body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        Self::reply(request.send().expect("POST"))
    }

    /// POST JSON with the operator token.
    pub fn post(&self, path: &str, body: &serde_json::Value) -> Reply {
        self.post_raw(path, serde_json::to_vec(body).unwrap(), Some(TOKEN))
    }
}
