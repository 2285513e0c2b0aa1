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

use bytes::{Bytes, BytesMut};
use http::{HeaderValue, Method, StatusCode};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use answer::{read_body, read_head, Framing};

mod answer;

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

#[cfg(test)]
mod tests;
