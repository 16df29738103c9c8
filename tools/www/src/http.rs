//! Just enough HTTP/1.1 for a static file server: read one request head, write one response.
//!
//! Written here rather than taken from tiny_http 0.12, whose connection pool could leave a new
//! connection unread while older keep-alive connections sat idle (a race in its `TaskPool`): the
//! browser's load event then waited on a script request that was never answered.

use std::io::{self, BufRead, Write};
use std::time::{Duration, Instant};

/// Largest request head (request line and headers) read; browsers send well under 2 KiB.
pub const MAX_HEAD: usize = 16 * 1024;

/// A parsed request head.
#[derive(Debug, PartialEq, Eq)]
pub struct Head {
    pub method: String,
    /// The request target exactly as sent (path, query and all).
    pub target: String,
    /// Whether the client may send another request on this connection after the response.
    pub keep_alive: bool,
}

/// Why no request could be read.
#[derive(Debug)]
pub enum ReadError {
    /// The client closed the connection (or went quiet) between requests: nothing to answer.
    Closed,
    /// Not HTTP/1.x, or a head that does not parse: answered 400, then closed.
    Malformed,
    /// An HTTP version other than 1.0 and 1.1: answered 505.
    Version,
    /// A head over [`MAX_HEAD`]: answered 431.
    TooLarge,
    /// The head did not arrive in time: answered 408.
    TimedOut,
}

impl ReadError {
    /// The status to answer with, if any.
    pub fn status(&self) -> Option<u16> {
        match self {
            ReadError::Closed => None,
            ReadError::Malformed => Some(400),
            ReadError::Version => Some(505),
            ReadError::TooLarge => Some(431),
            ReadError::TimedOut => Some(408),
        }
    }
}

/// Reads one request head: waits up to the stream's read timeout for its first byte, then gives
/// the rest `deadline` in all, so a client that trickles bytes cannot hold a thread for long.
pub fn read_head(r: &mut impl BufRead, deadline: Duration) -> Result<Head, ReadError> {
    let mut buf = Vec::with_capacity(1024);
    let mut started: Option<Instant> = None;
    loop {
        let chunk = match r.fill_buf() {
            Ok(c) => c,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) if is_timeout(&e) && started.is_some() => return Err(ReadError::TimedOut),
            Err(_) => return Err(ReadError::Closed),
        };
        if chunk.is_empty() {
            // End of stream: between requests a normal close; within a head, a broken one.
            return Err(ReadError::Closed);
        }
        let start = *started.get_or_insert_with(Instant::now);
        let before = buf.len();
        let take = chunk.len().min(MAX_HEAD + 4 - before);
        buf.extend_from_slice(&chunk[..take]);
        // The blank line may straddle the previous read: look back 3 bytes.
        let from = before.saturating_sub(3);
        if let Some((end, len)) = find_end(&buf[from..]) {
            let end = from + end;
            // Only this head's bytes are taken: a next request already sent stays buffered.
            r.consume(end + len - before);
            return parse_head(&buf[..end]);
        }
        r.consume(take);
        if buf.len() > MAX_HEAD {
            return Err(ReadError::TooLarge);
        }
        if start.elapsed() > deadline {
            return Err(ReadError::TimedOut);
        }
    }
}

fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

/// Offset and length of the line ends that close a head (CRLF CRLF, or bare LF LF), if present.
fn find_end(b: &[u8]) -> Option<(usize, usize)> {
    (0..b.len()).find_map(|i| {
        if b[i..].starts_with(b"\r\n\r\n") {
            Some((i, 4))
        } else if b[i..].starts_with(b"\n\n") {
            Some((i, 2))
        } else {
            None
        }
    })
}

/// Parses a head (without its blank line).
pub fn parse_head(head: &[u8]) -> Result<Head, ReadError> {
    let text = std::str::from_utf8(head).map_err(|_| ReadError::Malformed)?;
    let mut lines = text.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l));
    let mut parts = lines.next().unwrap_or("").split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(ReadError::Malformed);
    };
    if method.is_empty() || !method.bytes().all(|c| c.is_ascii_uppercase()) || target.is_empty() {
        return Err(ReadError::Malformed);
    }
    let http11 = match version {
        "HTTP/1.1" => true,
        "HTTP/1.0" => false,
        v if v.starts_with("HTTP/") => return Err(ReadError::Version),
        _ => return Err(ReadError::Malformed),
    };
    // HTTP/1.0 clients get one response per connection (allowed, and simpler than their
    // keep-alive extension); 1.1 keeps the connection unless told otherwise.
    let mut keep_alive = http11;
    for line in lines {
        let (name, value) = line.split_once(':').ok_or(ReadError::Malformed)?;
        if name.is_empty() || name.contains(|c: char| c.is_ascii_whitespace()) {
            return Err(ReadError::Malformed);
        }
        let value = value.trim();
        if name.eq_ignore_ascii_case("connection")
            && value
                .split(',')
                .any(|t| t.trim().eq_ignore_ascii_case("close"))
        {
            keep_alive = false;
        }
        // A request body is never read (GET and HEAD have none): with one, where the next
        // request would start is unknown, so the connection ends after the response.
        let body = (name.eq_ignore_ascii_case("content-length") && value != "0")
            || name.eq_ignore_ascii_case("transfer-encoding");
        if body {
            keep_alive = false;
        }
    }
    Ok(Head {
        method: method.to_string(),
        target: target.to_string(),
        keep_alive,
    })
}

