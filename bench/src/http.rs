//! A lean HTTP/1.1 keep-alive client: one TCP connection, one request at a time,
//! requests written as preformatted bytes and responses parsed with `httparse`.
//! No per-request task hop or header map, so the harness spends its CPU on the
//! server's behalf only where it must (see README: "harness capacity").

use crate::target::Target;
use anyhow::{bail, Context, Result};
use bytes::{Buf, Bytes, BytesMut};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A response: status and the full body.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub body: Bytes,
}

/// One keep-alive connection to a target (reconnects lazily after an error).
pub struct HttpConn {
    target: Target,
    stream: Option<TcpStream>,
    rbuf: BytesMut,
    wbuf: Vec<u8>,
    timeout: Duration,
}

enum BodyKind {
    Length(usize),
    Chunked,
    UntilClose,
}

impl HttpConn {
    /// A connection that opens its socket on first use.
    pub fn new(target: &Target, timeout: Duration) -> Self {
        HttpConn {
            target: target.clone(),
            stream: None,
            rbuf: BytesMut::with_capacity(16 * 1024),
            wbuf: Vec::with_capacity(512),
            timeout,
        }
    }

    /// Opens the socket now (to keep connect cost out of the first measurement).
    pub async fn connect(&mut self) -> Result<()> {
        if self.stream.is_none() {
            let s = TcpStream::connect(self.target.addr)
                .await
                .with_context(|| format!("connecting to {}", self.target.url))?;
            s.set_nodelay(true)?;
            self.stream = Some(s);
            self.rbuf.clear();
        }
        Ok(())
    }

    /// Sends one request and reads the whole response, within the timeout.
    /// On any error the connection is dropped and reopened on the next call.
    pub async fn request(
        &mut self,
        method: &str,
        path: &str,
        body: Option<&[u8]>,
    ) -> Result<Response> {
        let timeout = self.timeout;
        match tokio::time::timeout(timeout, self.request_inner(method, path, body)).await {
            Ok(Ok(r)) => Ok(r),
            Ok(Err(e)) => {
                self.stream = None;
                Err(e)
            }
            Err(_) => {
                self.stream = None;
                bail!(Timeout)
            }
        }
    }

    async fn request_inner(
        &mut self,
        method: &str,
        path: &str,
        body: Option<&[u8]>,
    ) -> Result<Response> {
        self.connect().await?;
        self.wbuf.clear();
        let w = &mut self.wbuf;
        w.extend_from_slice(method.as_bytes());
        w.push(b' ');
        w.extend_from_slice(path.as_bytes());
        w.extend_from_slice(b" HTTP/1.1\r\nHost: ");
        w.extend_from_slice(self.target.authority.as_bytes());
        if let Some(token) = &self.target.bearer {
            w.extend_from_slice(b"\r\nAuthorization: Bearer ");
            w.extend_from_slice(token.as_bytes());
        }
        match body {
            Some(b) => {
                w.extend_from_slice(b"\r\nContent-Type: application/json\r\nContent-Length: ");
                w.extend_from_slice(b.len().to_string().as_bytes());
                w.extend_from_slice(b"\r\n\r\n");
                w.extend_from_slice(b);
            }
            None => w.extend_from_slice(b"\r\n\r\n"),
        }
        let stream = self.stream.as_mut().expect("connected");
        stream.write_all(&self.wbuf).await?;
        self.read_response(method == "HEAD").await
    }

    async fn fill(&mut self) -> Result<()> {
        let stream = self.stream.as_mut().expect("connected");
        if self.rbuf.capacity() - self.rbuf.len() < 4096 {
            self.rbuf.reserve(16 * 1024);
        }
        if stream.read_buf(&mut self.rbuf).await? == 0 {
            bail!("connection closed by server");
        }
        Ok(())
    }

