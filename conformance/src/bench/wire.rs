//! The timed scenarios' HTTP: one keep-alive HTTP/1.1 connection per worker, written and
//! read directly on a `TcpStream`, with the parts every request shares (path prefix, `Host`
//! and bearer header lines) prepared once as bytes.
//!
//! Why by hand: the generator shares the machine's two cores with the server it measures,
//! so every microsecond it spends per request is one the server does not get. Through
//! reqwest a request cost the generator about 28 µs (URL parsing, the shared pool's lock, a
//! timer per request, header building); through hyper's client connection it still cost
//! about 19 µs of generator CPU per GET, more than half of it in user space: hyper's
//! dispatcher, the channel between the worker and the spawned connection task (two task
//! wake-ups per request), `HeaderMap` building and allocations. Here a request is one
//! buffer built in place and one `write_all`, and the answer is read on the worker's own
//! task, with its head parsed by `httparse` (the parser hyper itself uses).
//!
//! What it speaks: plain HTTP/1.1 only, one request at a time per connection. Answers may
//! be framed by `Content-Length`, by `Transfer-Encoding: chunked` (trailers are skipped), or
//! by the server closing the connection; 1xx interim answers are skipped; `Connection:
//! close` (and HTTP/1.0 without keep-alive) makes the next request reconnect, as does any
//! error. No TLS, no upgrades (101), no pipelining, no compression, no timeouts, no
//! retries: a request sent on a connection the server closed while idle fails and the next
//! one reconnects. The timed scenarios send no HEAD; a HEAD's answer would be read as
//! bodiless. Any `https` server, the seeding and the jobs timed as totals stay on reqwest.

use std::io::Write as _;

use bytes::{Buf, Bytes, BytesMut};
use http::{HeaderValue, Method, StatusCode};
use httparse::Status;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Room asked for before each read: the timed scenarios' answers mostly fit in one.
const READ_ROOM: usize = 16 * 1024;
/// A head, chunk-size or trailer line longer than this is refused rather than buffered
/// without end.
const MAX_LINE: usize = 64 * 1024;
/// At most this much is reserved up front for a `Content-Length` body, so that a bogus
/// length cannot make us allocate it whole; larger bodies grow as they arrive.
const MAX_PREALLOC: usize = 1024 * 1024;
/// Header lines an answer may have; ours send about ten.
const MAX_HEADERS: usize = 64;

/// Where a plain-HTTP server is and what every request to it carries.
#[derive(Debug, Clone)]
pub struct Target {
    /// `host:port`, to connect to.
    authority: String,
    /// The base URL's path, without a trailing slash (`/scim/v2`), prefixed to each path.
    prefix: String,
    /// `Host: …\r\nAuthorization: Bearer …\r\n`, copied into every request.
    shared: Vec<u8>,
}

impl Target {
    /// The target for `base_url`, `None` unless it is `http://` (then reqwest is used).
    pub fn parse(base_url: &str, token: &str) -> Option<Target> {
        let uri: http::Uri = base_url.parse().ok()?;
        if uri.scheme_str() != Some("http") {
            return None;
        }
        let authority = uri.authority()?;
        let port = authority.port_u16().unwrap_or(80);
        let authority = format!("{}:{port}", authority.host());
        // Validated as header values so that no CR or LF can end a line early.
        let host = HeaderValue::from_str(&authority).ok()?;
        let auth = HeaderValue::from_str(&format!("Bearer {token}")).ok()?;
        let mut shared = Vec::new();
        for (name, value) in [(&b"Host: "[..], host), (b"Authorization: ", auth)] {
            shared.extend_from_slice(name);
            shared.extend_from_slice(value.as_bytes());
            shared.extend_from_slice(b"\r\n");
        }
        Some(Target { authority, prefix: uri.path().trim_end_matches('/').to_owned(), shared })
    }
}

