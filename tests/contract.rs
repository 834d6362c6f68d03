//! The Rust side of `src/contract.json`, the one list of the names the worker and the TypeScript
//! client share (tests/contract/contract.test.mjs holds the TypeScript side and the README to it):
//! the calls [`Call`] reads, the events [`Event`] writes, the error codes and the CLOSED set of
//! reasons the Rust can produce (read from the source: every `Error::… { reason }` the shell and
//! the core build), the `createAuthClient` option names `ClientConfig::from_json` accepts, and
//! the callback parameters the core reads (`RESPONSE_PARAMS`).

// Native only: it reads the source tree, and serde_json is a native dev-dependency.
#![cfg(not(target_arch = "wasm32"))]

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use oidc_worker::protocol::config::ClientConfig;
use oidc_worker::protocol::json;
use oidc_worker::protocol::messages::{Call, ErrorData, Event, FetchCall, TokenInfo, TokenOptions};
use oidc_worker::protocol::Error;
use serde_json::Value;

type Names = BTreeSet<String>;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn contract() -> Value {
    let text = fs::read_to_string(root().join("src/contract.json")).expect("src/contract.json");
    serde_json::from_str(&text).expect("src/contract.json is JSON")
}

fn names(value: &Value) -> Names {
    value.as_array().expect("a list of names").iter().map(|v| v.as_str().expect("a name").to_owned()).collect()
}

fn source(path: &str) -> String {
    fs::read_to_string(root().join(path)).expect(path)
}

/// The string literals of `const NAME: [&str; N] = [...];` in `text`.
fn const_list(text: &str, name: &str) -> Names {
    let start = text.find(&format!("const {name}:")).unwrap_or_else(|| panic!("const {name}"));
    let body = &text[start..];
    let body = &body[body.find("= [").expect("= [")..body.find("];").expect("];")];
    literals(body)
}

/// Every `"..."` literal in `text` (no escapes in the names these tests read).
fn literals(text: &str) -> Names {
    text.split('"').skip(1).step_by(2).map(str::to_owned).collect()
}

// ---- calls and events ----

