//! The node's HTTP front, its common case in native code: one plain JSON-RPC POST read off a
//! connection's bytes ([`plain_post`], by `httparse`, the parser hyper uses), and the answer to
//! a request for a method whose result never changes ([`ConstantAnswers`], by `serde_json`).
//!
//! Both only ever say "this one is simple, here it is" or "not for me" (`None`): anything
//! unusual (a refusal, an `Expect`, an `Upgrade`, a pipelined or partial request, an odd id)
//! goes to the Python path (`collective/node/http.py`, `collective/node/rpc/dispatch.py`),
//! which stays the reference: tests check that whatever these accept, it reads and answers
//! the same.
use std::collections::HashMap;

use pyo3::prelude::*;
use pyo3::types::PyBytes;
use serde_json::Value;

/// Header lines a request may have (`collective.node.http.MAX_HEADERS`).
const MAX_HEADERS: usize = 100;
/// Bytes in a request target or header line (`collective.node.http.MAX_LINE`).
const MAX_LINE: usize = 65_536;

/// Whether every line of `head` ends in CRLF (no bare LF: RFC 9112 section 2.2 lets a server
/// refuse it, and the Python path does), no line is folded (obs-fold, RFC 9112 section 5.2),
/// and every byte is printable ASCII, HT, CR or LF.
fn strict_head(head: &[u8]) -> bool {
    let mut previous = 0u8;
    for &byte in head {
        match byte {
            b'\n' if previous != b'\r' => return false,
            b' ' | b'\t' if previous == b'\n' => return false,
            b'\r' | b'\n' | b'\t' | 0x20..=0x7e => {}
            _ => return false,
        }
        previous = byte;
    }
    true
}

/// One plain HTTP/1.x POST, whole, in `data` (the bytes a connection's `recv` returned while
/// no request was being read): `(body_start, keep_alive, origin, minor_version)`, or None for
/// anything else, which the Python reader (`collective.node.http.RequestReader`) reads.
///
/// Plain: HTTP/1.1 or 1.0; `POST`; a target and header lines within `MAX_LINE` bytes, at
/// most `MAX_HEADERS` lines, CRLF line ends, printable ASCII; exactly one `Content-Length`
/// of digits, at most `max_body`, and the body exactly the rest of `data`; at most one
/// `Connection`, either `keep-alive` or `close`; no `Transfer-Encoding`, `Expect` or
/// `Upgrade`. `keep_alive` as RFC 9112 section 9.3 has it (HTTP/1.1 unless `close`; HTTP/1.0
/// only with `keep-alive`); `origin`: an `Origin` header came.
#[pyfunction]
pub fn plain_post(data: &[u8], max_body: usize) -> Option<(usize, bool, bool, u8)> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut request = httparse::Request::new(&mut headers);
    let head = match request.parse(data) {
        Ok(httparse::Status::Complete(head)) => head,
        _ => return None,
    };
    if request.method != Some("POST") || !strict_head(&data[..head]) {
        return None;
    }
    let minor = request.version?;
    if minor > 1 || request.path?.len() > MAX_LINE {
        return None;
    }
    let (mut length, mut connection, mut origin) = (None, None, false);
    for header in request.headers.iter() {
        if header.name.len() + header.value.len() + 4 > MAX_LINE {
            return None;
        }
        let name = header.name.as_bytes();
        if name.eq_ignore_ascii_case(b"content-length") {
            let digits = header.value;
            if length.is_some() || digits.is_empty() || digits.len() > 15 {
                return None;
            }
            if !digits.iter().all(u8::is_ascii_digit) {
                return None;
            }
            length = std::str::from_utf8(digits).ok()?.parse::<usize>().ok();
        } else if name.eq_ignore_ascii_case(b"connection") {
            if connection.is_some() {
                return None;
            }
            let value = header.value;
            connection = Some(if value.eq_ignore_ascii_case(b"keep-alive") {
                true
            } else if value.eq_ignore_ascii_case(b"close") {
                false
            } else {
                return None;
            });
        } else if name.eq_ignore_ascii_case(b"origin") {
            origin = true;
        } else if name.eq_ignore_ascii_case(b"transfer-encoding")
            || name.eq_ignore_ascii_case(b"expect")
            || name.eq_ignore_ascii_case(b"upgrade")
        {
            return None;
        }
    }
    let length = length?;
    if length > max_body || head + length != data.len() {
        return None;
    }
    let keep_alive = match (minor, connection) {
        (1, None) => true,
        (_, Some(keep)) => keep,
        (_, None) => false,
    };
    Some((head, keep_alive, origin, minor))
}

/// Answers to requests for methods whose result is fixed for the node's life
/// (`eth_chainId`, `net_version`): built with each method's result as JSON text.
#[pyclass(frozen)]
pub struct ConstantAnswers {
    results: HashMap<String, String>,
}

