//! An ASGI application written in Rust on pyawaitable's PyO3 backend: no
//! Python code, no Rust runtime, any event loop the server runs (uvicorn on
//! asyncio, hypercorn on trio).
//!
//! `App(authorize, body_limit=1048576)` is the application. Per HTTP request
//! it awaits `authorize(scope)` (403 when false, 500 when it raises), then
//! routes:
//!
//! - `GET /`: `hello`;
//! - `POST /echo`: the request body, read by awaiting `receive()` until
//!   `more_body` is false (413 past `body_limit`), sent back in chunks;
//! - `POST /hash`: the FNV-1a hash of the request body (read as for
//!   `/echo`), computed on a worker thread while the event loop serves
//!   others: a Rust future waiting on the thread, awaited like any awaitable;
//! - `GET /stream?n=5&delay=10`: `n` chunks, `delay` ms apart (`anyio.sleep`);
//! - anything else: 404, or 405 for a known path with another method.
//!
//! It answers the `lifespan` protocol, stops quietly on `http.disconnect`,
//! and lets cancellation through.

use std::sync::Arc;

use pyo3::exceptions::{PyException, PyOSError, PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyTuple};

use pyawaitable::{OnError, PyAwaitable, PyAwaitableMethods};

/// Bytes per `http.response.body` message when echoing a body back.
const CHUNK: usize = 64 * 1024;

/// The connection's two channels.
struct Io {
    receive: Py<PyAny>,
    send: Py<PyAny>,
}

/// The ASGI application.
#[pyclass(frozen)]
struct App {
    /// `async def authorize(scope) -> bool`.
    authorize: Py<PyAny>,
    /// The largest request body accepted, in bytes.
    body_limit: usize,
}

#[pymethods]
impl App {
    #[new]
    #[pyo3(signature = (authorize, body_limit = 1 << 20))]
    fn new(authorize: Py<PyAny>, body_limit: usize) -> App {
        App {
            authorize,
            body_limit,
        }
    }

    /// `await app(scope, receive, send)`.
    fn __call__<'py>(
        &self,
        scope: &Bound<'py, PyDict>,
        receive: Bound<'py, PyAny>,
        send: Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAwaitable>> {
        let py = scope.py();
        let aw = PyAwaitable::new(py)?;
        let io = Arc::new(Io {
            receive: receive.unbind(),
            send: send.unbind(),
        });
        let kind: String = item(scope, "type")?.extract()?;
        match kind.as_str() {
            "lifespan" => lifespan(&aw, io)?,
            "http" => {
                let request = Request::from_scope(scope, self.body_limit)?;
                let check = self.authorize.call1(py, (scope,))?;
                let on_failure = hook_failed(Arc::clone(&io));
                aw.add_await_catching(
                    check.bind(py),
                    move |aw, allowed| {
                        if allowed.is_truthy()? {
                            route(aw, io, request)
                        } else {
                            respond(aw, &io, 403, vec![b"forbidden\n".to_vec()])
                        }
                    },
                    on_failure,
                )?;
            }
            other => {
                return Err(PyValueError::new_err(format!(
                    "unsupported scope type {other:?}"
                )))
            }
        }
        Ok(aw)
    }
}

/// What routing needs from the scope.
struct Request {
    method: String,
    path: String,
    query: String,
    body_limit: usize,
}

impl Request {
    fn from_scope(scope: &Bound<'_, PyDict>, body_limit: usize) -> PyResult<Request> {
        let query = match scope.get_item("query_string")? {
            Some(raw) => String::from_utf8_lossy(raw.cast::<PyBytes>()?.as_bytes()).into_owned(),
            None => String::new(),
        };
        Ok(Request {
            method: item(scope, "method")?.extract()?,
            path: item(scope, "path")?.extract()?,
            query,
            body_limit,
        })
    }

    /// A numeric query parameter, or `default`.
    fn number(&self, name: &str, default: u64) -> u64 {
        self.query
            .split('&')
            .filter_map(|pair| pair.split_once('='))
            .find(|(key, _)| *key == name)
            .and_then(|(_, value)| value.parse().ok())
            .unwrap_or(default)
    }
}