    async fn read_response(&mut self, head_only: bool) -> Result<Response> {
        let (status, head_len, kind, close) = loop {
            if !self.rbuf.is_empty() {
                let mut headers = [httparse::EMPTY_HEADER; 32];
                let mut resp = httparse::Response::new(&mut headers);
                if let httparse::Status::Complete(n) = resp.parse(&self.rbuf)? {
                    let status = resp.code.unwrap_or(0);
                    let mut kind = BodyKind::UntilClose;
                    let mut close = false;
                    for h in resp.headers.iter() {
                        if h.name.eq_ignore_ascii_case("content-length") {
                            let v = std::str::from_utf8(h.value)?.trim().parse()?;
                            kind = BodyKind::Length(v);
                        } else if h.name.eq_ignore_ascii_case("transfer-encoding")
                            && h.value
                                .windows(7)
                                .any(|w| w.eq_ignore_ascii_case(b"chunked"))
                        {
                            kind = BodyKind::Chunked;
                        } else if h.name.eq_ignore_ascii_case("connection")
                            && h.value.eq_ignore_ascii_case(b"close")
                        {
                            close = true;
                        }
                    }
                    if head_only || status == 204 || status == 304 || (100..200).contains(&status) {
                        kind = BodyKind::Length(0);
                    }
                    break (status, n, kind, close);
                }
            }
            self.fill().await?;
        };
        self.rbuf.advance(head_len);
        let body = match kind {
            BodyKind::Length(n) => {
                while self.rbuf.len() < n {
                    self.fill().await?;
                }
                self.rbuf.split_to(n).freeze()
            }
            BodyKind::Chunked => self.read_chunked().await?,
            BodyKind::UntilClose => {
                while self.fill().await.is_ok() {}
                self.stream = None;
                self.rbuf.split().freeze()
            }
        };
        if close {
            self.stream = None;
        } else if self.rbuf.is_empty() {
            // Nothing more can arrive before the next request, so forget the cached
            // read readiness now (no syscall) instead of paying a read() that returns
            // EAGAIN right after the next request is written. A FIN racing this is
            // still reported: the next write then fails or draws an RST.
            if let Some(s) = &self.stream {
                let _ = s.try_io(tokio::io::Interest::READABLE, || {
                    Err::<(), _>(std::io::ErrorKind::WouldBlock.into())
                });
            }
        }
        Ok(Response { status, body })
    }

    async fn read_chunked(&mut self) -> Result<Bytes> {
        let mut out = BytesMut::new();
        loop {
            let line_end = loop {
                if let Some(p) = self.rbuf.windows(2).position(|w| w == b"\r\n") {
                    break p;
                }
                self.fill().await?;
            };
            let line = std::str::from_utf8(&self.rbuf[..line_end])?;
            let size = usize::from_str_radix(line.split(';').next().unwrap_or("").trim(), 16)?;
            self.rbuf.advance(line_end + 2);
            while self.rbuf.len() < size + 2 {
                self.fill().await?;
            }
            out.extend_from_slice(&self.rbuf[..size]);
            self.rbuf.advance(size + 2);
            if size == 0 {
                return Ok(out.freeze());
            }
        }
    }
}

/// Error marker for a request that exceeded the timeout.
#[derive(Debug)]
pub struct Timeout;

impl std::fmt::Display for Timeout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("request timed out")
    }
}

impl std::error::Error for Timeout {}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::net::TcpListener;

    /// A server that answers each request with the next canned response.
    async fn canned(responses: Vec<&'static [u8]>) -> Target {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", l.local_addr().unwrap());
        tokio::spawn(async move {
            let (mut s, _) = l.accept().await.unwrap();
            let mut buf = vec![0u8; 4096];
            for r in responses {
                let _ = s.read(&mut buf).await.unwrap();
                s.write_all(r).await.unwrap();
            }
        });
        Target::parse("t", &url).await.unwrap()
    }

    #[tokio::test]
    async fn parses_length_chunked_and_empty() {
        let t = canned(vec![
            b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi",
            b"HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\n",
            b"HTTP/1.1 204 No Content\r\n\r\n",
        ])
        .await;
        let mut c = HttpConn::new(&t, Duration::from_secs(2));
        let r = c.request("GET", "/a", None).await.unwrap();
        assert_eq!((r.status, &r.body[..]), (200, &b"hi"[..]));
        let r = c.request("POST", "/b", Some(b"{}")).await.unwrap();
        assert_eq!((r.status, &r.body[..]), (201, &b"abcde"[..]));
        let r = c.request("DELETE", "/c", None).await.unwrap();
        assert_eq!((r.status, r.body.len()), (204, 0));
    }

    #[tokio::test]
    async fn times_out() {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let t = Target::parse("t", &format!("http://{}", l.local_addr().unwrap()))
            .await
            .unwrap();
        let mut c = HttpConn::new(&t, Duration::from_millis(50));
        let e = c.request("GET", "/", None).await.unwrap_err();
        assert!(e.downcast_ref::<Timeout>().is_some());
        drop(l);
    }
}
