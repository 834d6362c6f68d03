//! Headless tests of the wasm shell, run inside a dedicated worker like the real thing:
//! randomness, `fetch` wiring and its error mapping, the IndexedDB pending-login store, the
//! single-flight refresh, and the reply format of `WorkerHost::handle`.
//!
//! `CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner cargo test --target wasm32-unknown-unknown`
//!
//! The runner's HTTP server also serves the crate directory, so `/Cargo.toml` is a real
//! same-origin endpoint.
#![cfg(target_arch = "wasm32")]

use std::cell::Cell;
use std::rc::Rc;

use js_sys::{Array, Promise};
use oidc_worker::__shell::single_flight::SingleFlight;
use oidc_worker::__shell::{io, store, WorkerHost};
use oidc_worker::protocol::http::{HttpRequest, Method, MAX_RESPONSE_BYTES};
use oidc_worker::protocol::json::{self, Value};
use oidc_worker::protocol::Error;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_dedicated_worker);

#[wasm_bindgen(inline_js = "
export function blob_url(len, type) { return URL.createObjectURL(new Blob([new Uint8Array(len)], { type })); }
export function sleep(ms) { return new Promise((resolve) => setTimeout(resolve, ms)); }
export function is_dedicated_worker() { return typeof DedicatedWorkerGlobalScope !== 'undefined' && self instanceof DedicatedWorkerGlobalScope; }
")]
extern "C" {
    fn blob_url(len: u32, content_type: &str) -> String;
    fn sleep(ms: u32) -> Promise;
    fn is_dedicated_worker() -> bool;
}

fn get(url: &str) -> HttpRequest {
    HttpRequest {
        method: Method::Get,
        url: url.into(),
        headers: vec![],
        body: None,
    }
}

async fn call(host: &WorkerHost, call: &str) -> Value {
    let reply = JsFuture::from(host.handle(call.into()))
        .await
        .expect("handle always resolves");
    json::parse(reply.as_string().expect("a string").as_bytes()).expect("reply is JSON")
}

fn error_of(reply: &Value) -> (&str, Option<&str>) {
    assert_eq!(
        reply.get("ok").and_then(Value::as_bool),
        Some(false),
        "{}",
        reply.to_json()
    );
    let error = reply.get("error").expect("error");
    assert!(error.get("message").and_then(Value::as_str).is_some());
    (
        error.get("code").and_then(Value::as_str).expect("code"),
        error.get("reason").and_then(Value::as_str),
    )
}

fn value_of(reply: &Value) -> &Value {
    assert_eq!(
        reply.get("ok").and_then(Value::as_bool),
        Some(true),
        "{}",
        reply.to_json()
    );
    reply.get("value").expect("value")
}

fn unique_key(tag: &str) -> String {
    format!("{tag}-{}", js_sys::Math::random())
}

// ---- environment, clock, randomness ----

#[wasm_bindgen_test]
fn runs_in_a_dedicated_worker() {
    assert!(is_dedicated_worker());
}

#[wasm_bindgen_test]
fn clock_is_unix_seconds() {
    let now = io::now();
    assert!(now > 1_700_000_000 && now < 4_000_000_000, "{now}");
}

#[wasm_bindgen_test]
fn randomness_fills_every_byte_and_never_repeats() {
    let (mut a, mut b) = ([0u8; 96], [0u8; 96]);
    io::fill_random(&mut a).unwrap();
    io::fill_random(&mut b).unwrap();
    assert_ne!(a, b);
    // 96 random bytes leave the last 16 all zero with probability 2^-128.
    assert_ne!(a[80..], [0u8; 16]);
    assert_ne!(b[80..], [0u8; 16]);
}

// ---- fetch ----

#[wasm_bindgen_test]
async fn fetch_reads_status_content_type_and_body() {
    let res = io::fetch(&get("/Cargo.toml")).await.unwrap();
    assert_eq!(res.status, 200);
    assert!(res.content_type.is_some());
    assert!(res.body.starts_with(b"[package]"), "{:?}", &res.body[..16]);
}

#[wasm_bindgen_test]
async fn fetch_reports_http_errors_as_responses() {
    let res = io::fetch(&get("/no/such/file.json")).await.unwrap();
    assert_eq!(res.status, 404);
}