/// One worker's connection, opened when first needed and again after the server closed it
/// or anything went wrong on it.
pub struct Conn {
    target: Target,
    stream: Option<TcpStream>,
    /// The request being sent, rebuilt in place each time so that it costs no allocation.
    request: Vec<u8>,
    /// What was read and not yet consumed; kept across answers on one connection.
    read: BytesMut,
}

/// Why a request got no answer.
#[derive(Debug, thiserror::Error)]
pub enum WireError {
    /// No connection to the server could be opened.
    #[error("connecting: {0}")]
    Connect(#[source] std::io::Error),
    /// Writing the request or reading the answer failed.
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
    /// The request cannot be written as given.
    #[error("bad request: {0}")]
    Request(&'static str),
    /// The server closed the connection before the answer was whole.
    #[error("the server closed the connection mid-answer")]
    Closed,
    /// The answer's head is not HTTP/1.1.
    #[error("malformed answer head: {0}")]
    Head(#[from] httparse::Error),
    /// The answer is not HTTP/1.1 this client reads (see the module's doc).
    #[error("malformed answer: {0}")]
    Malformed(&'static str),
}

/// How an answer's body ends (RFC 9112 §6.3).
#[derive(Debug, Clone, Copy, PartialEq)]
enum Framing {
    Empty,
    Length(usize),
    Chunked,
    UntilClose,
}

/// What the rest of the exchange needs from an answer's head.
struct Head {
    status: StatusCode,
    framing: Framing,
    /// The server closes the connection after this answer.
    close: bool,
}

impl Conn {
    /// A connection to `target`, opened by its first request.
    pub fn new(target: Target) -> Conn {
        Conn { target, stream: None, request: Vec::new(), read: BytesMut::new() }
    }

    /// Sends one request (`path` after the base URL's path, with its query) and reads the
    /// whole answer.
    pub async fn send(
        &mut self,
        method: Method,
        path: &str,
        body: Option<Bytes>,
    ) -> Result<(StatusCode, Bytes), WireError> {
        // A space or a line break would end the request line early.
        if path.bytes().any(|b| b <= b' ' || b == 0x7f) {
            return Err(WireError::Request("the path has a space or a control character"));
        }
        self.build_request(&method, path, body.as_deref());
        match self.exchange(&method).await {
            Ok((status, body, keep)) => {
                if !keep {
                    self.stream = None;
                }
                Ok((status, body))
            }
            Err(e) => {
                // The connection is in an unknown state: the next request opens another.
                self.stream = None;
                Err(e)
            }
        }
    }

    fn build_request(&mut self, method: &Method, path: &str, body: Option<&[u8]>) {
        let r = &mut self.request;
        r.clear();
        r.extend_from_slice(method.as_str().as_bytes());
        r.push(b' ');
        r.extend_from_slice(self.target.prefix.as_bytes());
        r.extend_from_slice(path.as_bytes());
        r.extend_from_slice(b" HTTP/1.1\r\n");
        r.extend_from_slice(&self.target.shared);
        match body {
            Some(body) => {
                r.extend_from_slice(b"Content-Type: application/scim+json\r\n");
                // Writing into a Vec cannot fail.
                let _ = write!(r, "Content-Length: {}\r\n\r\n", body.len());
                r.extend_from_slice(body);
            }
            // Methods that may carry content say when they carry none (RFC 9110 §8.6); some
            // servers answer 411 Length Required otherwise.
            None if *method != Method::GET => r.extend_from_slice(b"Content-Length: 0\r\n\r\n"),
            None => r.extend_from_slice(b"\r\n"),
        }
    }

    /// Writes the built request and reads its answer: status, body, and whether the
    /// connection can carry another request.
    async fn exchange(&mut self, method: &Method) -> Result<(StatusCode, Bytes, bool), WireError> {
        let stream = match &mut self.stream {
            Some(stream) => stream,
            None => {
                let stream = TcpStream::connect(&self.target.authority).await.map_err(WireError::Connect)?;
                stream.set_nodelay(true).map_err(WireError::Connect)?;
                // Whatever was left belonged to the previous connection.
                self.read.clear();
                self.stream.insert(stream)
            }
        };
        stream.write_all(&self.request).await?;
        let head = loop {
            let head = read_head(stream, &mut self.read, method).await?;
            if !head.status.is_informational() {
                break head;
            }
        };
        let body = read_body(stream, &mut self.read, head.framing).await?;
        Ok((head.status, body, !head.close && head.framing != Framing::UntilClose))
    }
}

/// Reads into `buf`; `false` when the server closed the connection.
async fn fill(stream: &mut TcpStream, buf: &mut BytesMut) -> Result<bool, WireError> {
    buf.reserve(READ_ROOM);
    Ok(stream.read_buf(buf).await? > 0)
}

/// Reads more of an answer that is not whole yet.
async fn more(stream: &mut TcpStream, buf: &mut BytesMut) -> Result<(), WireError> {
    if buf.len() > MAX_LINE {
        return Err(WireError::Malformed("a head or chunk line too long"));
    }
    if fill(stream, buf).await? {
        Ok(())
    } else {
        Err(WireError::Closed)
    }
}

/// Reads and consumes one answer's head.
async fn read_head(stream: &mut TcpStream, buf: &mut BytesMut, method: &Method) -> Result<Head, WireError> {
    loop {
        if !buf.is_empty() {
            if let Some(head) = parse_head(buf, method)? {
                return Ok(head);
            }
        }
        more(stream, buf).await?;
    }
}

/// The head at the start of `buf`, consumed, or `None` when it is not whole yet.
fn parse_head(buf: &mut BytesMut, method: &Method) -> Result<Option<Head>, WireError> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut answer = httparse::Response::new(&mut headers);
    let len = match answer.parse(buf)? {
        Status::Complete(len) => len,
        Status::Partial => return Ok(None),
    };
    let code = answer.code.ok_or(WireError::Malformed("no status code"))?;
    let status = StatusCode::from_u16(code).map_err(|_| WireError::Malformed("status code out of range"))?;
    if status == StatusCode::SWITCHING_PROTOCOLS {
        return Err(WireError::Malformed("101 Switching Protocols"));
    }
    let (mut length, mut encoded, mut chunked) = (None, false, false);
    let (mut close, mut keep_alive) = (false, false);
    for header in answer.headers.iter() {
        let name = header.name;
        if name.eq_ignore_ascii_case("content-length") {
            let n = parse_length(header.value)?;
            if length.is_some_and(|m| m != n) {
                return Err(WireError::Malformed("conflicting Content-Length"));
            }
            length = Some(n);
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            // Chunked only counts as the last coding; anything else is read to the close.
            encoded = true;
            chunked = tokens(header.value).last().is_some_and(|t| t.eq_ignore_ascii_case(b"chunked"));
        } else if name.eq_ignore_ascii_case("connection") {
            for token in tokens(header.value) {
                close |= token.eq_ignore_ascii_case(b"close");
                keep_alive |= token.eq_ignore_ascii_case(b"keep-alive");
            }
        }
    }
    // HTTP/1.0 closes after each answer unless it says otherwise.
    close |= answer.version == Some(0) && !keep_alive;
    let framing = if status.is_informational()
        || status == StatusCode::NO_CONTENT
        || status == StatusCode::NOT_MODIFIED
        || *method == Method::HEAD
    {
        Framing::Empty
    } else if encoded {
        // Transfer-Encoding wins over Content-Length (RFC 9112 §6.3).
        if chunked {
            Framing::Chunked
        } else {
            Framing::UntilClose
        }
    } else {
        length.map_or(Framing::UntilClose, Framing::Length)
    };
    buf.advance(len);
    Ok(Some(Head { status, framing, close }))
}

/// A `Content-Length` value: digits only (`str::parse` would also take a `+`).
fn parse_length(value: &[u8]) -> Result<usize, WireError> {
    let value = value.trim_ascii();
    let bad = WireError::Malformed("bad Content-Length");
    if value.is_empty() || !value.iter().all(u8::is_ascii_digit) {
        return Err(bad);
    }
    std::str::from_utf8(value).ok().and_then(|v| v.parse().ok()).ok_or(bad)
}

/// The comma-separated tokens of a header value, trimmed.
fn tokens(value: &[u8]) -> impl Iterator<Item = &[u8]> {
    value.split(|&b| b == b',').map(<[u8]>::trim_ascii).filter(|t| !t.is_empty())
}

/// Reads and consumes one answer's body.
async fn read_body(stream: &mut TcpStream, buf: &mut BytesMut, framing: Framing) -> Result<Bytes, WireError> {
    match framing {
        Framing::Empty => Ok(Bytes::new()),
        Framing::Length(n) => {
            buf.reserve(n.saturating_sub(buf.len()).min(MAX_PREALLOC));
            while buf.len() < n {
                if !fill(stream, buf).await? {
                    return Err(WireError::Closed);
                }
            }
            // The body shares the read buffer's memory; once the caller drops it the buffer
            // takes the room back, so a steady run allocates little.
            Ok(buf.split_to(n).freeze())
        }
        Framing::Chunked => read_chunked(stream, buf).await,
        Framing::UntilClose => {
            while fill(stream, buf).await? {}
            Ok(buf.split().freeze())
        }
    }
}

/// Reads and decodes a chunked body, skipping its trailers.
async fn read_chunked(stream: &mut TcpStream, buf: &mut BytesMut) -> Result<Bytes, WireError> {
    let mut body = BytesMut::new();
    loop {
        let (line, size) = loop {
            match httparse::parse_chunk_size(buf) {
                Ok(Status::Complete(found)) => break found,
                Ok(Status::Partial) => more(stream, buf).await?,
                Err(httparse::InvalidChunkSize) => return Err(WireError::Malformed("bad chunk size")),
            }
        };
        buf.advance(line);
        if size == 0 {
            break;
        }
        let size = usize::try_from(size).map_err(|_| WireError::Malformed("chunk too large"))?;
        let end = size.checked_add(2).ok_or(WireError::Malformed("chunk too large"))?;
        while buf.len() < end {
            if !fill(stream, buf).await? {
                return Err(WireError::Closed);
            }
        }
        if &buf[size..end] != b"\r\n" {
            return Err(WireError::Malformed("chunk not followed by CRLF"));
        }
        body.extend_from_slice(&buf[..size]);
        buf.advance(end);
    }
    // The trailer section: header lines up to an empty one.
    loop {
        match buf.windows(2).position(|w| w == b"\r\n") {
            Some(0) => {
                buf.advance(2);
                return Ok(body.freeze());
            }
            Some(line) => buf.advance(line + 2),
            None => more(stream, buf).await?,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::future::Future;
    use std::time::Duration;
    use tokio::net::TcpListener;
    use tokio::task::JoinHandle;

    #[test]
    fn plain_http_targets_only() {
        let t = Target::parse("http://127.0.0.1:8080/scim/v2/", "tok").expect("http");
        assert_eq!(t.authority, "127.0.0.1:8080");
        assert_eq!(t.prefix, "/scim/v2");
        assert_eq!(t.shared, b"Host: 127.0.0.1:8080\r\nAuthorization: Bearer tok\r\n");
        let t = Target::parse("http://localhost", "tok").expect("no port");
        assert_eq!((t.authority.as_str(), t.prefix.as_str()), ("localhost:80", ""));
        assert!(Target::parse("https://127.0.0.1:8443/scim/v2", "tok").is_none());
        assert!(Target::parse("not a url", "tok").is_none());
        assert!(Target::parse("http://127.0.0.1:8080", "tok\r\nX-Evil: 1").is_none());
    }

    /// What a scripted server received: per connection accepted, the requests read on it.
    type Seen = Vec<Vec<String>>;

    /// A server on 127.0.0.1 playing `script`: one entry per connection it accepts, in
    /// order, listing the answers to write, one after each request read. After a
    /// connection's last answer it closes that connection; after the last connection it
    /// stops listening, so a client that opens more connections than scripted fails, and
    /// one that opens fewer hangs (and `within` fails the test).
    async fn serve(script: Vec<Vec<&'static [u8]>>) -> (Target, JoinHandle<Seen>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("address").port();
        let target = Target::parse(&format!("http://127.0.0.1:{port}/scim/v2/"), "tok").expect("target");
        let server = tokio::spawn(async move {
            let mut seen = Vec::new();
            for answers in script {
                let (mut stream, _) = listener.accept().await.expect("accept");
                let mut requests = Vec::new();
                for answer in answers {
                    requests.push(read_request(&mut stream).await);
                    stream.write_all(answer).await.expect("answer");
                }
                seen.push(requests);
            }
            seen
        });
        (target, server)
    }

    /// One whole request as received: head, and as many body bytes as its Content-Length.
    async fn read_request(stream: &mut TcpStream) -> String {
        let mut request = Vec::new();
        let mut chunk = [0; 1024];
        loop {
            if let Some(end) = request.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&request[..end]).into_owned();
                let length = head
                    .lines()
                    .find_map(|l| l.strip_prefix("Content-Length: "))
                    .map_or(0, |n| n.parse().expect("length"));
                if request.len() >= end + 4 + length {
                    return String::from_utf8(request).expect("utf-8");
                }
            }
            let n = stream.read(&mut chunk).await.expect("read");
            assert!(n > 0, "the client closed mid-request: {:?}", String::from_utf8_lossy(&request));
            request.extend_from_slice(&chunk[..n]);
        }
    }

    /// `exchange`, failing the test instead of hanging.
    async fn within<F: Future>(exchange: F) -> F::Output {
        tokio::time::timeout(Duration::from_secs(10), exchange).await.expect("the exchange hung")
    }

    async fn ok(conn: &mut Conn, method: Method, path: &str, body: Option<&'static [u8]>) -> (u16, Bytes) {
        let (status, body) = within(conn.send(method, path, body.map(Bytes::from_static))).await.expect("answer");
        (status.as_u16(), body)
    }

    fn host(target: &Target) -> String {
        format!("Host: {}\r\nAuthorization: Bearer tok\r\n", target.authority)
    }

    #[tokio::test]
    async fn content_length_answer_and_the_exact_request() {
        let answer =
            b"HTTP/1.1 201 Created\r\nContent-Type: application/scim+json\r\nContent-Length: 11\r\n\r\n{\"id\":\"u1\"}";
        let (target, server) = serve(vec![vec![answer]]).await;
        let expected = format!(
            "POST /scim/v2/Users HTTP/1.1\r\n{}Content-Type: application/scim+json\r\nContent-Length: 14\r\n\r\n{{\"userName\":1}}",
            host(&target)
        );
        let mut conn = Conn::new(target);
        let got = ok(&mut conn, Method::POST, "/Users", Some(b"{\"userName\":1}")).await;
        assert_eq!(got, (201, Bytes::from_static(b"{\"id\":\"u1\"}")));
        drop(conn);
        assert_eq!(within(server).await.expect("server"), vec![vec![expected]]);
    }

    #[tokio::test]
    async fn two_requests_share_one_keep_alive_connection() {
        // The 204 has no length: read as anything but empty, the second request would hang.
        let (target, server) =
            serve(vec![vec![b"HTTP/1.1 204 No Content\r\n\r\n", b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"]])
                .await;
        let shared = host(&target);
        let mut conn = Conn::new(target);
        assert_eq!(ok(&mut conn, Method::DELETE, "/Users/u1", None).await, (204, Bytes::new()));
        assert_eq!(
            ok(&mut conn, Method::GET, "/Users/u2?attributes=id", None).await,
            (200, Bytes::from_static(b"hello"))
        );
        drop(conn);
        let seen = within(server).await.expect("server");
        assert_eq!(
            seen,
            vec![vec![
                format!("DELETE /scim/v2/Users/u1 HTTP/1.1\r\n{shared}Content-Length: 0\r\n\r\n"),
                format!("GET /scim/v2/Users/u2?attributes=id HTTP/1.1\r\n{shared}\r\n"),
            ]],
            "one accept, both requests on it"
        );
    }

    #[tokio::test]
    async fn chunked_answer_is_decoded() {
        let chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\
            5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\nX-Trailer: t\r\n\r\n";
        let after = b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nnext";
        let (target, server) = serve(vec![vec![chunked, after]]).await;
        let mut conn = Conn::new(target);
        assert_eq!(ok(&mut conn, Method::GET, "/Users", None).await, (200, Bytes::from_static(b"hello, world")));
        // The trailers were consumed whole: the next answer on the connection reads cleanly.
        assert_eq!(ok(&mut conn, Method::GET, "/Groups", None).await, (200, Bytes::from_static(b"next")));
        drop(conn);
        assert_eq!(within(server).await.expect("server").len(), 1);
    }

    #[tokio::test]
    async fn connection_close_makes_the_next_request_reconnect() {
        let (target, server) = serve(vec![
            vec![b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 5\r\n\r\nfirst"],
            vec![b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nsecond"],
        ])
        .await;
        let mut conn = Conn::new(target);
        assert_eq!(ok(&mut conn, Method::GET, "/Users/a", None).await, (200, Bytes::from_static(b"first")));
        assert_eq!(ok(&mut conn, Method::GET, "/Users/b", None).await, (200, Bytes::from_static(b"second")));
        drop(conn);
        let seen = within(server).await.expect("server");
        assert_eq!(seen.iter().map(Vec::len).collect::<Vec<_>>(), [1, 1], "two accepts");
        assert!(seen[1][0].starts_with("GET /scim/v2/Users/b HTTP/1.1\r\n"));
    }

    #[tokio::test]
    async fn body_delimited_by_the_close() {
        let (target, server) = serve(vec![
            vec![b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end"],
            vec![b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"],
        ])
        .await;
        let mut conn = Conn::new(target);
        assert_eq!(ok(&mut conn, Method::GET, "/a", None).await, (200, Bytes::from_static(b"until the end")));
        assert_eq!(ok(&mut conn, Method::GET, "/b", None).await, (200, Bytes::from_static(b"ok")));
        drop(conn);
        assert_eq!(within(server).await.expect("server").len(), 2);
    }

    #[tokio::test]
    async fn a_close_mid_answer_is_an_error_and_the_next_request_reconnects() {
        let (target, server) = serve(vec![
            vec![b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"],
            vec![b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nwhole"],
        ])
        .await;
        let mut conn = Conn::new(target);
        let cut = within(conn.send(Method::GET, "/a", None)).await;
        assert!(matches!(cut, Err(WireError::Closed)), "{cut:?}");
        assert_eq!(ok(&mut conn, Method::GET, "/b", None).await, (200, Bytes::from_static(b"whole")));
        drop(conn);
        assert_eq!(within(server).await.expect("server").len(), 2);
    }

    #[tokio::test]
    async fn interim_answers_are_skipped_and_bytes_past_an_answer_kept() {
        // The first write carries a 100, the answer, and the next answer too.
        let (target, server) = serve(vec![vec![
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\n{}\
              HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nkept",
            b"",
        ]])
        .await;
        let mut conn = Conn::new(target);
        assert_eq!(ok(&mut conn, Method::POST, "/Users", Some(b"{}")).await, (201, Bytes::from_static(b"{}")));
        assert_eq!(ok(&mut conn, Method::GET, "/Users", None).await, (200, Bytes::from_static(b"kept")));
        drop(conn);
        assert_eq!(within(server).await.expect("server")[0].len(), 2);
    }

    #[tokio::test]
    async fn a_path_that_would_break_the_request_line_is_refused() {
        let mut conn = Conn::new(Target::parse("http://127.0.0.1:9/", "tok").expect("target"));
        let refused = conn.send(Method::GET, "/Users HTTP/1.1\r\nX: y", None).await;
        assert!(matches!(refused, Err(WireError::Request(_))), "{refused:?}");
    }
}