/// `scope[key]`, a `KeyError` when missing.
fn item<'py>(dict: &Bound<'py, PyDict>, key: &str) -> PyResult<Bound<'py, PyAny>> {
    dict.get_item(key)?
        .ok_or_else(|| pyo3::exceptions::PyKeyError::new_err(key.to_owned()))
}

/// A hook that raised answers 500; cancellation and exits pass through.
fn hook_failed(
    io: Arc<Io>,
) -> impl for<'py> FnOnce(
    &Bound<'py, PyAwaitable>,
    Bound<'py, pyo3::exceptions::PyBaseException>,
) -> PyResult<OnError>
       + Send
       + 'static {
    move |aw, exc| {
        if !exc.is_instance_of::<PyException>() {
            return Ok(OnError::Reraise);
        }
        respond(aw, &io, 500, vec![b"authorization hook failed\n".to_vec()])?;
        Ok(OnError::Handled)
    }
}

/// The router.
fn route(aw: &Bound<'_, PyAwaitable>, io: Arc<Io>, request: Request) -> PyResult<()> {
    match (request.method.as_str(), request.path.as_str()) {
        ("GET", "/") => respond(aw, &io, 200, vec![b"hello\n".to_vec()]),
        ("POST", "/echo") => read_body(aw, io, request.body_limit, Vec::new(), Then::Echo),
        ("POST", "/hash") => read_body(aw, io, request.body_limit, Vec::new(), Then::Hash),
        ("GET", "/stream") => {
            let count = request.number("n", 5);
            let delay = request.number("delay", 0) as f64 / 1000.0;
            start(aw, &io, 200)?;
            stream(aw, io, 0, count, delay)
        }
        (_, "/" | "/echo" | "/hash" | "/stream") => {
            respond(aw, &io, 405, vec![b"method not allowed\n".to_vec()])
        }
        _ => respond(aw, &io, 404, vec![b"not found\n".to_vec()]),
    }
}

/// What to do with a request body once it is complete.
#[derive(Clone, Copy)]
enum Then {
    /// Send it back.
    Echo,
    /// Send back its hash, computed on a worker thread.
    Hash,
}

/// Awaits `receive()` until the body is complete, then does `then`.
fn read_body(
    aw: &Bound<'_, PyAwaitable>,
    io: Arc<Io>,
    limit: usize,
    mut body: Vec<u8>,
    then: Then,
) -> PyResult<()> {
    let py = aw.py();
    let message = io.receive.call0(py)?;
    aw.add_await(message.bind(py), move |aw, message| {
        let message = message.cast::<PyDict>()?;
        let kind: String = item(message, "type")?.extract()?;
        if kind == "http.disconnect" {
            return Ok(());
        }
        if let Some(chunk) = message.get_item("body")? {
            body.extend_from_slice(chunk.cast::<PyBytes>()?.as_bytes());
        }
        if body.len() > limit {
            return respond(aw, &io, 413, vec![b"body too large\n".to_vec()]);
        }
        let more = match message.get_item("more_body")? {
            Some(flag) => flag.is_truthy()?,
            None => false,
        };
        if more {
            read_body(aw, io, limit, body, then)
        } else if let Then::Hash = then {
            hash_on_worker(aw, io, body)
        } else {
            let chunks = if body.is_empty() {
                vec![Vec::new()]
            } else {
                body.chunks(CHUNK).map(<[u8]>::to_vec).collect()
            };
            respond(aw, &io, 200, chunks)
        }
    })
}

/// Hashes `body` on a worker thread; the response waits for it (a Rust
/// future pending on the thread's channel) while the loop serves others.
fn hash_on_worker(aw: &Bound<'_, PyAwaitable>, io: Arc<Io>, body: Vec<u8>) -> PyResult<()> {
    let (done, hashed) = futures_channel::oneshot::channel();
    std::thread::spawn(move || {
        let _ = done.send(fnv1a(&body));
    });
    let work = PyAwaitable::from_future(aw.py(), move |_| async move {
        hashed
            .await
            .map_err(|_| PyRuntimeError::new_err("the hashing thread stopped"))
    })?;
    aw.add_await(&work, move |aw, hash| {
        let hash: u64 = hash.extract()?;
        respond(aw, &io, 200, vec![format!("{hash:016x}\n").into_bytes()])
    })
}