/// The reason phrase of the statuses this server sends.
pub fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        431 => "Request Header Fields Too Large",
        503 => "Service Unavailable",
        505 => "HTTP Version Not Supported",
        _ => "",
    }
}

/// Writes a status line and headers (with Content-Length and Connection) and the blank line.
pub fn write_head(
    w: &mut impl Write,
    status: u16,
    headers: &[(&str, &str)],
    content_length: u64,
    keep_alive: bool,
) -> io::Result<()> {
    let mut out = format!("HTTP/1.1 {status} {}\r\n", reason(status));
    for (k, v) in headers {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    out.push_str(&format!("Content-Length: {content_length}\r\n"));
    out.push_str(if keep_alive {
        "Connection: keep-alive\r\n\r\n"
    } else {
        "Connection: close\r\n\r\n"
    });
    w.write_all(out.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    fn read(bytes: &[u8]) -> Result<Head, ReadError> {
        read_head(&mut Cursor::new(bytes.to_vec()), Duration::from_secs(5))
    }

    #[test]
    fn reads_a_browser_request_and_keeps_the_connection() {
        let h = read(b"GET /main.js?v=1 HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\nGET / HTTP/1.1\r\n\r\n").unwrap();
        assert_eq!(h.method, "GET");
        assert_eq!(h.target, "/main.js?v=1");
        assert!(h.keep_alive);
    }

    #[test]
    fn two_requests_on_one_connection_are_read_in_turn() {
        let mut c = Cursor::new(b"GET /a HTTP/1.1\r\n\r\nHEAD /b HTTP/1.1\nHost: y\n\n".to_vec());
        let a = read_head(&mut c, Duration::from_secs(1)).unwrap();
        let b = read_head(&mut c, Duration::from_secs(1)).unwrap();
        assert_eq!(
            (a.target.as_str(), b.method.as_str(), b.target.as_str()),
            ("/a", "HEAD", "/b")
        );
        assert!(matches!(
            read_head(&mut c, Duration::from_secs(1)),
            Err(ReadError::Closed)
        ));
    }

    #[test]
    fn close_http10_and_bodies_end_the_connection() {
        for req in [
            &b"GET / HTTP/1.1\r\nConnection: Keep-Alive, close\r\n\r\n"[..],
            b"GET / HTTP/1.0\r\n\r\n",
            b"POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello",
            b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
        ] {
            assert!(
                !read(req).unwrap().keep_alive,
                "{}",
                String::from_utf8_lossy(req)
            );
        }
        assert!(
            read(b"GET / HTTP/1.1\r\nContent-Length: 0\r\n\r\n")
                .unwrap()
                .keep_alive
        );
    }

    #[test]
    fn malformed_heads_get_their_status() {
        for (req, status) in [
            (&b"GET /\r\n\r\n"[..], 400),
            (b"GET / HTTP/1.1 extra\r\n\r\n", 400),
            (b"get / HTTP/1.1\r\n\r\n", 400),
            (b"GET / HTTP/2.0\r\n\r\n", 505),
            (b"GET / FTP/1.0\r\n\r\n", 400),
            (b"GET / HTTP/1.1\r\nno colon here\r\n\r\n", 400),
            (b"GET / HTTP/1.1\r\nBad Name: x\r\n\r\n", 400),
            (b"GET /\xff HTTP/1.1\r\n\r\n", 400),
        ] {
            let e = read(req).unwrap_err();
            assert_eq!(e.status(), Some(status), "{}", String::from_utf8_lossy(req));
        }
    }

    #[test]
    fn a_head_without_end_is_bounded() {
        let mut big = b"GET / HTTP/1.1\r\n".to_vec();
        while big.len() <= MAX_HEAD + 10 {
            big.extend_from_slice(b"X-Filler: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n");
        }
        assert_eq!(read(&big).unwrap_err().status(), Some(431));
        // Cut short: the client went away mid-head; nothing to answer.
        assert!(matches!(
            read(b"GET / HTTP/1.1\r\nHost"),
            Err(ReadError::Closed)
        ));
        assert!(matches!(read(b""), Err(ReadError::Closed)));
    }

    #[test]
    fn a_head_ending_across_reads_is_found() {
        // BufReader of capacity 4: the blank line arrives split over reads.
        let data = b"GET /x HTTP/1.1\r\nHost: z\r\n\r\n".to_vec();
        let mut r = io::BufReader::with_capacity(4, Cursor::new(data));
        assert_eq!(
            read_head(&mut r, Duration::from_secs(1)).unwrap().target,
            "/x"
        );
    }

    #[test]
    fn response_heads_carry_length_and_connection() {
        let mut out = Vec::new();
        write_head(&mut out, 404, &[("Content-Type", "text/plain")], 10, false).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: 10\r\nConnection: close\r\n\r\n"
        );
    }
}
