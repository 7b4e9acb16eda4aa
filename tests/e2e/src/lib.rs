//! Helpers for the desktop end-to-end tests: start `tauri-driver` for the built app with a
//! private set of XDG folders, a private D-Bus session with an unlocked gnome-keyring (the
//! app's keychain; also what keeps parallel tests' single-instance locks apart), and stop it
//! all when the test ends.

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

/// A running tauri-driver; killed on drop (which ends the WebDriver session's app too), with
/// the session bus and keyring it runs in.
pub struct Driver {
    child: Child,
    bus: Child,
    keyring: Child,
    pub port: u16,
    pub home: tempfile::TempDir,
}

/// Starts a private session bus listening on `home/bus`; returns it and its address.
fn start_bus(home: &Path) -> (Child, String) {
    let socket = home.join("bus");
    let bus = Command::new("dbus-daemon")
        .process_group(0)
        .args(["--session", "--nofork", "--nopidfile"])
        .arg(format!("--address=unix:path={}", socket.display()))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("starting dbus-daemon: {e} (run scripts/bootstrap.sh test)"));
    let deadline = Instant::now() + Duration::from_secs(10);
    while !socket.exists() {
        assert!(Instant::now() < deadline, "dbus-daemon did not listen");
        std::thread::sleep(Duration::from_millis(20));
    }
    (bus, format!("unix:path={}", socket.display()))
}

