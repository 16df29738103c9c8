//! A small static file server for the demo: loopback by default, only files under the served
//! directory, no listings, strict Content-Security-Policy.

use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use anyhow::Context;
use tiny_http::{Header, Method, Request, Response, Server};

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

pub fn run(a: Args) -> anyhow::Result<()> {
    let root = a
        .dir
        .canonicalize()
        .with_context(|| format!("cannot serve {}: no such directory", a.dir.display()))?;
    let addr = format!("{}:{}", a.host, a.port);
    let server =
        Server::http(&addr).map_err(|e| anyhow::anyhow!("cannot listen on {addr}: {e}"))?;
    // The address really bound (with --port 0 the system picks the port).
    let bound = server
        .server_addr()
        .to_ip()
        .map_or(addr.clone(), |a| a.to_string());
    eprintln!(
        "serving {} on http://{bound}/  (Ctrl-C to stop)",
        root.display()
    );
    // One thread per request, so that a slow or stalled client holds up only itself; past
    // MAX_ACTIVE requests in flight, new ones get 503 at once.
    let active = Arc::new(AtomicUsize::new(0));
    for req in server.incoming_requests() {
        if active.load(Ordering::SeqCst) >= MAX_ACTIVE {
            let _ = req.respond(with_common(
                Response::from_string("busy, try again\n").with_status_code(503),
            ));
            continue;
        }
        let slot = Slot::take(&active);
        let root = root.clone();
        // A client that went away makes respond fail; nothing to do about it. If no thread
        // can be started, the request is dropped and its connection closed.
        let _ = std::thread::Builder::new().spawn(move || {
            let _slot = slot;
            let _ = handle(&root, req);
        });
    }
    Ok(())
}

/// Most requests handled at once.
const MAX_ACTIVE: usize = 64;

/// A place among the requests in flight, given back when dropped (even if the handler panics).
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

fn with_common<R: std::io::Read>(mut r: Response<R>) -> Response<R> {
    for h in [
        header("Content-Security-Policy", CSP),
        header("X-Content-Type-Options", "nosniff"),
        header("Cache-Control", "no-cache"),
        header("Cross-Origin-Opener-Policy", "same-origin"),
        header("Referrer-Policy", "no-referrer"),
    ] {
        r.add_header(h);
    }
    r
}

fn header(k: &str, v: &str) -> Header {
    // Both parts are ASCII constants or MIME strings from the table below.
    Header::from_bytes(k.as_bytes(), v.as_bytes()).unwrap_or_else(|_| {
        Header::from_bytes(&b"X-Invalid"[..], &b"1"[..]).unwrap_or_else(|_| unreachable!())
    })
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

fn handle(root: &Path, req: Request) -> std::io::Result<()> {
    if !matches!(req.method(), Method::Get | Method::Head) {
        let r = Response::from_string("method not allowed\n")
            .with_status_code(405)
            .with_header(header("Allow", "GET, HEAD"));
        return req.respond(with_common(r));
    }
    match resolve(root, req.url()).and_then(|p| std::fs::File::open(&p).ok().map(|f| (p, f))) {
        Some((path, file)) => {
            // A known length (no chunking) lets the page show download progress.
            let r = Response::from_file(file)
                .with_header(header("Content-Type", mime(&path)))
                .with_chunked_threshold(usize::MAX);
            req.respond(with_common(r))
        }
        None => req.respond(with_common(
            Response::from_string("not found\n").with_status_code(404),
        )),
    }
}
