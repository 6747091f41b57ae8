//! `rightsnet testnet up`: the real program starts a three-node network of real node
//! processes, seeds it once, converges, writes `testnet.json`, stops cleanly on SIGINT and
//! SIGTERM, restarts from the same directory without seeding again, refuses bad input with
//! exit 2, and exits non-zero when one of its nodes dies.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::harness::{Client, binary, run, wait_until};

/// How long a testnet may take to come up (the first run seeds it).
const UP_TIMEOUT: Duration = Duration::from_secs(120);
/// How long a testnet may take to stop after a signal.
const STOP_TIMEOUT: Duration = Duration::from_secs(30);
/// The directory `testnet up` uses without `--dir` (the README's quick start).
const DEFAULT_DIR: &str = ".rightsnet-testnet";

/// A running `rightsnet testnet up`; stopped (SIGTERM, then SIGKILL of it and its nodes) if a
/// test fails while it runs.
struct Testnet {
    child: Option<Child>,
    dir: PathBuf,
    stderr: PathBuf,
}

impl Testnet {
    fn start(dir: &Path, extra: &[&str], stderr: PathBuf) -> Self {
        let mut args = vec!["testnet", "up", "--dir", dir.to_str().unwrap()];
        args.extend_from_slice(extra);
        let mut command = Command::new(binary());
        command.args(&args).stdout(Stdio::null());
        Self::spawn(command, dir, stderr)
    }

    /// `rightsnet testnet up` exactly as the README's quick start runs it: no flags, from
    /// `root`; its standard output goes to `stdout`.
    fn start_with_defaults_in(root: &Path, stdout: &Path, stderr: PathBuf) -> Self {
        let mut command = Command::new(binary());
        command
            .args(["testnet", "up"])
            .current_dir(root)
            .stdout(std::fs::File::create(stdout).unwrap());
        Self::spawn(command, &root.join(DEFAULT_DIR), stderr)
    }

    fn spawn(mut command: Command, dir: &Path, stderr: PathBuf) -> Self {
        let child = command
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stderr(std::fs::File::create(&stderr).unwrap())
            .spawn()
            .expect("spawn rightsnet testnet up");
        Self {
            child: Some(child),
            dir: dir.to_owned(),
            stderr,
        }
    }

    fn pid(&self) -> u32 {
        self.child.as_ref().unwrap().id()
    }

    fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    /// Waits for the `testnet.json` this process wrote; panics with its stderr if it exits.
    fn wait_up(&mut self) -> Value {
        let path = self.dir.join("testnet.json");
        let deadline = Instant::now() + UP_TIMEOUT;
        loop {
            if let Ok(text) = std::fs::read_to_string(&path) {
                let value: Value = serde_json::from_str(&text).expect("testnet.json is JSON");
                if value["pid"] == self.pid() {
                    return value;
                }
            }
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                panic!(
                    "testnet exited ({status}) before it was up:\n{}",
                    self.stderr()
                );
            }
            assert!(
                Instant::now() < deadline,
                "testnet not up within {UP_TIMEOUT:?}:\n{}",
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn signal(&self, signal: &str) {
        signal_pid(self.pid(), signal);
    }

    /// Waits for the process to exit, up to [`STOP_TIMEOUT`].
    fn wait_exit(&mut self) -> ExitStatus {
        let mut child = self.child.take().unwrap();
        let deadline = Instant::now() + STOP_TIMEOUT;
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                return status;
            }
            if Instant::now() >= deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "testnet did not exit within {STOP_TIMEOUT:?}:\n{}",
                    self.stderr()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Testnet {
    fn drop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        signal_pid(child.id(), "TERM");
        let stopped = wait_until(STOP_TIMEOUT, || matches!(child.try_wait(), Ok(Some(_))));
        if !stopped {
            let _ = child.kill();
            let _ = child.wait();
            // Its nodes would outlive it: kill those it reported.
            if let Ok(text) = std::fs::read_to_string(self.dir.join("testnet.json")) {
                if let Ok(value) = serde_json::from_str::<Value>(&text) {
                    for pid in node_pids(&value) {
                        if alive(pid) {
                            signal_pid(pid, "KILL");
                        }
                    }
                }
            }
        }
    }
}

fn signal_pid(pid: u32, signal: &str) {
    let _ = Command::new("kill")
        .args([format!("-{signal}"), pid.to_string()])
        .status();
}

/// Whether a process exists (a zombie counts: the testnet must reap its nodes).
fn alive(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

fn node_pids(testnet: &Value) -> Vec<u32> {
    testnet["nodes"]
        .as_array()
        .map(|nodes| {
            nodes
                .iter()
                .filter_map(|node| node["pid"].as_u64())
                .map(|pid| pid as u32)
                .collect()
        })
        .unwrap_or_default()
}

fn node<'a>(testnet: &'a Value, name: &str) -> &'a Value {
    testnet["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|node| node["name"] == name)
        .unwrap_or_else(|| panic!("no node {name} in {testnet}"))
}

/// Every node's `/v1/status`, asserting that all hold the same, non-empty feeds; returns the
/// entry count.
fn assert_converged(testnet: &Value) -> u64 {
    let statuses: Vec<Value> = testnet["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|node| {
            let reply = Client::new(node["api"].as_str().unwrap()).get("/v1/status");
            assert_eq!(reply.status, 200, "{}", reply.body);
            reply.body
        })
        .collect();
    let feeds = |status: &Value| {
        let mut feeds: Vec<(String, u64, String)> = status["feeds"]
            .as_array()
            .unwrap()
            .iter()
            .map(|feed| {
                (
                    feed["author"].as_str().unwrap().to_owned(),
                    feed["seq"].as_u64().unwrap(),
                    feed["id"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        feeds.sort();
        feeds
    };
    let first = feeds(&statuses[0]);
    assert!(!first.is_empty(), "no feeds: {}", statuses[0]);
    for status in &statuses[1..] {
        assert_eq!(feeds(status), first, "feeds differ: {status}");
    }
    statuses[0]["entry_count"].as_u64().unwrap()
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn testnet_rejects_bad_input_with_exit_2() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("net");
    let dir_text = dir.to_str().unwrap();
    for args in [
        vec!["--offices", "FR,XX"],
        vec!["--offices", "FR,FR"],
        vec!["--offices", "FRANCE"],
        vec!["--marketplaces", "17"],
        vec![
            "--offices",
            "AD,AE,AF,AG,AI,AL,AM,AO,AQ,AR,AS,AT,AU,AW,AX,AZ,BA",
        ],
    ] {
        let mut full = vec!["testnet", "up", "--dir", dir_text];
        full.extend(args.iter().copied());
        let output = run(&full, b"");
        assert_eq!(
            output.status.code(),
            Some(2),
            "{args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(!dir.exists(), "{args:?} created the directory");
    }
    let output = run(
        &["testnet", "up", "--dir", dir_text, "--offices", "FR,XX"],
        b"",
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("invalid jurisdiction \"XX\""), "{stderr}");
    // A directory that holds something other than a testnet is refused too.
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("notes.txt"), "mine").unwrap();
    let output = run(&["testnet", "up", "--dir", dir_text], b"");
    assert_eq!(
        output.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(!dir.join("nodes").exists());
}

#[test]
fn testnet_up_seeds_converges_stops_and_restarts_without_reseeding() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("net");

    // First run: keys, trust store, configs, seeding.
    let mut first = Testnet::start(
        &dir,
        &["--offices", "FR,CN", "--marketplaces", "1"],
        root.path().join("first.err"),
    );
    let testnet = first.wait_up();
    let names: Vec<&str> = testnet["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|node| node["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["office-fr", "office-cn", "marketplace-1"]);
    assert_eq!(
        node(&testnet, "office-cn")["jurisdictions"],
        serde_json::json!(["CN"])
    );
    assert_eq!(node(&testnet, "marketplace-1")["role"], "marketplace");
    assert!(Path::new(testnet["trust_store"].as_str().unwrap()).exists());
    // The marketplace enforces the rights of every office of the testnet.
    let config =
        std::fs::read_to_string(node(&testnet, "marketplace-1")["config"].as_str().unwrap())
            .unwrap();
    assert!(
        config.contains("[marketplace]")
            && config.contains(r#"accepted_jurisdictions = ["FR", "CN"]"#),
        "{config}"
    );
    let entry_count = assert_converged(&testnet);
    assert!(entry_count >= 160, "{entry_count} entries");
    #[cfg(unix)]
    for node in testnet["nodes"].as_array().unwrap() {
        let token_file = Path::new(node["operator_token_file"].as_str().unwrap());
        assert_eq!(mode(token_file), 0o600);
        let config = Path::new(node["config"].as_str().unwrap());
        assert_eq!(mode(&config.with_file_name("authority.json")), 0o600);
    }

    // The marketplace answers searches of foreign rights, with their history.
    let marketplace = Client::new(node(&testnet, "marketplace-1")["api"].as_str().unwrap());
    let mut rights = Vec::new();
    for jurisdiction in ["FR", "CN"] {
        let reply = marketplace.get(&format!("/v1/rights?jurisdiction={jurisdiction}&limit=500"));
        assert_eq!(reply.status, 200, "{}", reply.body);
        let page = reply.body["rights"].as_array().unwrap().clone();
        assert!(page.len() >= 50, "{jurisdiction}: {} rights", page.len());
        assert!(
            page.iter()
                .all(|right| right["jurisdiction"] == jurisdiction)
        );
        rights.extend(page);
    }
    assert!(
        rights.iter().any(|right| right["status"] == "cancelled"),
        "no cancelled right"
    );
    assert!(
        rights.iter().any(|right| right["holder"]["key"]
            .as_str()
            .is_some_and(|key| key.starts_with("did:key:"))),
        "no holder with a key"
    );
    assert!(
        rights.iter().any(|right| right["mark_text"]
            .as_str()
            .is_some_and(|mark| mark.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)))),
        "no Chinese mark"
    );
    let assigned = rights.iter().find_map(|right| {
        let detail = marketplace.get(&format!("/v1/rights/{}", right["right_id"].as_str()?));
        let history = detail.body["history"].as_array()?.clone();
        history
            .iter()
            .any(|item| item["change"] == "assigned")
            .then_some(detail.body)
    });
    let assigned = assigned.expect("no right with an assignment in its history");
    assert_eq!(assigned["history"][0]["change"], "registration");

    // The demo plays the whole cross-border story against the running testnet.
    let demo = run(&["testnet", "demo", "--dir", dir.to_str().unwrap()], b"");
    let demo_output = String::from_utf8_lossy(&demo.stdout);
    assert_eq!(
        demo.status.code(),
        Some(0),
        "{demo_output}\n{}",
        String::from_utf8_lossy(&demo.stderr)
    );
    assert!(demo_output.contains("FAIL registry"), "{demo_output}");
    // The rotation and the revocation of the story: the credential anchored before the rotation
    // is accepted, the revoked one is refused on its status.
    assert!(
        demo_output.contains("ok   issuer_key_rotated"),
        "{demo_output}"
    );
    assert!(
        demo_output.contains("FAIL credential_status"),
        "{demo_output}"
    );
    assert!(
        demo_output.contains("the whole story played as expected"),
        "{demo_output}"
    );
    // Against a directory without a testnet, the demo says so and fails.
    let absent = run(
        &["testnet", "demo", "--dir", root.path().to_str().unwrap()],
        b"",
    );
    assert_eq!(absent.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&absent.stderr).contains("testnet.json"));
    // The demo's entries reach every node too: a registration, the credential's log entry, a
    // notice, a decision, a counter-notice, the office's key rotation, a second notice (the
    // credential anchored before the rotation), a second credential's log entry and its
    // revocation (in the new key's feed), a cancellation; and the one entry of the office the
    // split-view step trusts for a moment (its feed stays stored when it is removed again).
    let entry_count = entry_count + 11;
    assert!(
        wait_until(Duration::from_secs(30), || {
            std::panic::catch_unwind(|| assert_converged(&testnet)).is_ok_and(|n| n == entry_count)
        }),
        "the demo's entries did not reach every node"
    );

    // SIGINT: every node stops, the testnet exits 0, nothing is left running.
    first.signal("INT");
    let status = first.wait_exit();
    assert!(status.success(), "{status}:\n{}", first.stderr());
    let pids = node_pids(&testnet);
    assert_eq!(pids.len(), 3);
    for pid in &pids {
        assert!(!alive(*pid), "node process {pid} still runs");
    }
    assert!(dir.join("nodes/office-fr/data").is_dir(), "data removed");

    // Second run on the same directory: same authorities, no seeding, same entries.
    let mut second = Testnet::start(&dir, &[], root.path().join("second.err"));
    let again = second.wait_up();
    for name in ["office-fr", "office-cn", "marketplace-1"] {
        assert_eq!(
            node(&again, name)["authority"],
            node(&testnet, name)["authority"]
        );
    }
    assert_eq!(
        assert_converged(&again),
        entry_count,
        "reseeded:\n{}",
        second.stderr()
    );
    assert!(!second.stderr().contains("seeding"), "{}", second.stderr());
    second.signal("TERM");
    let status = second.wait_exit();
    assert!(status.success(), "{status}:\n{}", second.stderr());
    for pid in node_pids(&again) {
        assert!(!alive(pid), "node process {pid} still runs");
    }

    // Asking for another network in the same directory is refused.
    let output = run(
        &[
            "testnet",
            "up",
            "--dir",
            dir.to_str().unwrap(),
            "--offices",
            "FR,US",
        ],
        b"",
    );
    assert_eq!(
        output.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );

    // A node that dies takes the testnet down with a non-zero exit, and the others with it.
    let mut third = Testnet::start(&dir, &[], root.path().join("third.err"));
    let running = third.wait_up();
    let victim = node(&running, "marketplace-1")["pid"].as_u64().unwrap() as u32;
    signal_pid(victim, "KILL");
    let status = third.wait_exit();
    assert!(!status.success(), "{status}:\n{}", third.stderr());
    assert!(
        third.stderr().contains("marketplace-1"),
        "{}",
        third.stderr()
    );
    for pid in node_pids(&running) {
        assert!(!alive(pid), "node process {pid} still runs");
    }
}

/// Issue 10, item 0 and 19: the README's quick start and its "Using it" commands, verbatim, in a
/// fresh clone of this repository. `testnet up` runs from the clone's root with its defaults
/// (which once collided with the `testnet/` crate there), prints the lines that point the client
/// at a node, `testnet demo` plays the story, and every command of the README's "Using it" block
/// runs as written (with `rightsnet` being the program under test instead of `cargo run`, which
/// builds the same program), exiting as the README says. The testnet's directory is git-ignored:
/// the clone stays clean.
#[test]
fn the_readme_quick_start_works_verbatim_in_a_fresh_clone() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    assert!(
        root.join(".git").exists(),
        "{} is not a git checkout: this test clones it",
        root.display()
    );
    let work = tempfile::tempdir().unwrap();
    let clone = work.path().join("rightsnet");
    let status = Command::new("git")
        .args([
            "clone",
            "--quiet",
            root.to_str().unwrap(),
            clone.to_str().unwrap(),
        ])
        .status()
        .expect("git clone");
    assert!(status.success(), "git clone failed");
    let readme = std::fs::read_to_string(clone.join("README.md")).unwrap();
    assert!(
        readme.contains("cargo run -p rightsnet-cli -- testnet up\n"),
        "the README's quick start changed; update this test with it"
    );

    let stdout = work.path().join("up.stdout");
    let mut testnet =
        Testnet::start_with_defaults_in(&clone, &stdout, work.path().join("up.stderr"));
    let description = testnet.wait_up();
    assert_converged(&description);
    let printed = std::fs::read_to_string(&stdout).unwrap();
    for node in description["nodes"].as_array().unwrap() {
        let line = format!("export RIGHTSNET_NODE={}", node["api"].as_str().unwrap());
        assert!(printed.contains(&line), "{line} not printed:\n{printed}");
    }

    let demo = Command::new(binary())
        .args(["testnet", "demo"])
        .current_dir(&clone)
        .output()
        .unwrap();
    assert!(
        demo.status.success(),
        "testnet demo failed:\n{}\n{}",
        String::from_utf8_lossy(&demo.stdout),
        String::from_utf8_lossy(&demo.stderr)
    );

    // The README's "Using it" block, line by line, each with the exit code it should have
    // (0, or what a `# exit N` comment on the line says).
    let block = readme_block(&readme, "## Using it");
    let mut script = format!(
        "cd {}\nrightsnet() {{ {} \"$@\"; }}\n",
        shell_quote(clone.to_str().unwrap()),
        shell_quote(binary().to_str().unwrap())
    );
    let mut commands = 0;
    for line in block.lines() {
        if line.starts_with("alias rightsnet=") {
            assert_eq!(
                line.split('#').next().unwrap().trim(),
                "alias rightsnet='cargo run -q -p rightsnet-cli --'"
            );
            continue;
        }
        if line.trim().is_empty() || line.trim_start().starts_with('#') {
            continue;
        }
        let expected: i32 = line
            .split_once("# exit ")
            .and_then(|(_, rest)| rest.get(..1))
            .map_or(0, |digit| digit.parse().unwrap());
        script.push_str(&format!(
            "{line}\nstatus=$?\nif [ $status -ne {expected} ]; then echo \"README line exited $status, not {expected}: \"{} >&2; exit 1; fi\n",
            shell_quote(line)
        ));
        commands += 1;
    }
    assert!(
        commands >= 5,
        "the README's Using it block has too few commands:\n{block}"
    );
    let output = Command::new("bash")
        .args(["-c", &script])
        .env_remove("RIGHTSNET_NODE")
        .env_remove("RIGHTSNET_TOKEN_FILE")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "a README command failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let printed = String::from_utf8_lossy(&output.stdout);
    assert!(printed.contains("ÉTOILE DU NORD"), "{printed}");
    assert!(printed.contains("JAVA"), "{printed}");

    testnet.signal("TERM");
    assert!(testnet.wait_exit().success());
    let porcelain = Command::new("git")
        .args(["status", "--porcelain", "--untracked-files=all"])
        .current_dir(&clone)
        .output()
        .unwrap();
    assert!(
        porcelain.stdout.is_empty(),
        "the quick start left files git sees:\n{}",
        String::from_utf8_lossy(&porcelain.stdout)
    );
}

/// The first ```sh block after `heading` in a Markdown text.
fn readme_block(markdown: &str, heading: &str) -> String {
    let after = &markdown[markdown.find(heading).expect("heading")..];
    let start = after.find("```sh\n").expect("a sh block") + "```sh\n".len();
    let end = after[start..].find("```").expect("block end");
    after[start..start + end].to_owned()
}

fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// `rightsnet testnet env` refuses an unknown node or a directory without a testnet (exit 2).
#[test]
fn testnet_env_refuses_unknown_nodes_and_missing_testnets() {
    let dir = tempfile::tempdir().unwrap();
    let env = |name: &str| {
        run(
            &[
                "testnet",
                "env",
                name,
                "--dir",
                dir.path().to_str().unwrap(),
            ],
            b"",
        )
    };
    let out = env("office-fr");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("testnet up"));
    std::fs::write(
        dir.path().join("testnet.json"),
        r#"{"nodes": [{"name": "office-fr", "api": "http://127.0.0.1:1", "operator_token_file": "/tmp/a b/token"}]}"#,
    )
    .unwrap();
    let out = env("office-xx");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("office-fr"));
    let out = env("office-fr");
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "export RIGHTSNET_NODE=http://127.0.0.1:1\nexport RIGHTSNET_TOKEN_FILE='/tmp/a b/token'\n"
    );
}
