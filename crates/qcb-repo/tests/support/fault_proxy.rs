//! A misbehaving network between the repository and a real S3 server: an HTTP/1.1 proxy on
//! 127.0.0.1 that passes requests to the server unchanged (signatures stay valid: the Host
//! header is kept) and, on a schedule, answers 500 instead, drops the connection without an
//! answer, or holds it silent for longer than the client's timeout.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Which requests fail. Counters run over all requests since the proxy started (`every_*`: the
/// n-th, 2n-th, … request; 0 = never).
#[derive(Clone, Debug, Default)]
pub struct Faults {
    /// Every n-th PUT is answered `500 InternalError`.
    pub put_500_every: u64,
    /// Every n-th request's connection is closed without an answer.
    pub reset_every: u64,
    /// Every n-th request gets no answer for `stall_for`, then its connection is closed.
    pub stall_every: u64,
    pub stall_for: Duration,
    /// Every PUT is answered `500 InternalError` (the server is down for writes).
    pub all_puts_fail: bool,
}

#[derive(Default, Debug)]
pub struct Stats {
    pub requests: AtomicU64,
    pub puts: AtomicU64,
    pub answered_500: AtomicU64,
    pub resets: AtomicU64,
    pub stalls: AtomicU64,
}

pub struct FaultProxy {
    pub addr: SocketAddr,
    pub stats: Arc<Stats>,
    faults: Arc<Mutex<Faults>>,
}

impl FaultProxy {
    /// Listens on 127.0.0.1 and forwards to `upstream` (`http://host:port`).
    pub fn start(upstream: &str) -> FaultProxy {
        let upstream: SocketAddr = upstream
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .parse()
            .expect("upstream host:port");
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let stats = Arc::new(Stats::default());
        let faults = Arc::new(Mutex::new(Faults::default()));
        let (s, f) = (stats.clone(), faults.clone());
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { continue };
                let (s, f) = (s.clone(), f.clone());
                std::thread::spawn(move || serve(conn, upstream, &s, &f));
            }
        });
        FaultProxy {
            addr,
            stats,
            faults,
        }
    }

    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn set(&self, faults: Faults) {
        *self.faults.lock().unwrap() = faults;
    }
}

/// One request: its head (request line and headers, as sent) and body.
struct Request {
    method: String,
    head: Vec<String>,
    body: Vec<u8>,
}

fn read_request(r: &mut BufReader<TcpStream>) -> Option<Request> {
    let mut head = Vec::new();
    loop {
        let mut line = String::new();
        if r.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let line = line.trim_end_matches(['\r', '\n']).to_string();
        if line.is_empty() {
            break;
        }
        head.push(line);
    }
    let method = head.first()?.split(' ').next()?.to_string();
    let header = |name: &str| {
        head.iter().skip(1).find_map(|h| {
            let (k, v) = h.split_once(':')?;
            k.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_string())
        })
    };
    assert!(
        header("transfer-encoding").is_none(),
        "the proxy handles only Content-Length bodies"
    );
    let len: usize = header("content-length").map_or(0, |v| v.parse().unwrap());
    let mut body = vec![0u8; len];
    r.read_exact(&mut body).ok()?;
    Some(Request { method, head, body })
}

fn serve(conn: TcpStream, upstream: SocketAddr, stats: &Stats, faults: &Mutex<Faults>) {
    let mut reader = BufReader::new(conn.try_clone().unwrap());
    let mut conn = conn;
    while let Some(req) = read_request(&mut reader) {
        let n = stats.requests.fetch_add(1, Ordering::SeqCst) + 1;
        let put = req.method == "PUT";
        let p = if put {
            stats.puts.fetch_add(1, Ordering::SeqCst) + 1
        } else {
            0
        };
        let f = faults.lock().unwrap().clone();
        let hit = |every: u64, k: u64| every > 0 && k > 0 && k.is_multiple_of(every);
        if put && (f.all_puts_fail || hit(f.put_500_every, p)) {
            stats.answered_500.fetch_add(1, Ordering::SeqCst);
            let body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>InternalError</Code>\
                        <Message>We encountered an internal error. Please try again.</Message></Error>";
            let answer = format!(
                "HTTP/1.1 500 Internal Server Error\r\nContent-Type: application/xml\r\n\
                 Content-Length: {}\r\n\r\n{body}",
                body.len()
            );
            if conn.write_all(answer.as_bytes()).is_err() {
                return;
            }
            continue;
        }
        if hit(f.reset_every, n) {
            stats.resets.fetch_add(1, Ordering::SeqCst);
            let _ = conn.shutdown(std::net::Shutdown::Both);
            return;
        }
        if hit(f.stall_every, n) {
            stats.stalls.fetch_add(1, Ordering::SeqCst);
            std::thread::sleep(f.stall_for);
            let _ = conn.shutdown(std::net::Shutdown::Both);
            return;
        }
        // Pass it on over a connection of its own, which the server closes after answering;
        // the answer then goes back as it came, and so does the close.
        let Ok(mut up) = TcpStream::connect(upstream) else {
            return;
        };
        let mut out = String::new();
        for (i, h) in req.head.iter().enumerate() {
            let is_connection = h
                .split_once(':')
                .is_some_and(|(k, _)| k.trim().eq_ignore_ascii_case("connection"));
            if i == 0 || !is_connection {
                out.push_str(h);
                out.push_str("\r\n");
            }
        }
        out.push_str("Connection: close\r\n\r\n");
        if up.write_all(out.as_bytes()).is_err() || up.write_all(&req.body).is_err() {
            return;
        }
        let mut answer = Vec::new();
        let _ = up.read_to_end(&mut answer);
        // Tell the client, too, that this connection ends here.
        if let Some(end) = answer.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&answer[..end]).to_ascii_lowercase();
            if !head.contains("\r\nconnection:") {
                answer.splice(end..end, b"\r\nConnection: close".iter().copied());
            }
        }
        let _ = conn.write_all(&answer);
        return;
    }
}