/// A request id written back as the Python path writes it (`json.dumps`), or None for one
/// it might write otherwise: null, an integer within 64 bits, or a string of printable ASCII
/// without `"` or `\`.
fn id_text(id: &Value) -> Option<String> {
    match id {
        Value::Null => Some("null".to_owned()),
        Value::Number(number) if number.is_i64() || number.is_u64() => Some(number.to_string()),
        Value::String(text) => {
            let plain = text.bytes().all(|b| (0x20..=0x7e).contains(&b) && b != b'"' && b != b'\\');
            plain.then(|| format!("\"{text}\""))
        }
        _ => None,
    }
}

#[pymethods]
impl ConstantAnswers {
    /// `results`: method name to its result as JSON text (`{"eth_chainId": "\"0x539\""}`).
    #[new]
    fn new(results: HashMap<String, String>) -> Self {
        ConstantAnswers { results }
    }

    /// The answer to `body` when it is one JSON-RPC 2.0 request (UTF-8 JSON) for one of the
    /// methods, without parameters (absent, null or `[]`), with an id (`id_text`):
    /// `{"jsonrpc":"2.0","id":ID,"result":RESULT}`; None for any other body.
    fn answer(&self, body: &[u8]) -> Option<String> {
        let request: Value = serde_json::from_slice(body).ok()?;
        let request = request.as_object()?;
        if request.get("jsonrpc")?.as_str()? != "2.0" {
            return None;
        }
        match request.get("params") {
            None | Some(Value::Null) => {}
            Some(Value::Array(params)) if params.is_empty() => {}
            _ => return None,
        }
        let result = self.results.get(request.get("method")?.as_str()?)?;
        let id = id_text(request.get("id")?)?;
        Some(format!("{{\"jsonrpc\":\"2.0\",\"id\":{id},\"result\":{result}}}"))
    }
}

/// `0x` and an even number of hex digits (either case), as bytes; None for anything else.
fn hex_bytes(value: &Value) -> Option<Vec<u8>> {
    let digits = value.as_str()?.strip_prefix("0x")?.as_bytes();
    if digits.len() % 2 != 0 {
        return None;
    }
    let nibble = |d: u8| (d as char).to_digit(16).map(|n| n as u8);
    digits.chunks(2).map(|pair| Some(nibble(pair[0])? << 4 | nibble(pair[1])?)).collect()
}

/// A 20-byte address written as `0x` and 40 hex digits.
fn hex_address(value: &Value) -> Option<Vec<u8>> {
    hex_bytes(value).filter(|bytes| bytes.len() == 20)
}

/// One plain `eth_call` on the head in `body`: `(id, to, data, from)` (the id as the answer
/// writes it, `id_text`; `to`, `from` 20 bytes, `from` None when absent; `data` bytes), or
/// None for anything else.
///
/// Plain: a JSON-RPC 2.0 request for `eth_call` whose params are exactly a call object and
/// `"latest"`; the object has `to` (an address) and at most `data` or `input` (`0x` hex of
/// even length) and `from` (an address), each a string, nothing else: what the Python
/// parsers (`collective.node.rpc.objects.call_args`) take to the same values.
#[pyfunction]
#[allow(clippy::type_complexity)]
pub fn plain_call<'py>(
    py: Python<'py>,
    body: &[u8],
) -> Option<(String, Bound<'py, PyBytes>, Bound<'py, PyBytes>, Option<Bound<'py, PyBytes>>)> {
    let (id, to, data, sender) = read_call(body)?;
    let sender = sender.map(|sender| PyBytes::new_bound(py, &sender));
    Some((id, PyBytes::new_bound(py, &to), PyBytes::new_bound(py, &data), sender))
}

fn read_call(body: &[u8]) -> Option<(String, Vec<u8>, Vec<u8>, Option<Vec<u8>>)> {
    let request: Value = serde_json::from_slice(body).ok()?;
    let request = request.as_object()?;
    if request.get("jsonrpc")?.as_str()? != "2.0" || request.get("method")?.as_str()? != "eth_call"
    {
        return None;
    }
    let id = id_text(request.get("id")?)?;
    let params = request.get("params")?.as_array()?;
    if params.len() != 2 || params[1].as_str()? != "latest" {
        return None;
    }
    let call = params[0].as_object()?;
    let (mut to, mut data, mut sender) = (None, None, None);
    for (key, value) in call {
        match key.as_str() {
            "to" => to = Some(hex_address(value)?),
            "data" | "input" if data.is_none() => data = Some(hex_bytes(value)?),
            "from" => sender = Some(hex_address(value)?),
            _ => return None,
        }
    }
    Some((id, to?, data.unwrap_or_default(), sender))
}
