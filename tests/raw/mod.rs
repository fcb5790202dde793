//! Hand-written HTTP/1.1 servers on loopback, for the answers no well-behaved server gives:
//! connections reset before or during an answer, bodies shorter than announced, answers that
//! go silent, and floods. Each connection carries one request; the server counts
//! connections, requests and the bytes it managed to write, and keeps every request head.
//!
//! Every wait here is bounded, and every task ends when its [`RawServer`] is dropped.
#![allow(dead_code)]

use std::{
    net::{IpAddr, Ipv4Addr, SocketAddr},
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpSocket, TcpStream},
    task::{JoinHandle, JoinSet},
    time::{sleep, timeout},
};

/// The address tests use for "another host": still loopback, but not the API's address.
pub const OTHER_HOST: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 2);

/// The longest request head read.
const MAX_HEAD: usize = 64 * 1024;
/// How long a client gets to send its request.
const READ_LIMIT: Duration = Duration::from_secs(5);
/// The longest silence of a stalled answer; the client gives up long before.
const STALL_LIMIT: Duration = Duration::from_secs(10);
/// The longest a flood keeps writing.
const FLOOD_LIMIT: Duration = Duration::from_secs(10);
/// The size of each write of a flood.
const PIECE: usize = 64 * 1024;
/// A small send buffer, so that what a flood reports as written is close to what the
/// client actually took.
const SEND_BUFFER: u32 = 64 * 1024;

/// One thing the server does after reading a request.
#[derive(Debug, Clone)]
pub enum Step {
    /// Writes these bytes.
    Send(Vec<u8>),
    /// Waits this long, in real time.
    Pause(Duration),
    /// Sends nothing more, keeping the connection open until the client closes it (or
    /// [`STALL_LIMIT`] passes).
    Stall,
    /// Closes the connection with a TCP reset instead of an orderly close.
    Reset,
    /// Writes `bytes` bytes of filler (in chunked encoding when `chunked`), stopping at the
    /// first write that fails because the client went away.
    Flood { bytes: u64, chunked: bool },
}

/// What the server does with one request; after the last step it closes the connection.
pub type Reply = Vec<Step>;

/// What a server saw and did.
#[derive(Debug, Default)]
pub struct Stats {
    connections: AtomicUsize,
    requests: AtomicUsize,
    finished: AtomicUsize,
    heads: Mutex<Vec<String>>,
    written: Mutex<Vec<u64>>,
}

/// A running server; dropping it stops it and every connection it holds.
pub struct RawServer {
    addr: SocketAddr,
    stats: Arc<Stats>,
    task: JoinHandle<()>,
}

impl Drop for RawServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl RawServer {
    /// Serves on 127.0.0.1. Request `n` (from 0) gets `replies[n]`, or the last reply once
    /// they run out.
    pub async fn start(replies: Vec<Reply>) -> RawServer {
        Self::start_on(Ipv4Addr::LOCALHOST, replies)
            .await
            .expect("a loopback port can be bound")
    }