/// Starts gnome-keyring's Secret Service on `bus`, unlocked, in the foreground (so that it
/// can be stopped), and waits until it owns its bus name.
#[expect(
    clippy::zombie_processes,
    reason = "the child is returned and waited for in Driver::drop; it also ends with its bus"
)]
fn start_keyring(home: &Path, bus: &str) -> Child {
    use std::io::Write;
    let mut keyring = Command::new("gnome-keyring-daemon")
        .process_group(0)
        .args(["--foreground", "--unlock", "--components=secrets"])
        .env("DBUS_SESSION_BUS_ADDRESS", bus)
        .env("XDG_RUNTIME_DIR", home.join("runtime"))
        .env("XDG_DATA_HOME", home.join("keyring-data"))
        .env("HOME", home)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("starting gnome-keyring-daemon: {e} (run scripts/bootstrap.sh test)")
        });
    let mut stdin = keyring.stdin.take().expect("keyring stdin");
    stdin.write_all(b"qcb-e2e").expect("keyring password");
    drop(stdin);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let owned = Command::new("dbus-send")
            .env("DBUS_SESSION_BUS_ADDRESS", bus)
            .args([
                "--session",
                "--print-reply",
                "--dest=org.freedesktop.DBus",
                "/org/freedesktop/DBus",
                "org.freedesktop.DBus.NameHasOwner",
                "string:org.freedesktop.secrets",
            ])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).contains("boolean true"))
            .unwrap_or(false);
        if owned {
            return keyring;
        }
        if Instant::now() >= deadline {
            let _ = keyring.kill();
            let _ = keyring.wait();
            panic!("gnome-keyring did not start");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

impl Driver {
    pub fn start() -> Driver {
        let home = tempfile::tempdir().expect("tempdir");
        let runtime = home.path().join("runtime");
        for d in ["runtime", "data", "config", "cache"] {
            std::fs::create_dir_all(home.path().join(d)).expect("xdg dir");
        }
        set_private(&runtime);
        let (bus, bus_address) = start_bus(home.path());
        let keyring = start_keyring(home.path(), &bus_address);
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
            .env("DBUS_SESSION_BUS_ADDRESS", &bus_address)
            // Some desktop files go under $HOME whatever XDG says (autostart entries).
            .env("HOME", home.path())
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
        Driver {
            child,
            bus,
            keyring,
            port,
            home,
        }
    }

    /// The environment the driver gives the app (XDG folders, session bus), for starting
    /// another copy of it by hand.
    pub fn app_env(&self) -> Vec<(String, String)> {
        let h = self.home.path();
        vec![
            ("XDG_DATA_HOME".into(), h.join("data").display().to_string()),
            (
                "XDG_CONFIG_HOME".into(),
                h.join("config").display().to_string(),
            ),
            (
                "XDG_CACHE_HOME".into(),
                h.join("cache").display().to_string(),
            ),
            (
                "XDG_RUNTIME_DIR".into(),
                h.join("runtime").display().to_string(),
            ),
            ("DBUS_SESSION_BUS_ADDRESS".into(), self.bus_address()),
            ("HOME".into(), h.display().to_string()),
        ]
    }

    /// The private session bus the app runs on (tests own names on it, e.g. notifications).
    pub fn bus_address(&self) -> String {
        format!("unix:path={}", self.home.path().join("bus").display())
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

    /// The app's process id: the process in the driver's group running the app binary.
    pub fn app_pid(&self) -> Option<u32> {
        let app = app_binary().canonicalize().ok()?;
        let group = self.child.id();
        std::fs::read_dir("/proc").ok()?.flatten().find_map(|e| {
            let pid: u32 = e.file_name().to_str()?.parse().ok()?;
            let stat = std::fs::read_to_string(e.path().join("stat")).ok()?;
            // pid (comm) state ppid pgrp ...: comm may hold spaces, so split after its ')'.
            let pgrp: u32 = stat
                .rsplit_once(')')?
                .1
                .split_whitespace()
                .nth(2)?
                .parse()
                .ok()?;
            let exe = std::fs::read_link(e.path().join("exe")).ok()?;
            (pgrp == group && exe == app).then_some(pid)
        })
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
        for c in [&mut self.keyring, &mut self.bus] {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn set_private(dir: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
        .expect("chmod runtime dir");
}

/// A plain HTTP GET on 127.0.0.1 (the emulator's admin API), returning the body.
pub fn http_get(url: &str) -> String {
    http("GET", url, None)
}

/// A plain HTTP POST of a JSON body on 127.0.0.1 (the emulator's admin API); any 2xx answer.
pub fn http_post(url: &str, json: &str) -> String {
    http("POST", url, Some(json))
}

fn http(method: &str, url: &str, json: Option<&str>) -> String {
    use std::io::{Read, Write};
    let rest = url.strip_prefix("http://").expect("http URL");
    let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let mut s =
        std::net::TcpStream::connect(host).unwrap_or_else(|e| panic!("{method} {url}: {e}"));
    let body = json.unwrap_or("");
    let content_type = if json.is_some() {
        "Content-Type: application/json\r\n"
    } else {
        ""
    };
    write!(
        s,
        "{method} {} HTTP/1.0\r\nHost: {host}\r\nConnection: close\r\n{content_type}\
         Content-Length: {}\r\n\r\n{body}",
        if path.is_empty() { "/" } else { path },
        body.len()
    )
    .expect("request");
    let mut text = String::new();
    s.read_to_string(&mut text).expect("response");
    let (head, body) = text.split_once("\r\n\r\n").expect("HTTP response");
    let status = head.split_whitespace().nth(1).unwrap_or("");
    assert!(status.starts_with('2'), "{method} {url}: {head}\n{body}");
    body.to_string()
}

pub mod x11 {
    //! The app's top-level window as the X server sees it (Xvfb has no window manager): find
    //! it, ask it to close as a window manager would, and see whether it is shown.

    use x11rb::connection::Connection;
    use x11rb::protocol::xproto::{
        AtomEnum, ClientMessageEvent, ConnectionExt, EventMask, MapState, Window,
    };
    use x11rb::rust_connection::RustConnection;

    pub struct Display {
        conn: RustConnection,
        root: Window,
    }

    impl Display {
        /// Connects to `$DISPLAY`.
        pub fn open() -> Display {
            let (conn, screen) = x11rb::connect(None).expect("connect to the X display");
            let root = conn.setup().roots[screen].root;
            Display { conn, root }
        }

        fn atom(&self, name: &str) -> u32 {
            self.conn
                .intern_atom(false, name.as_bytes())
                .expect("intern_atom")
                .reply()
                .expect("atom")
                .atom
        }

        fn cardinal(&self, w: Window, prop: u32) -> Option<u32> {
            let r = self
                .conn
                .get_property(false, w, prop, AtomEnum::CARDINAL, 0, 1)
                .ok()?
                .reply()
                .ok()?;
            r.value32()?.next()
        }

        fn name(&self, w: Window) -> String {
            let r = self
                .conn
                .get_property(false, w, AtomEnum::WM_NAME, AtomEnum::ANY, 0, 256)
                .ok()
                .and_then(|c| c.reply().ok());
            r.map(|r| String::from_utf8_lossy(&r.value).into_owned())
                .unwrap_or_default()
        }

        /// The top-level window of process `pid` titled `title`.
        pub fn window(&self, pid: u32, title: &str) -> Option<Window> {
            let pid_atom = self.atom("_NET_WM_PID");
            let tree = self.conn.query_tree(self.root).ok()?.reply().ok()?;
            tree.children
                .into_iter()
                .find(|&w| self.cardinal(w, pid_atom) == Some(pid) && self.name(w) == title)
        }

        /// Whether the window is mapped (shown).
        pub fn is_shown(&self, w: Window) -> bool {
            self.conn
                .get_window_attributes(w)
                .expect("get_window_attributes")
                .reply()
                .map(|a| a.map_state != MapState::UNMAPPED)
                .unwrap_or(false)
        }

        /// Asks the window to close, as a window manager's close button does
        /// (`WM_PROTOCOLS` / `WM_DELETE_WINDOW`).
        pub fn request_close(&self, w: Window) {
            let protocols = self.atom("WM_PROTOCOLS");
            let delete = self.atom("WM_DELETE_WINDOW");
            let event = ClientMessageEvent::new(32, w, protocols, [delete, 0, 0, 0, 0]);
            self.conn
                .send_event(false, w, EventMask::NO_EVENT, event)
                .expect("send_event");
            self.conn.flush().expect("flush");
        }
    }
}
