//! A message as the test SMTP server received it, and just enough MIME to
//! read it: headers, the text and HTML parts, quoted-printable and base64.

/// One message as the server received it.
#[derive(Debug, Clone)]
pub struct Received {
    pub from: String,
    pub to: Vec<String>,
    /// The raw message (headers and body), CRLF line ends.
    pub data: String,
    /// Whether the conversation ran over TLS.
    pub tls: bool,
    /// The user it authenticated as.
    pub user: Option<String>,
}

impl Received {
    /// A header's value (the first one with that name, unfolded).
    pub fn header(&self, name: &str) -> Option<String> {
        let head = self.data.split("\r\n\r\n").next()?;
        let unfolded = head.replace("\r\n ", " ").replace("\r\n\t", " ");
        unfolded.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case(name).then(|| v.trim().to_owned())
        })
    }

    /// The decoded body of the part with this content type (`text/plain`,
    /// `text/html`), in a single-part or a multipart message.
    pub fn part(&self, content_type: &str) -> Option<String> {
        let parts: Vec<&str> = match self.boundary() {
            Some(b) => self.data.split(&format!("--{b}")).skip(1).collect(),
            None => vec![self.data.as_str()],
        };
        parts.into_iter().find_map(|p| {
            let (head, body) = p.split_once("\r\n\r\n")?;
            let head = head.to_ascii_lowercase().replace("\r\n ", " ");
            let ctype = head.lines().find_map(|l| l.trim().strip_prefix("content-type:"))?.trim().to_owned();
            if !ctype.starts_with(content_type) {
                return None;
            }
            let cte = head.lines().find_map(|l| l.trim().strip_prefix("content-transfer-encoding:")).map(str::trim);
            Some(decode(cte.unwrap_or("7bit"), body.trim_end_matches("--\r\n").trim_end_matches("\r\n")))
        })
    }

    fn boundary(&self) -> Option<String> {
        let ctype = self.header("content-type")?;
        let b = ctype.split(';').find_map(|p| p.trim().strip_prefix("boundary="))?;
        Some(b.trim_matches('"').to_owned())
    }
}

/// Content-Transfer-Encoding decoding: 7bit/8bit, quoted-printable, base64.
fn decode(cte: &str, body: &str) -> String {
    match cte {
        "base64" => {
            let joined: String = body.split_whitespace().collect();
            let bytes =
                base64::Engine::decode(&base64::engine::general_purpose::STANDARD, joined).expect("base64 part");
            String::from_utf8(bytes).expect("utf-8 part")
        }
        "quoted-printable" => {
            let soft = body.replace("=\r\n", "");
            let b = soft.as_bytes();
            let mut out = Vec::new();
            let mut i = 0;
            while i < b.len() {
                let hex = (b[i] == b'=' && i + 3 <= b.len()).then(|| u8::from_str_radix(&soft[i + 1..i + 3], 16).ok());
                match hex.flatten() {
                    Some(v) => {
                        out.push(v);
                        i += 3;
                    }
                    None => {
                        out.push(b[i]);
                        i += 1;
                    }
                }
            }
            String::from_utf8(out).expect("utf-8 part").replace("\r\n", "\n")
        }
        _ => body.replace("\r\n", "\n"),
    }
}