#[test]
fn calls_are_the_contracts() {
    // serde names every variant when it meets an unknown one.
    let error = serde_json::from_str::<Call>(r#"{"no such call":0}"#).unwrap_err().to_string();
    let expected = &error[error.find("expected").expect("serde lists the variants")..];
    let variants: Names = expected.split('`').skip(1).step_by(2).map(str::to_owned).collect();
    assert_eq!(variants, names(&contract()["calls"]));

    // The shapes (what index.js and worker.js send), one per call.
    let samples = [
        (r#"{"configure":"{\"issuer\":\"https://op.example\"}"}"#, Call::Configure(r#"{"issuer":"https://op.example"}"#.into())),
        (r#"{"login":"{}"}"#, Call::Login("{}".into())),
        (r#"{"handleCallback":"https://app.example/cb?code=c&state=s"}"#, Call::HandleCallback("https://app.example/cb?code=c&state=s".into())),
        (r#""isAuthenticated""#, Call::IsAuthenticated),
        (r#"{"getUser":true}"#, Call::GetUser(true)),
        (r#"{"getAccessToken":{}}"#, Call::GetAccessToken(TokenOptions::default())),
        (
            r#"{"getAccessToken":{"forceRefresh":true,"resource":"https://api.example/","scope":"read"}}"#,
            Call::GetAccessToken(TokenOptions { force_refresh: true, resource: Some("https://api.example/".into()), scope: Some("read".into()) }),
        ),
        (
            r#"{"fetch":{"url":"https://api.example/x","method":"GET"}}"#,
            Call::Fetch(FetchCall { url: "https://api.example/x".into(), method: "GET".into() }),
        ),
        (r#"{"logout":true}"#, Call::Logout(true)),
        (r#""tick""#, Call::Tick),
        (r#"{"restore":"{\"url\":\"https://app.example/\",\"hint\":1}"}"#, Call::Restore(r#"{"url":"https://app.example/","hint":1}"#.into())),
        (r#"{"awaitLogin":"k"}"#, Call::AwaitLogin("k".into())),
        (r#"{"deviceLogin":"{}"}"#, Call::DeviceLogin("{}".into())),
        (r#"{"popupCallback":"https://app.example/cb?code=c&state=s"}"#, Call::PopupCallback("https://app.example/cb?code=c&state=s".into())),
    ];
    let mut covered = Names::new();
    for (text, call) in samples {
        assert_eq!(serde_json::from_str::<Call>(text).unwrap(), call, "{text}");
        assert_eq!(Call::from_json(text), Some(call), "the worker reads it alike: {text}");
        covered.insert(match serde_json::from_str::<Value>(text).unwrap() {
            Value::String(name) => name,
            Value::Object(members) => members.keys().next().unwrap().clone(),
            _ => unreachable!(),
        });
    }
    assert_eq!(covered, names(&contract()["calls"]), "a sample for every call");
}

/// Every event, once (the match makes a new variant a compile error here).
fn every_event() -> Vec<Event<'static>> {
    let info = TokenInfo { expires_at: Some(1), scope: None, resource: None };
    let events = vec![
        Event::Login(info.clone()),
        Event::TokenRefreshed(info),
        Event::SessionExpired { reason: "invalid_grant" },
        Event::Logout {},
        Event::Error(ErrorData::from(&Error::LoginRequired)),
        Event::Wake { delay_ms: None },
    ];
    for event in &events {
        match event {
            Event::Login(_) | Event::TokenRefreshed(_) | Event::SessionExpired { .. } | Event::Logout {} | Event::Error(_) | Event::Wake { .. } => {}
        }
    }
    events
}

#[test]
fn events_are_the_contracts() {
    let c = contract();
    let written: Names = every_event()
        .iter()
        .map(|e| serde_json::to_value(e).unwrap()["name"].as_str().unwrap().to_owned())
        .collect();
    let expected: Names = names(&c["events"]).union(&names(&c["workerEvents"])).cloned().collect();
    assert_eq!(written, expected);
    // `{ name, detail }`; `logout`'s detail is `{}`.
    let logout = serde_json::to_value(Event::Logout {}).unwrap();
    assert_eq!(logout, serde_json::json!({ "name": "logout", "detail": {} }));
}

#[test]
fn error_objects_have_the_contracts_fields() {
    let errors = [
        Error::token_error("invalid_grant", Some("gone".into()), 400),
        Error::ServerError { status: 503 },
        Error::Config { reason: &"issuer" },
    ];
    let mut fields = Names::new();
    for error in &errors {
        let value = serde_json::to_value(ErrorData::from(error)).unwrap();
        fields.extend(value.as_object().unwrap().keys().cloned());
    }
    assert_eq!(fields, names(&contract()["errorFields"]));
}

// ---- errors ----

#[test]
fn error_codes_are_the_contracts() {
    let error_rs = source("src/protocol/error.rs");
    let code_fn = &error_rs[error_rs.find("pub fn code(&self)").unwrap()..];
    let code_fn = &code_fn[..code_fn.find("\n    }\n").unwrap()];
    let codes = literals(code_fn);
    let contract_codes: Names = contract()["errors"].as_object().unwrap().keys().cloned().collect();
    assert_eq!(codes, contract_codes);
}

/// The variants that carry a `reason`, and their codes.
const REASON_VARIANTS: [(&str, &str); 6] = [
    ("Config", "config"),
    ("Network", "network"),
    ("InvalidResponse", "invalid_response"),
    ("IssuerMismatch", "issuer_mismatch"),
    ("InvalidCallback", "invalid_callback"),
    ("InvalidIdToken", "invalid_id_token"),
];

#[test]
fn error_reasons_are_the_contracts_closed_set() {
    let mut found: BTreeMap<String, Names> = BTreeMap::new();
    for (path, text) in production_sources() {
        for (code, reason) in reasons_in(&path, &text) {
            found.entry(code).or_default().insert(reason);
        }
    }
    // `ServerError` (a 5xx without an OAuth error) has a fixed reason.
    found.entry("network".into()).or_default().insert(Error::ServerError { status: 500 }.reason().unwrap().into());

    let c = contract();
    for (code, listed) in c["errors"].as_object().unwrap() {
        let listed = names(listed);
        let produced = found.remove(code).unwrap_or_default();
        let unlisted: Names = produced.difference(&listed).cloned().collect();
        assert!(unlisted.is_empty(), "{code}: reasons the Rust produces that src/contract.json does not list: {unlisted:?}");
        let main_thread = c["mainThreadReasons"].get(code).map(names).unwrap_or_default();
        let stale: Names = listed.difference(&produced).filter(|r| !main_thread.contains(*r)).cloned().collect();
        assert!(stale.is_empty(), "{code}: reasons src/contract.json lists that nothing produces: {stale:?}");
    }
    assert!(found.is_empty(), "codes with reasons that src/contract.json does not have: {found:?}");
}

/// The `.rs` files under src/ that ship, without their test modules. (The `bench` feature's
/// src/worker/bench.rs is a benchmark harness, not the product; error.rs defines the codes and
/// only matches on the variants.)
fn production_sources() -> Vec<(String, String)> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    let mut paths = Vec::new();
    walk(&root().join("src"), &mut paths);
    paths.sort();
    paths
        .into_iter()
        .filter(|p| !matches!(p.file_name().unwrap().to_str().unwrap(), "tests.rs" | "testing.rs" | "bench.rs" | "error.rs"))
        .map(|p| {
            let text = fs::read_to_string(&p).unwrap();
            let text = match text.find("#[cfg(test)]\nmod tests") {
                Some(end) => text[..end].to_owned(),
                None => text,
            };
            (p.strip_prefix(root()).unwrap().display().to_string(), text)
        })
        .collect()
}

/// The `(code, reason)`s a file can produce: `Error::V { reason: "…" }`; helpers that build one
/// from their argument (`fn config(reason: Reason) -> Error`, `|reason| Error::V { reason }`)
/// called with literals, or with an argument of a closure / function that its callers give as a
/// literal; `reason: f(…)` where `f` returns literals. Anything else fails the test: a reason this
/// test cannot see would be outside the closed set.
fn reasons_in(path: &str, text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut helpers = Vec::new();
    for (variant, code) in REASON_VARIANTS {
        let needle = format!("Error::{variant} {{");
        for (at, _) in text.match_indices(&needle) {
            let inner_start = at + needle.len();
            let inner = text[inner_start..inner_start + text[inner_start..].find('}').unwrap()].trim().trim_end_matches(',');
            if inner == ".." {
                continue; // a pattern
            }
            if let Some(value) = inner.strip_prefix("reason:") {
                let value = value.trim().trim_start_matches('&');
                if value.starts_with('"') {
                    out.push((code.to_owned(), value.trim_matches('"').to_owned()));
                } else if let Some(function) = value.strip_suffix(')').and_then(|v| v.split_once('(')).map(|(f, _)| f) {
                    let body = &text[text.find(&format!("fn {function}(")).unwrap_or_else(|| panic!("{path}: fn {function}"))..];
                    let body = &body[..body.find("\n}\n").unwrap()];
                    for arm in body.split("=>").skip(1) {
                        out.extend(literals(arm.lines().next().unwrap()).into_iter().map(|r| (code.to_owned(), r)));
                    }
                } else {
                    panic!("{path}: a reason this test cannot follow: Error::{variant} {{ {inner} }}");
                }
            } else if inner == "reason" {
                let before = &text[..at];
                let line = &before[before.rfind('\n').unwrap_or(0)..];
                let name = if let Some(closure) = line.trim().strip_prefix("let ").and_then(|l| l.split_once(" = |reason|")) {
                    closure.0.to_owned()
                } else {
                    let def = &before[before.rfind("fn ").expect("a helper fn")..];
                    assert!(def.contains("(reason: Reason) -> Error"), "{path}: a reason this test cannot follow: {def}");
                    def[3..def.find('(').unwrap()].to_owned()
                };
                helpers.push((name, code));
            } else {
                panic!("{path}: a reason this test cannot follow: Error::{variant} {{ {inner} }}");
            }
        }
    }
    for (helper, code) in helpers {
        for (site, args) in call_args(text, &helper) {
            let [arg] = args.as_slice() else { panic!("{path}: {helper}({args:?})") };
            let arg = arg.trim_start_matches('&');
            if arg.starts_with('"') {
                out.push((code.to_owned(), arg.trim_matches('"').to_owned()));
            } else {
                out.extend(passed_through(path, &text[..site], &helper, arg, text).into_iter().map(|r| (code.to_owned(), r)));
            }
        }
    }
    out
}

/// The literals given for parameter `param` of the closure or function around the call
/// `helper(param)` that `before` ends at.
fn passed_through(path: &str, before: &str, helper: &str, param: &str, text: &str) -> Vec<String> {
    // The nearest `let f = |…|` or `fn f(…)` before the call with `param` among its parameters.
    let mut candidates: Vec<(usize, String, Vec<String>)> = Vec::new();
    for (at, _) in before.match_indices("let ") {
        let rest = &before[at + 4..];
        if let Some((name, params)) = rest.split_once(" = |").and_then(|(n, r)| Some((n, r.split_once('|')?.0))) {
            if name.chars().all(|c| c.is_alphanumeric() || c == '_') {
                candidates.push((at, name.to_owned(), split_params(params)));
            }
        }
    }
    for (at, _) in before.match_indices("fn ") {
        let rest = &before[at + 3..];
        if let Some((name, params)) = rest.split_once('(').and_then(|(n, r)| Some((n, r.split_once(')')?.0))) {
            let name = name.split('<').next().unwrap();
            if name.chars().all(|c| c.is_alphanumeric() || c == '_') {
                candidates.push((at, name.to_owned(), split_params(params)));
            }
        }
    }
    candidates.sort();
    let (_, outer, params) = candidates
        .into_iter()
        .rev()
        .find(|(_, _, params)| params.iter().any(|p| p == param))
        .unwrap_or_else(|| panic!("{path}: where does `{param}` of {helper}({param}) come from?"));
    let index = params.iter().position(|p| p == param).unwrap();
    let mut reasons = Vec::new();
    for (_, args) in call_args(text, &outer) {
        let arg = args[index].trim_start_matches('&');
        assert!(arg.starts_with('"'), "{path}: {outer}(…) passes a reason this test cannot follow: {arg}");
        reasons.push(arg.trim_matches('"').to_owned());
    }
    assert!(!reasons.is_empty(), "{path}: {outer} is never called");
    reasons
}

/// Parameter names of a parameter list (`a: T, b` → `[a, b]`).
fn split_params(params: &str) -> Vec<String> {
    params.split(',').map(|p| p.split(':').next().unwrap().trim().trim_start_matches('&').to_owned()).filter(|p| !p.is_empty()).collect()
}

/// Where each call `name(…)` in `text` is (not its definition), and its arguments.
fn call_args(text: &str, name: &str) -> Vec<(usize, Vec<String>)> {
    let needle = format!("{name}(");
    let mut calls = Vec::new();
    for (at, _) in text.match_indices(&needle) {
        let before = text[..at].chars().next_back();
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '.' || c == ':') || text[..at].ends_with("fn ") {
            continue;
        }
        let (mut depth, mut in_string, mut args, mut current) = (0, false, Vec::new(), String::new());
        for c in text[at + needle.len()..].chars() {
            match c {
                '"' => in_string = !in_string,
                '(' | '[' | '{' if !in_string => depth += 1,
                ')' | ']' | '}' if !in_string && depth == 0 => break,
                ')' | ']' | '}' if !in_string => depth -= 1,
                ',' if !in_string && depth == 0 => {
                    args.push(current.trim().to_owned());
                    current.clear();
                    continue;
                }
                _ => {}
            }
            current.push(c);
        }
        args.push(current.trim().to_owned());
        calls.push((at, args));
    }
    calls
}

// ---- options and callback parameters ----

#[test]
fn options_are_the_contracts() {
    let c = contract();
    let options = names(&c["options"]);
    assert_eq!(const_list(&source("src/protocol/config.rs"), "KNOWN"), options);
    // And ClientConfig takes each of them, and refuses what only the main thread reads.
    let with = |name: &str, value: &str| {
        let text = format!(r#"{{"issuer":"https://op.example","clientId":"spa","redirectUri":"https://app.example/cb","{name}":{value}}}"#);
        ClientConfig::from_json(&json::parse(text.as_bytes()).unwrap_or_else(|_| panic!("{text}")))
    };
    for name in options.iter().filter(|n| !["issuer", "clientId", "redirectUri"].contains(&n.as_str())) {
        assert_ne!(with(name, "null").err(), Some(Error::Config { reason: &"unknown_option" }), "{name}");
    }
    for name in names(&c["mainThreadOptions"]) {
        assert_eq!(with(&name, "null").err(), Some(Error::Config { reason: &"unknown_option" }), "{name}");
    }
}

#[test]
fn callback_params_are_the_ones_the_core_reads() {
    let params = const_list(&source("src/protocol/authorization.rs"), "RESPONSE_PARAMS");
    assert_eq!(params, names(&contract()["callbackParams"]));
}
