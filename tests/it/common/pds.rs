//! A real Bluesky PDS on loopback for a test: `../shared/servers/pds/start.sh`, stopped with
//! `stop.sh` when the [`Pds`] is dropped (also when the test panics).
//!
//! The tests' PDS has its own `PDS_HOME` under the test target directory, so its pid file,
//! log and data (wiped with `PDS_FRESH=1`) are its own and a PDS someone else runs from the
//! default home is never touched; one runs at a time (a test waits for the one before it to
//! stop). The 560 MB install (`app/`, `node/`) is taken from the default home when it is
//! complete there (symbolic links); otherwise `start.sh` installs it once into the tests' home,
//! where every later run finds it.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// A running PDS with one account.
pub struct Pds {
    /// `http://127.0.0.1:<port>`.
    pub url: String,
    /// The account's handle (`alice.test`).
    pub handle: String,
    /// The account's password.
    pub password: String,
    /// The account's DID.
    pub did: String,
    home: PathBuf,
    /// One PDS at a time in this test binary: they share the tests' home and port.
    _turn: std::sync::MutexGuard<'static, ()>,
}

static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn scripts() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/servers/pds")
}

/// The default `PDS_HOME` of `start.sh`, which holds the shared install.
fn shared_home() -> PathBuf {
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cache")))
        .expect("HOME or XDG_CACHE_HOME is set");
    cache.join("herald-test-pds")
}

/// A port that is free on 127.0.0.1, with the one below it free too.
fn free_port_pair() -> u16 {
    let free = |port: u16| std::net::TcpListener::bind(("127.0.0.1", port)).is_ok();
    for _ in 0..100 {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("binding a port");
        let port = listener.local_addr().expect("its address").port();
        drop(listener);
        if port > 1024 && free(port) && free(port - 1) {
            return port;
        }
    }
    panic!("no two adjacent free ports on 127.0.0.1");
}

impl Pds {
    /// Starts a fresh PDS (empty data) on a free port, or `PDS_PORT` when set (the PLC
    /// directory on the port below). The first run installs the server, which takes a few
    /// minutes.
    pub fn start() -> Pds {
        let turn = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
        let port = std::env::var("PDS_PORT")
            .ok()
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(free_port_pair);
        let home = Path::new(env!("CARGO_TARGET_TMPDIR")).join("pds");
        std::fs::create_dir_all(&home).expect("creating the PDS home");
        let shared = shared_home();
        if installed(&shared.join("app")) && !installed(&home.join("app")) {
            for dir in ["app", "node"] {
                let link = home.join(dir);
                let _ = std::fs::remove_dir_all(&link).or_else(|_| std::fs::remove_file(&link));
                if shared.join(dir).exists() {
                    std::os::unix::fs::symlink(shared.join(dir), &link)
                        .expect("linking the install");
                }
            }
        }
        let out = Command::new("bash")
            .arg(scripts().join("start.sh"))
            .env("PDS_HOME", &home)
            .env("PDS_PORT", port.to_string())
            .env("PDS_FRESH", "1")
            .stdin(Stdio::null())
            .stderr(Stdio::inherit())
            .output()
            .expect("running ../shared/servers/pds/start.sh");
        // Built before checking, so that a half-started server is stopped too.
        let mut pds = Pds {
            url: String::new(),
            handle: String::new(),
            password: String::new(),
            did: String::new(),
            home,
            _turn: turn,
        };
        assert!(out.status.success(), "start.sh failed ({}); see its messages above", out.status);
        let vars: HashMap<&str, &str> = std::str::from_utf8(&out.stdout)
            .expect("start.sh prints UTF-8")
            .lines()
            .filter_map(|l| l.split_once('='))
            .collect();
        let var =
            |k: &str| vars.get(k).unwrap_or_else(|| panic!("start.sh printed no {k}")).to_string();
        pds.url = var("PDS_URL");
        pds.handle = var("PDS_HANDLE");
        pds.password = var("PDS_PASSWORD");
        pds.did = var("PDS_DID");
        pds
    }

    /// The server's log file.
    pub fn log(&self) -> PathBuf {
        self.home.join("pds.log")
    }
}

/// Whether `app` holds a completed install (`start.sh` leaves a stamp file when done).
fn installed(app: &Path) -> bool {
    std::fs::read_dir(app).is_ok_and(|entries| {
        entries.flatten().any(|e| e.file_name().to_string_lossy().starts_with(".installed-pds-"))
    })
}

impl Drop for Pds {
    fn drop(&mut self) {
        let status = Command::new("bash")
            .arg(scripts().join("stop.sh"))
            .env("PDS_HOME", &self.home)
            .stdin(Stdio::null())
            .status();
        if !matches!(status, Ok(s) if s.success()) {
            eprintln!("stopping the PDS in {} failed: {status:?}", self.home.display());
        }
    }
}