/// The 64-bit FNV-1a hash.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Sends chunk `index` of `count`, after `delay` seconds, then the next.
fn stream(
    aw: &Bound<'_, PyAwaitable>,
    io: Arc<Io>,
    index: u64,
    count: u64,
    delay: f64,
) -> PyResult<()> {
    let py = aw.py();
    if index == count {
        return body(aw, &io, b"", false);
    }
    let pause = py.import("anyio")?.call_method1("sleep", (delay,))?;
    aw.add_await(&pause, move |aw, _| {
        body(aw, &io, format!("chunk {index}\n").as_bytes(), true)?;
        stream(aw, io, index + 1, count, delay)
    })
}

/// `http.response.start` with `status`.
fn start(aw: &Bound<'_, PyAwaitable>, io: &Io, status: u16) -> PyResult<()> {
    let py = aw.py();
    let message = PyDict::new(py);
    message.set_item("type", "http.response.start")?;
    message.set_item("status", status)?;
    let headers = PyList::new(
        py,
        [
            PyTuple::new(
                py,
                [
                    PyBytes::new(py, b"content-type"),
                    PyBytes::new(py, b"text/plain"),
                ],
            )?,
            PyTuple::new(py, [PyBytes::new(py, b"x-app"), PyBytes::new(py, b"rust")])?,
        ],
    )?;
    message.set_item("headers", headers)?;
    sent(aw, io, message)
}

/// One `http.response.body` message.
fn body(aw: &Bound<'_, PyAwaitable>, io: &Io, chunk: &[u8], more: bool) -> PyResult<()> {
    let py = aw.py();
    let message = PyDict::new(py);
    message.set_item("type", "http.response.body")?;
    message.set_item("body", PyBytes::new(py, chunk))?;
    message.set_item("more_body", more)?;
    sent(aw, io, message)
}

/// Queues `await send(message)`. A client that went away (`OSError`) ends
/// the response quietly: everything still queued is dropped.
fn sent(aw: &Bound<'_, PyAwaitable>, io: &Io, message: Bound<'_, PyDict>) -> PyResult<()> {
    let py = aw.py();
    let sending = io.send.call1(py, (message,))?;
    aw.add_await_catching(
        sending.bind(py),
        |_, _| Ok::<_, PyErr>(()),
        |aw, exc| {
            if exc.is_instance_of::<PyOSError>() {
                aw.cancel()?;
                Ok(OnError::Handled)
            } else {
                Ok(OnError::Reraise)
            }
        },
    )
}

/// A whole response: the start, then `chunks` as body messages.
fn respond(
    aw: &Bound<'_, PyAwaitable>,
    io: &Io,
    status: u16,
    chunks: Vec<Vec<u8>>,
) -> PyResult<()> {
    start(aw, io, status)?;
    let last = chunks.len().saturating_sub(1);
    for (i, chunk) in chunks.iter().enumerate() {
        body(aw, io, chunk, i < last)?;
    }
    Ok(())
}

/// The lifespan protocol: answer startup and shutdown, then return.
fn lifespan(aw: &Bound<'_, PyAwaitable>, io: Arc<Io>) -> PyResult<()> {
    let py = aw.py();
    let message = io.receive.call0(py)?;
    aw.add_await(message.bind(py), move |aw, message| {
        let kind: String = item(message.cast::<PyDict>()?, "type")?.extract()?;
        let reply = PyDict::new(aw.py());
        match kind.as_str() {
            "lifespan.startup" => {
                reply.set_item("type", "lifespan.startup.complete")?;
                sent(aw, &io, reply)?;
                lifespan(aw, io)
            }
            "lifespan.shutdown" => {
                reply.set_item("type", "lifespan.shutdown.complete")?;
                sent(aw, &io, reply)
            }
            other => Err(PyValueError::new_err(format!(
                "unexpected lifespan message {other:?}"
            ))),
        }
    })
}

/// The extension module `asgi_native_rs`. pyawaitable-rs needs the GIL, so
/// the module says it does (a free-threaded interpreter turns it on at
/// import), and makes the awaitable type now, so that an interpreter it must
/// not run on refuses the import.
#[pymodule(gil_used = true)]
fn asgi_native_rs(module: &Bound<'_, PyModule>) -> PyResult<()> {
    PyAwaitable::ready(module.py())?;
    module.add_class::<App>()
}
