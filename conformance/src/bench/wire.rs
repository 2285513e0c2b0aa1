//! The timed scenarios' HTTP: one keep-alive HTTP/1.1 connection per worker, on hyper
//! directly, with the parts every request shares (authority, path prefix, bearer header)
//! prepared once.
//!
//! The generator shares the machine's two cores with the server it measures, so every
//! microsecond it spends per request is one the server does not get. Through reqwest a
//! request cost the generator about 28 µs here (URL parsing, the shared pool's lock, a
//! timer per request, header building), a third of a lookup's whole cost. The seeding and
//! the jobs timed as totals are not on that budget and stay on reqwest, as does any
//! `https` server (this path speaks plain HTTP only).

use bytes::Bytes;
use http::header::{AUTHORIZATION, CONTENT_TYPE, HOST};
use http::{HeaderValue, Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// Where a plain-HTTP server is and what every request to it carries.
#[derive(Debug, Clone)]
pub struct Target {
    /// `host:port`, to connect to and to send as `Host`.
    authority: String,
    host: HeaderValue,
    /// The base URL's path, without a trailing slash (`/scim/v2`), prefixed to each path.
    prefix: String,
    auth: HeaderValue,
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
        Some(Target {
            host: HeaderValue::from_str(&authority).ok()?,
            authority,
            prefix: uri.path().trim_end_matches('/').to_owned(),
            auth: HeaderValue::from_str(&format!("Bearer {token}")).ok()?,
        })
    }
}

/// One worker's connection, opened again when the server closes it (some servers answer
/// `Connection: close`, or drop idle connections).
pub struct Conn {
    target: Target,
    send: Option<SendRequest<Full<Bytes>>>,
}

/// Why a request got no answer.
#[derive(Debug, thiserror::Error)]
pub enum WireError {
    #[error("connecting: {0}")]
    Connect(#[from] std::io::Error),
    #[error("http: {0}")]
    Http(#[from] hyper::Error),
    #[error("building the request: {0}")]
    Request(#[from] http::Error),
}

impl Conn {
    pub fn new(target: Target) -> Conn {
        Conn { target, send: None }
    }

    /// Sends one request (`path` after the base URL's path, with its query) and reads the
    /// whole answer.
    pub async fn send(
        &mut self,
        method: Method,
        path: &str,
        body: Option<Bytes>,
    ) -> Result<(StatusCode, Bytes), WireError> {
        let mut request = Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.target.prefix))
            .header(HOST, self.target.host.clone())
            .header(AUTHORIZATION, self.target.auth.clone());
        if body.is_some() {
            request = request.header(CONTENT_TYPE, HeaderValue::from_static("application/scim+json"));
        }
        let request = request.body(Full::new(body.unwrap_or_default()))?;
        let answered = async {
            let answer = self.ready().await?.send_request(request).await?;
            let status = answer.status();
            Ok::<_, WireError>((status, answer.into_body().collect().await?.to_bytes()))
        }
        .await;
        if answered.is_err() {
            // The connection is in an unknown state: the next request opens another.
            self.send = None;
        }
        answered
    }

    /// The connection, ready for a request: opened (again) when there is none or the
    /// server closed it.
    async fn ready(&mut self) -> Result<&mut SendRequest<Full<Bytes>>, WireError> {
        if let Some(send) = &mut self.send {
            if send.ready().await.is_err() {
                self.send = None;
            }
        }
        if self.send.is_none() {
            let stream = TcpStream::connect(&self.target.authority).await?;
            stream.set_nodelay(true)?;
            let (send, connection) = http1::handshake(TokioIo::new(stream)).await?;
            tokio::spawn(async move {
                // Ends when the server closes the connection or the worker drops it.
                let _ = connection.await;
            });
            self.send = Some(send);
        }
        Ok(self.send.as_mut().expect("opened above"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_targets_only() {
        let t = Target::parse("http://127.0.0.1:8080/scim/v2/", "tok").expect("http");
        assert_eq!(t.authority, "127.0.0.1:8080");
        assert_eq!(t.prefix, "/scim/v2");
        assert_eq!(t.auth, "Bearer tok");
        let t = Target::parse("http://localhost", "tok").expect("no port");
        assert_eq!((t.authority.as_str(), t.prefix.as_str()), ("localhost:80", ""));
        assert!(Target::parse("https://127.0.0.1:8443/scim/v2", "tok").is_none());
        assert!(Target::parse("not a url", "tok").is_none());
    }
}
