//! Reading one answer off the connection: its head (parsed by `httparse`) and its body,
//! framed as the head says (RFC 9112 §6.3).

use bytes::{Buf, Bytes, BytesMut};
use http::{Method, StatusCode};
use httparse::Status;
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;

use super::WireError;

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

/// How an answer's body ends (RFC 9112 §6.3).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Framing {
    Empty,
    Length(usize),
    Chunked,
    UntilClose,
}

/// What the rest of the exchange needs from an answer's head.
pub(super) struct Head {
    pub status: StatusCode,
    pub framing: Framing,
    /// The server closes the connection after this answer.
    pub close: bool,
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
pub(super) async fn read_head(stream: &mut TcpStream, buf: &mut BytesMut, method: &Method) -> Result<Head, WireError> {
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
pub(super) async fn read_body(
    stream: &mut TcpStream,
    buf: &mut BytesMut,
    framing: Framing,
) -> Result<Bytes, WireError> {
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
