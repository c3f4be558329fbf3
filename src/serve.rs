//! `bloodsim serve`: the trainer's page on a local web server.
//!
//! A small synchronous server (tiny_http) with a few worker threads, so the page stays
//! responsive while one of them computes the odds (on the rayon pool, outside the
//! session's lock). It serves only its own embedded assets and a JSON API; every request
//! body is parsed into typed values with bounds (the session checks the rest), and a bad
//! request gets a 400 with a message the page shows. The Host header must name the address
//! the server is bound to (a page on another site cannot reach it through DNS rebinding).

use std::io::Read;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use serde::Deserialize;
use tiny_http::{Header, Method, Request, Response, Server};

use crate::trainer::{Injection, Refused, Session};

const INDEX: &str = include_str!("../assets/trainer/index.html");
const SCRIPT: &str = include_str!("../assets/trainer/app.js");
const STYLE: &str = include_str!("../assets/trainer/app.css");

/// Largest request body read, in bytes.
const MAX_BODY: u64 = 64 * 1024;
/// Requests handled at once: one may be computing the odds while the others answer.
const WORKERS: usize = 4;

/// A running server: its address, and the handle that stops it.
pub struct Running {
    pub addr: SocketAddr,
    server: Arc<Server>,
    workers: Vec<std::thread::JoinHandle<()>>,
}

impl Running {
    /// Serves until the process ends.
    pub fn wait(self) {
        for w in self.workers {
            let _ = w.join();
        }
    }

    /// Stops accepting requests and waits for the workers.
    pub fn stop(self) {
        self.server.unblock();
        for _ in 1..WORKERS {
            self.server.unblock();
        }
        for w in self.workers {
            let _ = w.join();
        }
    }
}

