//! The runner's HTTP/1 client (hyper-util's pooled client): one request, the
//! whole answer, no redirects followed, a bound on the wait. Plain `http://`
//! only: contract runs target local or in-cluster servers.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::header::{HeaderName, HeaderValue};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

/// Longest wait for one answer.
const TIMEOUT: Duration = Duration::from_secs(30);

/// A response, read whole.
pub struct Answer {
    pub status: u16,
    /// Names in lower case, in the order received.
    pub headers: Vec<(String, String)>,
    pub body: Bytes,
}

impl Answer {
    /// All values of a header, joined with ", " (as HTTP allows), or None.
    pub fn header(&self, name: &str) -> Option<String> {
        let name = name.to_ascii_lowercase();
        let values: Vec<&str> = self.headers.iter().filter(|(k, _)| *k == name).map(|(_, v)| v.as_str()).collect();
        (!values.is_empty()).then(|| values.join(", "))
    }

    pub fn content_type(&self) -> String {
        self.header("content-type").unwrap_or_default()
    }
}

#[derive(Clone)]
pub struct Http {
    client: Client<HttpConnector, Full<Bytes>>,
}

impl Default for Http {
    fn default() -> Self {
        Self::new()
    }
}

impl Http {
    pub fn new() -> Self {
        Self { client: Client::builder(TokioExecutor::new()).build_http() }
    }

    /// Sends one request; the error is a sentence for the report.
    pub async fn send(
        &self,
        method: &str,
        url: &str,
        headers: &[(String, String)],
        body: Vec<u8>,
    ) -> Result<Answer, String> {
        let uri: hyper::Uri = url.parse().map_err(|e| format!("bad URL {url:?}: {e}"))?;
        match uri.scheme_str() {
            Some("http") => {}
            Some(other) => return Err(format!("{other}:// targets are not supported (use http://): {url}")),
            None => return Err(format!("the URL {url:?} lacks http://")),
        }
        let method: hyper::Method = method.parse().map_err(|_| format!("bad method {method:?}"))?;
        let mut req = hyper::Request::new(Full::new(Bytes::from(body)));
        *req.method_mut() = method;
        *req.uri_mut() = uri;
        for (k, v) in headers {
            let name = HeaderName::from_bytes(k.as_bytes()).map_err(|_| format!("bad header name {k:?}"))?;
            let value = HeaderValue::from_str(v).map_err(|_| format!("bad value for header {k}"))?;
            req.headers_mut().append(name, value);
        }
        let exchange = async {
            let res = self.client.request(req).await.map_err(|e| format!("cannot reach {url}: {}", chain(&e)))?;
            let status = res.status().as_u16();
            let headers = res
                .headers()
                .iter()
                .map(|(k, v)| (k.as_str().to_owned(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
                .collect();
            let body = res.into_body().collect().await.map_err(|e| format!("reading the answer: {e}"))?.to_bytes();
            Ok(Answer { status, headers, body })
        };
        tokio::time::timeout(TIMEOUT, exchange)
            .await
            .map_err(|_| format!("no answer from {url} within {} s", TIMEOUT.as_secs()))?
    }
}

/// An error with its causes, for a report line ("client error (Connect): connection refused").
fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}