    /// As [`RawServer::start`], on the given loopback address.
    pub async fn start_on(ip: Ipv4Addr, replies: Vec<Reply>) -> std::io::Result<RawServer> {
        assert!(ip.is_loopback(), "test servers stay on loopback");
        assert!(!replies.is_empty(), "a server needs at least one reply");
        let socket = TcpSocket::new_v4()?;
        // Accepted connections inherit the listener's buffer size.
        socket.set_send_buffer_size(SEND_BUFFER)?;
        socket.bind(SocketAddr::new(IpAddr::V4(ip), 0))?;
        let listener = socket.listen(64)?;
        let addr = listener.local_addr()?;
        let stats = Arc::new(Stats::default());
        let replies = Arc::new(replies);

        let shared = Arc::clone(&stats);
        let task = tokio::spawn(async move {
            let mut connections = JoinSet::new();
            loop {
                tokio::select! {
                    accepted = listener.accept() => {
                        let Ok((stream, _)) = accepted else { continue };
                        shared.connections.fetch_add(1, Ordering::SeqCst);
                        connections.spawn(serve(stream, Arc::clone(&shared), Arc::clone(&replies)));
                    }
                    Some(_) = connections.join_next(), if !connections.is_empty() => {}
                }
            }
        });
        Ok(RawServer { addr, stats, task })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://ADDR`, with no trailing slash.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The API root on this server, as a client's base URL.
    pub fn api_root(&self) -> String {
        format!("http://{}/client/v4", self.addr)
    }

    /// How many connections were accepted.
    pub fn connections(&self) -> usize {
        self.stats.connections.load(Ordering::SeqCst)
    }

    /// How many complete request heads arrived.
    pub fn requests(&self) -> usize {
        self.stats.requests.load(Ordering::SeqCst)
    }

    /// Every request head, in order of arrival, as text.
    pub fn heads(&self) -> Vec<String> {
        self.stats.heads.lock().expect("not poisoned").clone()
    }

    /// The bytes written on each connection that has ended, in the order they ended.
    pub fn written(&self) -> Vec<u64> {
        self.stats.written.lock().expect("not poisoned").clone()
    }

    /// Waits (for at most five seconds) until every accepted connection has ended, so that
    /// [`RawServer::written`] is complete.
    pub async fn settled(&self) {
        for _ in 0..500 {
            if self.stats.finished.load(Ordering::SeqCst) >= self.connections() {
                return;
            }
            sleep(Duration::from_millis(10)).await;
        }
        panic!("the server's connections did not end within five seconds");
    }
}

async fn serve(mut stream: TcpStream, stats: Arc<Stats>, replies: Arc<Vec<Reply>>) {
    let written = match timeout(READ_LIMIT, read_request(&mut stream)).await {
        Ok(Some(head)) => {
            let index = stats.requests.fetch_add(1, Ordering::SeqCst);
            stats.heads.lock().expect("not poisoned").push(head);
            let reply = &replies[index.min(replies.len() - 1)];
            perform(&mut stream, reply).await
        }
        _ => 0,
    };
    stats.written.lock().expect("not poisoned").push(written);
    stats.finished.fetch_add(1, Ordering::SeqCst);
}

/// Runs the steps of a reply and closes the connection; returns the bytes written.
async fn perform(stream: &mut TcpStream, reply: &Reply) -> u64 {
    let mut written = 0;
    for step in reply {
        match step {
            Step::Send(bytes) => {
                if stream.write_all(bytes).await.is_err() {
                    return written;
                }
                written += bytes.len() as u64;
            }
            Step::Pause(pause) => sleep(*pause).await,
            Step::Stall => {
                // Reading until the client closes ends the stall as soon as it gives up.
                let mut buf = [0u8; 1024];
                let _ = timeout(STALL_LIMIT, async {
                    while matches!(stream.read(&mut buf).await, Ok(n) if n > 0) {}
                })
                .await;
                return written;
            }
            Step::Reset => {
                // A zero linger makes the close a reset (RST) rather than a FIN.
                let _ = stream.set_zero_linger();
                return written;
            }
            Step::Flood { bytes, chunked } => {
                let flood = flood(stream, *bytes, *chunked, &mut written);
                if timeout(FLOOD_LIMIT, flood).await.is_err() {
                    return written;
                }
            }
        }
    }
    let _ = stream.shutdown().await;
    written
}

/// Writes `total` bytes of filler; returns `Err` when the client went away.
async fn flood(
    stream: &mut TcpStream,
    total: u64,
    chunked: bool,
    written: &mut u64,
) -> Result<(), ()> {
    let piece = vec![b'x'; PIECE];
    let mut left = total;
    while left > 0 {
        let n = left.min(PIECE as u64) as usize;
        let mut frame = Vec::with_capacity(n + 16);
        if chunked {
            frame.extend_from_slice(format!("{n:x}\r\n").as_bytes());
        }
        frame.extend_from_slice(&piece[..n]);
        if chunked {
            frame.extend_from_slice(b"\r\n");
        }
        stream.write_all(&frame).await.map_err(drop)?;
        *written += frame.len() as u64;
        left -= n as u64;
    }
    if chunked {
        stream.write_all(b"0\r\n\r\n").await.map_err(drop)?;
        *written += 5;
    }
    Ok(())
}

/// Reads one request (its head, and a body of the announced length); returns the head, or
/// `None` when the client closed first.
async fn read_request(stream: &mut TcpStream) -> Option<String> {
    let mut data = Vec::new();
    let mut buf = [0u8; 4096];
    let end = loop {
        if let Some(at) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        if data.len() > MAX_HEAD {
            return None;
        }
        let n = stream.read(&mut buf).await.ok()?;
        if n == 0 {
            return None;
        }
        data.extend_from_slice(&buf[..n]);
    };
    let head = String::from_utf8_lossy(&data[..end]).into_owned();
    let length = header(&head, "content-length")
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(0);
    let mut body = data.len() - end;
    while body < length {
        let n = stream.read(&mut buf).await.ok()?;
        if n == 0 {
            return None;
        }
        body += n;
    }
    Some(head)
}

/// The value of the first header `name` (any case) in a request or response head.
pub fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().skip(1).find_map(|line| {
        let (key, value) = line.split_once(':')?;
        key.trim().eq_ignore_ascii_case(name).then(|| value.trim())
    })
}

/// A status line and headers, ending with `Connection: close` and the blank line; the
/// caller gives `Content-Length` if the answer has one.
pub fn head(status: u16, headers: &[(&str, &str)]) -> Vec<u8> {
    let mut text = format!("HTTP/1.1 {status} {}\r\n", reason(status));
    for (name, value) in headers {
        text.push_str(&format!("{name}: {value}\r\n"));
    }
    text.push_str("Connection: close\r\n\r\n");
    text.into_bytes()
}

/// A whole answer with its `Content-Length`.
pub fn response(status: u16, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let length = body.len().to_string();
    let mut all = headers.to_vec();
    all.push(("Content-Length", &length));
    let mut bytes = head(status, &all);
    bytes.extend_from_slice(body);
    bytes
}

/// A whole JSON answer.
pub fn json(status: u16, body: &str) -> Reply {
    vec![Step::Send(response(
        status,
        &[("Content-Type", "application/json")],
        body.as_bytes(),
    ))]
}

/// A whole answer with extra headers.
pub fn with_headers(status: u16, headers: &[(&str, &str)], body: &str) -> Reply {
    vec![Step::Send(response(status, headers, body.as_bytes()))]
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        206 => "Partial Content",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        409 => "Conflict",
        422 => "Unprocessable Entity",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        520 => "Unknown Error",
        522 => "Connection Timed Out",
        524 => "A Timeout Occurred",
        _ => "Status",
    }
}
