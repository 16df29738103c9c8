//! A small static file server for the demo: loopback by default, only files under the served
//! directory, no listings, strict Content-Security-Policy.

use std::io::{BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;

use crate::http::{self, Head};

#[derive(clap::Args)]
pub struct Args {
    /// Directory to serve.
    #[arg(long, default_value = "www")]
    dir: PathBuf,
    /// Address to bind.
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    /// Port.
    #[arg(long, default_value_t = 8080, env = "PORT")]
    port: u16,
}

/// Only the page's own origin; wasm compilation needs 'wasm-unsafe-eval'; image previews use
/// blob: URLs made in the page.
const CSP: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; worker-src 'self'; \
connect-src 'self'; img-src 'self' blob: data:; style-src 'self'; object-src 'none'; \
base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// Headers on every response.
const COMMON: [(&str, &str); 5] = [
    ("Content-Security-Policy", CSP),
    ("X-Content-Type-Options", "nosniff"),
    ("Cache-Control", "no-cache"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
    ("Referrer-Policy", "no-referrer"),
];

/// Most connections served at once; past it, new ones get 503 and are closed.
const MAX_ACTIVE: usize = 64;
/// How long a kept-alive connection may sit idle before the server closes it.
const IDLE: Duration = Duration::from_secs(15);
/// How long a request head may take to arrive once it has begun.
const HEAD_DEADLINE: Duration = Duration::from_secs(10);
/// How long one write may block on a client that does not read.
const WRITE_TIMEOUT: Duration = Duration::from_secs(30);

pub fn run(a: Args) -> anyhow::Result<()> {
    let root = a
        .dir
        .canonicalize()
        .with_context(|| format!("cannot serve {}: no such directory", a.dir.display()))?;
    let addr = format!("{}:{}", a.host, a.port);
    let listener = TcpListener::bind(&addr).with_context(|| format!("cannot listen on {addr}"))?;
    // The address really bound (with --port 0 the system picks the port).
    let bound = listener
        .local_addr()
        .map_or(addr.clone(), |a| a.to_string());
    eprintln!(
        "serving {} on http://{bound}/  (Ctrl-C to stop)",
        root.display()
    );
    // One thread per connection, for its whole life: a browser keeps a few connections open
    // and idle between requests, and each new one is read at once, whatever the others do.
    let active = Arc::new(AtomicUsize::new(0));
    for stream in listener.incoming() {
        let Ok(mut stream) = stream else {
            // Out of file descriptors or similar: let connections finish before accepting more.
            std::thread::sleep(Duration::from_millis(50));
            continue;
        };
        if active.load(Ordering::SeqCst) >= MAX_ACTIVE {
            let _ = stream.set_write_timeout(Some(Duration::from_secs(1)));
            let _ = respond_text(&mut stream, 503, "busy, try again\n", false, &[], true);
            continue;
        }
        let slot = Slot::take(&active);
        let root = root.clone();
        // If no thread can be started, the connection is dropped (closed).
        let _ = std::thread::Builder::new().spawn(move || {
            let _slot = slot;
            let _ = serve_connection(&root, stream);
        });
    }
    Ok(())
}

/// Answers the requests of one connection in turn until the client closes it, asks to, goes
/// idle for [`IDLE`], or sends something that ends it.
fn serve_connection(root: &Path, mut stream: TcpStream) -> std::io::Result<()> {
    stream.set_read_timeout(Some(IDLE))?;
    stream.set_write_timeout(Some(WRITE_TIMEOUT))?;
    let _ = stream.set_nodelay(true);
    let mut reader = BufReader::new(stream.try_clone()?);
    loop {
        let head = match http::read_head(&mut reader, HEAD_DEADLINE) {
            Ok(h) => h,
            Err(e) => {
                if let Some(status) = e.status() {
                    let text = format!("{}\n", http::reason(status).to_ascii_lowercase());
                    respond_text(&mut stream, status, &text, false, &[], true)?;
                    linger_close(&stream, reader);
                }
                return Ok(());
            }
        };
        let keep = head.keep_alive;
        handle(root, &head, &mut stream)?;
        if !keep {
            linger_close(&stream, reader);
            return Ok(());
        }
    }
}

/// Ends a connection whose client may still be sending (the rest of a refused head, a body
/// never read): closing with unread input would reset the connection, and the client could lose
/// the response it has not read yet. So: no more writes, then what is sent is read and
/// dropped, for a moment (at most a second and 1 MiB, however slowly it comes), before the
/// socket closes.
fn linger_close(stream: &TcpStream, mut reader: BufReader<TcpStream>) {
    let _ = stream.shutdown(Shutdown::Write);
    let start = std::time::Instant::now();
    let mut buf = [0u8; 16 * 1024];
    let mut drained = 0;
    while drained < 1 << 20 {
        let Some(left) = Duration::from_secs(1).checked_sub(start.elapsed()) else {
            break;
        };
        if left.is_zero() || stream.set_read_timeout(Some(left)).is_err() {
            break;
        }
        match reader.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => drained += n,
        }
    }
}

/// A place among the connections in flight, given back when dropped (even if the handler panics).
struct Slot(Arc<AtomicUsize>);

impl Slot {
    fn take(active: &Arc<AtomicUsize>) -> Slot {
        active.fetch_add(1, Ordering::SeqCst);
        Slot(Arc::clone(active))
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

fn mime(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()).unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" => "application/json",
        "wasm" => "application/wasm",
        "png" => "image/png",
        "webp" => "image/webp",
        "gif" => "image/gif",
        "jpg" | "jpeg" => "image/jpeg",
        "svg" => "image/svg+xml",
        "ico" => "image/x-icon",
        "txt" | "md" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// Maps a URL path to a file under `root`, refusing anything that could leave it.
fn resolve(root: &Path, url: &str) -> Option<PathBuf> {
    let path = url.split(['?', '#']).next().unwrap_or("");
    let decoded = percent_decode(path)?;
    let mut out = root.to_path_buf();
    for comp in Path::new(decoded.trim_start_matches('/')).components() {
        match comp {
            Component::Normal(c) => out.push(c),
            Component::CurDir => {}
            _ => return None,
        }
    }
    if out.is_dir() {
        out.push("index.html");
    }
    let real = out.canonicalize().ok()?;
    (real.starts_with(root) && real.is_file()).then_some(real)
}

fn percent_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    let s = String::from_utf8(out).ok()?;
    (!s.contains('\0') && !s.contains('\\')).then_some(s)
}

/// Answers one request: the file it names, or 404 / 405.
fn handle(root: &Path, head: &Head, out: &mut TcpStream) -> std::io::Result<()> {
    let keep = head.keep_alive;
    // A response to HEAD has the head of the GET response and no body, errors included: on a
    // kept-alive connection a body would be read as the start of the next response.
    let body = head.method != "HEAD";
    if !matches!(head.method.as_str(), "GET" | "HEAD") {
        let allow = [("Allow", "GET, HEAD")];
        return respond_text(out, 405, "method not allowed\n", keep, &allow, body);
    }
    let found = resolve(root, &head.target).and_then(|p| {
        let f = std::fs::File::open(&p).ok()?;
        let len = f.metadata().ok()?.len();
        Some((p, f, len))
    });
    let Some((path, mut file, len)) = found else {
        return respond_text(out, 404, "not found\n", keep, &[], body);
    };
    // A known length (no chunking) lets the page show download progress.
    let mut headers = vec![("Content-Type", mime(&path))];
    headers.extend(COMMON);
    http::write_head(out, 200, &headers, len, keep)?;
    if body {
        // A file that shrank while being sent would leave the client waiting for bytes that
        // never come: end the connection instead.
        let sent = std::io::copy(&mut (&mut file).take(len), out)?;
        if sent != len {
            return Err(std::io::Error::from(std::io::ErrorKind::UnexpectedEof));
        }
    }
    out.flush()
}

/// A short plain-text response with the common headers (and `extra`); `send_body` false for HEAD.
fn respond_text(
    out: &mut TcpStream,
    status: u16,
    body: &str,
    keep_alive: bool,
    extra: &[(&str, &str)],
    send_body: bool,
) -> std::io::Result<()> {
    let mut headers = vec![("Content-Type", "text/plain; charset=utf-8")];
    headers.extend(COMMON);
    headers.extend_from_slice(extra);
    http::write_head(out, status, &headers, body.len() as u64, keep_alive)?;
    if send_body {
        out.write_all(body.as_bytes())?;
    }
    out.flush()
}
