//! Helpers for the desktop end-to-end tests: start `tauri-driver` for the built app with a
//! private set of XDG folders, and stop it (and the app) when the test ends.

use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The desktop binary under test: `QCB_E2E_APP`, set by `make test-e2e`.
pub fn app_binary() -> PathBuf {
    let p = std::env::var_os("QCB_E2E_APP").map(PathBuf::from).expect(
        "QCB_E2E_APP must name the built desktop binary (run these tests through `make test-e2e`)",
    );
    assert!(
        p.is_file(),
        "QCB_E2E_APP={} does not exist; build it first",
        p.display()
    );
    p.canonicalize().expect("absolute app path")
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

/// A running tauri-driver; killed on drop (which ends the WebDriver session's app too).
pub struct Driver {
    child: Child,
    pub port: u16,
    pub home: tempfile::TempDir,
}

impl Driver {
    pub fn start() -> Driver {
        let home = tempfile::tempdir().expect("tempdir");
        let runtime = home.path().join("runtime");
        for d in ["runtime", "data", "config", "cache"] {
            std::fs::create_dir_all(home.path().join(d)).expect("xdg dir");
        }
        set_private(&runtime);
        let (port, native) = (free_port(), free_port());
        let driver = std::env::var("TAURI_DRIVER").unwrap_or_else(|_| "tauri-driver".into());
        // Its own process group, so that dropping the driver also ends the WebKitWebDriver and
        // app processes it starts (killing tauri-driver alone leaves them running).
        let child = Command::new(&driver)
            .process_group(0)
            .args([
                "--port",
                &port.to_string(),
                "--native-port",
                &native.to_string(),
            ])
            .env("XDG_DATA_HOME", home.path().join("data"))
            .env("XDG_CONFIG_HOME", home.path().join("config"))
            .env("XDG_CACHE_HOME", home.path().join("cache"))
            .env("XDG_RUNTIME_DIR", &runtime)
            .env_remove("QCBACKUP_TENANT_ID")
            // The app logs through the driver; keep it out of the test's pipes so nothing the
            // driver leaves running holds them open.
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(home.path().join("driver.log")).expect("driver log"))
            .spawn()
            .unwrap_or_else(|e| {
                panic!("starting {driver}: {e} (install it with `cargo install tauri-driver`)")
            });
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "tauri-driver did not listen on {port}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Driver { child, port, home }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// What the driver, WebKitWebDriver and the app printed.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.home.path().join("driver.log")).unwrap_or_default()
    }

    pub fn data_dir(&self) -> PathBuf {
        self.home.path().join("data")
    }

    pub fn config_dir(&self) -> PathBuf {
        self.home.path().join("config")
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("--- driver and app output ---\n{}", self.log());
        }
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.child.id())])
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn set_private(dir: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
        .expect("chmod runtime dir");
}
