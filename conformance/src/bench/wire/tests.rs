use std::future::Future;
use std::time::Duration;

use tokio::io::AsyncReadExt;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use super::*;

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
            let length =
                head.lines().find_map(|l| l.strip_prefix("Content-Length: ")).map_or(0, |n| n.parse().expect("length"));
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
    assert_eq!(ok(&mut conn, Method::GET, "/Users/u2?attributes=id", None).await, (200, Bytes::from_static(b"hello")));
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