/// Starts serving `session` on `addr` (port 0: any free port).
pub fn start(session: Session, addr: SocketAddr) -> std::io::Result<Running> {
    let server = Arc::new(Server::http(addr).map_err(std::io::Error::other)?);
    let addr = server
        .server_addr()
        .to_ip()
        .ok_or_else(|| std::io::Error::other("not an IP address"))?;
    let session = Arc::new(Mutex::new(session));
    let workers = (0..WORKERS)
        .map(|_| {
            let (server, session) = (Arc::clone(&server), Arc::clone(&session));
            std::thread::spawn(move || {
                while let Ok(request) = server.recv() {
                    handle(request, &session, addr);
                }
            })
        })
        .collect();
    Ok(Running {
        addr,
        server,
        workers,
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StepBody {
    periods: u32,
    #[serde(default)]
    product: usize,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OddsBody {
    replications: u32,
    days: u32,
    #[serde(default)]
    product: usize,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct InjectBody {
    event: Injection,
    #[serde(default)]
    product: usize,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ViewBody {
    #[serde(default)]
    product: usize,
}

/// What a request gets back.
enum Reply {
    Asset(&'static str, &'static str),
    Json(String),
    Text(String),
    Error(u16, String),
}

fn handle(mut request: Request, session: &Mutex<Session>, addr: SocketAddr) {
    let reply = if !host_allowed(&request, addr) {
        Reply::Error(421, "this server answers only to its own address".into())
    } else {
        route(&mut request, session)
    };
    let (status, body, kind) = match reply {
        Reply::Asset(body, kind) => (200, body.to_string(), kind),
        Reply::Json(body) => (200, body, "application/json"),
        Reply::Text(body) => (200, body, "text/plain; charset=utf-8"),
        Reply::Error(status, message) => (
            status,
            serde_json::json!({ "error": message }).to_string(),
            "application/json",
        ),
    };
    let headers = [
        ("Content-Type", kind),
        ("Cache-Control", "no-store"),
        ("X-Content-Type-Options", "nosniff"),
        (
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'",
        ),
    ];
    let mut response = Response::from_string(body).with_status_code(status);
    for (k, v) in headers {
        if let Ok(h) = Header::from_bytes(k.as_bytes(), v.as_bytes()) {
            response.add_header(h);
        }
    }
    // The client may have gone; nothing to do about it.
    let _ = request.respond(response);
}

/// The Host header names the bound address (or `localhost` with its port).
fn host_allowed(request: &Request, addr: SocketAddr) -> bool {
    let Some(host) = request
        .headers()
        .iter()
        .find(|h| h.field.equiv("Host"))
        .map(|h| h.value.as_str().to_ascii_lowercase())
    else {
        return false;
    };
    let port = addr.port();
    host == addr.to_string()
        || host == format!("localhost:{port}")
        || (addr.ip().is_unspecified() && host.ends_with(&format!(":{port}")))
}

fn route(request: &mut Request, session: &Mutex<Session>) -> Reply {
    let path = request.url().split('?').next().unwrap_or("").to_string();
    match (request.method(), path.as_str()) {
        (Method::Get, "/") => Reply::Asset(INDEX, "text/html; charset=utf-8"),
        (Method::Get, "/app.js") => Reply::Asset(SCRIPT, "text/javascript; charset=utf-8"),
        (Method::Get, "/app.css") => Reply::Asset(STYLE, "text/css; charset=utf-8"),
        (Method::Get, "/api/scenario.toml") => Reply::Text(lock(session).scenario_text()),
        (Method::Post, "/api/view") => with_body(request, |b: ViewBody| {
            Ok(json(&lock(session).view(b.product)))
        }),
        (Method::Post, "/api/step") => with_body(request, |b: StepBody| {
            let mut s = lock(session);
            s.step(b.periods)?;
            Ok(json(&s.view(b.product)))
        }),
        (Method::Post, "/api/inject") => with_body(request, |b: InjectBody| {
            let mut s = lock(session);
            s.inject(b.event)?;
            Ok(json(&s.view(b.product)))
        }),
        (Method::Post, "/api/restart") => with_body(request, |b: ViewBody| {
            let mut s = lock(session);
            s.restart();
            Ok(json(&s.view(b.product)))
        }),
        (Method::Post, "/api/odds") => with_body(request, |b: OddsBody| {
            // Taken under the lock, computed without it: stepping goes on meanwhile.
            let odds = lock(session).odds_request(b.replications, b.days)?;
            Ok(json(&odds.run(b.product)))
        }),
        (_, "/" | "/app.js" | "/app.css" | "/api/scenario.toml") => {
            Reply::Error(405, "use GET".into())
        }
        (_, p) if p.starts_with("/api/") => Reply::Error(405, "use POST with a JSON body".into()),
        _ => Reply::Error(404, format!("no such page: {path}")),
    }
}

fn lock(session: &Mutex<Session>) -> std::sync::MutexGuard<'_, Session> {
    // A panic elsewhere leaves the session as it was between requests: keep serving it.
    session.lock().unwrap_or_else(|e| e.into_inner())
}

fn json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
}

/// Reads a bounded JSON body into `T` and answers with `f`'s JSON, or a 400 that says why.
fn with_body<T: serde::de::DeserializeOwned>(
    request: &mut Request,
    f: impl FnOnce(T) -> Result<String, Refused>,
) -> Reply {
    let mut body = Vec::new();
    if let Err(e) = request
        .as_reader()
        .take(MAX_BODY + 1)
        .read_to_end(&mut body)
    {
        return Reply::Error(400, format!("could not read the request: {e}"));
    }
    if body.len() as u64 > MAX_BODY {
        return Reply::Error(413, format!("a request body is at most {MAX_BODY} bytes"));
    }
    let text = if body.iter().all(u8::is_ascii_whitespace) {
        b"{}".as_slice()
    } else {
        &body
    };
    match serde_json::from_slice::<T>(text) {
        Ok(value) => match f(value) {
            Ok(json) => Reply::Json(json),
            Err(Refused(message)) => Reply::Error(400, message),
        },
        Err(e) => Reply::Error(400, format!("bad request: {e}")),
    }
}