#[wasm_bindgen_test]
async fn fetch_sends_method_headers_and_body() {
    // A POST to a static file server still answers; what matters is that building the
    // request (method, headers, body) does not fail.
    let req = HttpRequest {
        method: Method::Post,
        url: "/Cargo.toml".into(),
        headers: vec![
            (
                "content-type".into(),
                "application/x-www-form-urlencoded".into(),
            ),
            ("accept".into(), "application/json".into()),
        ],
        body: Some("grant_type=refresh_token&refresh_token=x".into()),
    };
    let res = io::fetch(&req).await.unwrap();
    assert!(res.status >= 200, "{}", res.status);
}

#[wasm_bindgen_test]
async fn fetch_rejects_bad_headers_as_failed() {
    let mut req = get("/Cargo.toml");
    req.headers.push(("bad header".into(), "x".into()));
    assert_eq!(
        io::fetch(&req).await,
        Err(Error::Network { reason: "failed" })
    );
}

#[wasm_bindgen_test]
async fn fetch_reads_data_urls() {
    let res = io::fetch(&get(r#"data:application/json,{"a":1}"#))
        .await
        .unwrap();
    assert_eq!(res.status, 200);
    assert_eq!(res.content_type.as_deref(), Some("application/json"));
    assert_eq!(res.body, br#"{"a":1}"#);
}

#[wasm_bindgen_test]
async fn fetch_maps_connection_failure_to_failed() {
    let res = io::fetch(&get("http://127.0.0.1:1/")).await;
    assert_eq!(res, Err(Error::Network { reason: "failed" }));
}

#[wasm_bindgen_test]
async fn fetch_accepts_a_body_of_exactly_the_cap() {
    let url = blob_url(MAX_RESPONSE_BYTES as u32, "application/json");
    let res = io::fetch(&get(&url)).await.unwrap();
    assert_eq!(res.body.len(), MAX_RESPONSE_BYTES);
    assert_eq!(res.content_type.as_deref(), Some("application/json"));
}

#[wasm_bindgen_test]
async fn fetch_refuses_a_declared_length_over_the_cap() {
    // Blob responses carry Content-Length.
    let url = blob_url(MAX_RESPONSE_BYTES as u32 + 1, "application/json");
    let res = io::fetch(&get(&url)).await;
    assert_eq!(
        res,
        Err(Error::Network {
            reason: "too_large"
        })
    );
}

#[wasm_bindgen_test]
async fn fetch_refuses_a_streamed_body_over_the_cap() {
    // data: responses carry no Content-Length: the streamed byte count decides.
    let url = format!(
        "data:application/json,{}",
        "a".repeat(MAX_RESPONSE_BYTES + 1)
    );
    let res = io::fetch(&get(&url)).await;
    assert_eq!(
        res,
        Err(Error::Network {
            reason: "too_large"
        })
    );
}

#[wasm_bindgen_test]
async fn deadline_aborts_and_reports_timeout() {
    let controller = web_sys::AbortController::new().unwrap();
    let signal = controller.signal();
    // Like fetch: settles only when the signal aborts.
    let aborted = JsFuture::from(Promise::new(&mut |_, reject| {
        signal.set_onabort(Some(&reject))
    }));
    let work = async move {
        aborted
            .await
            .map(drop)
            .map_err(|_| Error::Network { reason: "failed" })
    };
    let res = io::with_deadline(&controller, 20, work).await;
    assert_eq!(res, Err(Error::Network { reason: "timeout" }));
    assert!(controller.signal().aborted());
}

#[wasm_bindgen_test]
async fn deadline_leaves_timely_work_alone() {
    let controller = web_sys::AbortController::new().unwrap();
    let res = io::with_deadline(&controller, 1_000, async { Ok::<_, Error>(7) }).await;
    assert_eq!(res, Ok(7));
    JsFuture::from(sleep(0)).await.unwrap();
    assert!(!controller.signal().aborted());
}

// ---- IndexedDB pending-login store ----

#[wasm_bindgen_test]
async fn store_take_is_single_use() {
    let key = unique_key("single");
    let now = io::now();
    store::put(&key, "record-1", now + 600, now).await.unwrap();
    assert_eq!(
        store::take(&key, now).await.unwrap().as_deref(),
        Some("record-1")
    );
    assert_eq!(store::take(&key, now).await.unwrap(), None);
}

#[wasm_bindgen_test]
async fn store_take_is_single_use_under_concurrency() {
    let key = unique_key("race");
    let now = io::now();
    store::put(&key, "record", now + 600, now).await.unwrap();
    let takes: Array = (0..4)
        .map(|_| {
            let key = key.clone();
            JsValue::from(wasm_bindgen_futures::future_to_promise(async move {
                Ok(store::take(&key, now)
                    .await
                    .unwrap()
                    .map_or(JsValue::NULL, JsValue::from))
            }))
        })
        .collect();
    let got = Array::from(&JsFuture::from(Promise::all(&takes)).await.unwrap());
    let records: Vec<String> = got.iter().filter_map(|v| v.as_string()).collect();
    assert_eq!(records, ["record"]);
}

#[wasm_bindgen_test]
async fn store_take_of_an_unknown_key_is_none() {
    assert_eq!(
        store::take(&unique_key("unknown"), io::now())
            .await
            .unwrap(),
        None
    );
}

#[wasm_bindgen_test]
async fn store_take_refuses_and_removes_an_expired_record() {
    let key = unique_key("expired");
    let now = io::now();
    store::put(&key, "record", now + 10, now).await.unwrap();
    assert_eq!(store::take(&key, now + 10).await.unwrap(), None);
    // Removed even though it was refused: not there at an earlier time either.
    assert_eq!(store::take(&key, now).await.unwrap(), None);
}

#[wasm_bindgen_test]
async fn store_put_purges_expired_records() {
    let (old, fresh) = (unique_key("old"), unique_key("fresh"));
    let now = io::now();
    store::put(&old, "old", now + 5, now).await.unwrap();
    store::put(&fresh, "fresh", now + 600, now + 5)
        .await
        .unwrap(); // `old` expired by now + 5
    assert_eq!(store::take(&old, now).await.unwrap(), None, "purged");
    assert_eq!(
        store::take(&fresh, now).await.unwrap().as_deref(),
        Some("fresh")
    );
}

#[wasm_bindgen_test]
async fn store_keeps_records_apart_and_overwrites_a_key() {
    let (a, b) = (unique_key("a"), unique_key("b"));
    let now = io::now();
    store::put(&a, "a1", now + 600, now).await.unwrap();
    store::put(&a, "a2", now + 600, now).await.unwrap();
    store::put(&b, "b", now + 600, now).await.unwrap();
    assert_eq!(store::take(&a, now).await.unwrap().as_deref(), Some("a2"));
    assert_eq!(store::take(&b, now).await.unwrap().as_deref(), Some("b"));
}

// ---- single-flight ----

#[wasm_bindgen_test]
async fn single_flight_shares_one_run_among_concurrent_callers() {
    let flight = Rc::new(SingleFlight::<u32>::default());
    let started = Rc::new(Cell::new(0));
    let run = |flight: Rc<SingleFlight<u32>>, started: Rc<Cell<u32>>| async move {
        flight
            .run(|| async move {
                started.set(started.get() + 1);
                JsFuture::from(sleep(20)).await.unwrap();
                started.get()
            })
            .await
    };
    let calls: Vec<Promise> = (0..5)
        .map(|_| {
            let run = run(flight.clone(), started.clone());
            wasm_bindgen_futures::future_to_promise(async move { Ok(JsValue::from(run.await)) })
        })
        .collect();
    let results = JsFuture::from(Promise::all(&calls.iter().collect::<Array>()))
        .await
        .unwrap();
    let results: Vec<f64> = Array::from(&results)
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    assert_eq!(results, vec![1.0; 5]);
    assert_eq!(started.get(), 1);
    assert_eq!(flight.runs(), 1);
    // Settled: the next caller starts a new run.
    assert_eq!(run(flight.clone(), started.clone()).await, 2);
    assert_eq!(flight.runs(), 2);
}

// ---- WorkerHost: the reply format across the boundary ----

const CONFIG: &str =
    r#"{"issuer":"http://127.0.0.1:1","clientId":"spa","redirectUri":"http://127.0.0.1:8080/cb"}"#;

async fn configured() -> WorkerHost {
    let host = WorkerHost::new();
    let reply = call(
        &host,
        &format!(r#"{{"type":"configure","config":{CONFIG}}}"#),
    )
    .await;
    assert!(value_of(&reply).is_null());
    host
}

#[wasm_bindgen_test]
async fn host_answers_garbage_with_a_config_error() {
    let host = WorkerHost::new();
    for garbage in [
        "",
        "not json",
        "[]",
        "{}",
        r#"{"type":7}"#,
        r#"{"type":"handleCallback"}"#,
    ] {
        let reply = call(&host, garbage).await;
        assert_eq!(
            error_of(&reply),
            ("config", Some("invalid_call")),
            "{garbage:?}"
        );
    }
    let reply = call(&host, r#"{"type":"steal"}"#).await;
    assert_eq!(error_of(&reply), ("config", Some("unknown_call")));
}

#[wasm_bindgen_test]
async fn host_refuses_calls_before_configure() {
    let host = WorkerHost::new();
    for c in [
        r#"{"type":"isAuthenticated"}"#,
        r#"{"type":"getUser"}"#,
        r#"{"type":"getAccessToken","options":{}}"#,
        r#"{"type":"login","options":{}}"#,
        r#"{"type":"handleCallback","url":"http://127.0.0.1:8080/cb?code=c&state=s"}"#,
        r#"{"type":"logout"}"#,
    ] {
        assert_eq!(
            error_of(&call(&host, c).await),
            ("config", Some("not_configured")),
            "{c}"
        );
    }
}

#[wasm_bindgen_test]
async fn host_reports_invalid_options_and_configures_once() {
    let host = WorkerHost::new();
    let reply = call(&host, r#"{"type":"configure","config":{"clientId":"spa"}}"#).await;
    assert_eq!(error_of(&reply).0, "config");
    // A failed configure leaves the host unconfigured, so it can be retried...
    let reply = call(
        &host,
        &format!(r#"{{"type":"configure","config":{CONFIG}}}"#),
    )
    .await;
    assert!(value_of(&reply).is_null());
    // ...but a configured host serves one provider for good.
    let reply = call(
        &host,
        &format!(r#"{{"type":"configure","config":{CONFIG}}}"#),
    )
    .await;
    assert_eq!(error_of(&reply), ("config", Some("already_configured")));
}

#[wasm_bindgen_test]
async fn host_without_a_session() {
    let host = configured().await;
    assert_eq!(
        value_of(&call(&host, r#"{"type":"isAuthenticated"}"#).await),
        &Value::Bool(false)
    );
    assert!(value_of(&call(&host, r#"{"type":"getUser"}"#).await).is_null());
    for c in [
        r#"{"type":"getAccessToken"}"#,
        r#"{"type":"getAccessToken","options":{"forceRefresh":true}}"#,
    ] {
        assert_eq!(
            error_of(&call(&host, c).await),
            ("login_required", None),
            "{c}"
        );
    }
}

#[wasm_bindgen_test]
async fn host_reports_an_unreachable_provider_as_network_failed() {
    let host = configured().await;
    for c in [
        r#"{"type":"login","options":{"appState":{"to":"/"}}}"#,
        r#"{"type":"handleCallback","url":"http://127.0.0.1:8080/cb?code=c&state=s"}"#,
        r#"{"type":"logout"}"#,
    ] {
        assert_eq!(
            error_of(&call(&host, c).await),
            ("network", Some("failed")),
            "{c}"
        );
    }
    // Still usable afterwards.
    assert_eq!(
        value_of(&call(&host, r#"{"type":"isAuthenticated"}"#).await),
        &Value::Bool(false)
    );
}

#[wasm_bindgen_test]
async fn host_serves_concurrent_calls() {
    // No RefCell borrow is held across an await: interleaved calls never trap.
    let host = configured().await;
    let calls: Array = [
        r#"{"type":"login","options":{}}"#,
        r#"{"type":"isAuthenticated"}"#,
        r#"{"type":"getAccessToken"}"#,
        r#"{"type":"logout"}"#,
        r#"{"type":"getUser"}"#,
        r#"{"type":"login","options":{}}"#,
    ]
    .iter()
    .map(|c| JsValue::from(host.handle((*c).into())))
    .collect();
    let replies = JsFuture::from(Promise::all(&calls)).await.unwrap();
    let codes: Vec<String> = Array::from(&replies)
        .iter()
        .map(|r| {
            let r = json::parse(r.as_string().unwrap().as_bytes()).unwrap();
            match r.get("ok").and_then(Value::as_bool) {
                Some(true) => "ok".into(),
                _ => error_of(&r).0.to_owned(),
            }
        })
        .collect();
    assert_eq!(
        codes,
        [
            "network",
            "ok",
            "login_required",
            "network",
            "ok",
            "network"
        ]
    );
}
