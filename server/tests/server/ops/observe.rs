//! Observability (issue 17, item 2): `/metrics` scraped and parsed, its
//! counters moving with a sync; JSON logs with request ids and callers and
//! no customer contact data; `/healthz` and `/readyz` meaning what they say.

use super::support::*;
use crate::both_backends;
use crate::harness::{Backend, Srv};
use doorstep_server::http::error::ApiError;
use reqwest::Method;
use serde_json::Value;

async fn metrics(http: &reqwest::Client, base: &str) -> std::collections::HashMap<String, f64> {
    let res = http.get(format!("{base}/metrics")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let content_type = res.headers()["content-type"].to_str().unwrap().to_string();
    assert!(
        content_type.starts_with("application/openmetrics-text"),
        "{content_type}"
    );
    let text = res.text().await.unwrap();
    assert!(text.trim_end().ends_with("# EOF"), "{text}");
    scrape(&text)
}

fn value(samples: &std::collections::HashMap<String, f64>, key: &str) -> f64 {
    samples.get(key).copied().unwrap_or(0.0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_counters_move_with_a_sync_and_logs_are_json_with_request_ids_and_no_customer_data()
{
    let scratch = Scratch::new("observe");
    let server = ServerBinary::start(&scratch.path("data"), &["--log-format", "json"]).await;
    let desk = Desk::login(&server.base).await;
    let (device, token) = desk.technician("T-obs").await;
    let a = desk.assignment("T-obs", window(0, 0)).await;
    let phone = Phone::new("T-obs", &device, &token);
    let http = reqwest::Client::new();

    let before = metrics(&http, &server.base).await;
    let morning = phone.sync(&server.base).await.unwrap();
    for (at, cmd) in first_steps(window(0, 0)).into_iter().take(4) {
        phone.apply(&a, at, &cmd);
    }
    let later = phone.sync(&server.base).await.unwrap();
    let pushed = morning.pushed + later.pushed;
    assert_eq!(
        pushed, 4,
        "four steps (the received assignment is derived from the pull's acknowledgement, never pushed): {later:?}"
    );
    let push_requests = f64::from(morning.push_requests + later.push_requests);
    // A wrong password counts as a login failure.
    let (st, _, _) = call(
        &http,
        Method::POST,
        &format!("{}/api/login", server.base),
        None,
        Some(serde_json::json!({"username": "admin", "password": "wrong"})),
    )
    .await;
    assert_eq!(st, 401);
    let after = metrics(&http, &server.base).await;

    // A sync's last push batch travels as an exchange (push and first pull
    // page in one round trip): pushes are counted under either route.
    let push = r#"doorstep_http_requests_total{route="/api/sync/push",method="POST",status="200"}"#;
    let exchange =
        r#"doorstep_http_requests_total{route="/api/sync/exchange",method="POST",status="200"}"#;
    let exchanges = value(&after, exchange) - value(&before, exchange);
    assert_eq!(
        value(&after, push) - value(&before, push) + exchanges,
        push_requests
    );
    let pull = r#"doorstep_http_requests_total{route="/api/sync/pull",method="POST",status="200"}"#;
    let pulls = value(&after, pull) - value(&before, pull) + exchanges;
    assert!(
        pulls >= 2.0,
        "a pull (or an exchange) in each sync: {pulls}"
    );
    let ingested = "doorstep_events_ingested_total";
    assert_eq!(value(&after, ingested) - value(&before, ingested), 4.0);
    let push_count = "doorstep_sync_push_duration_seconds_count";
    let exchange_count = "doorstep_sync_exchange_duration_seconds_count";
    let timed_exchanges = value(&after, exchange_count) - value(&before, exchange_count);
    assert_eq!(timed_exchanges, exchanges, "each exchange timed once");
    assert_eq!(
        value(&after, push_count) - value(&before, push_count) + timed_exchanges,
        push_requests
    );
    let pull_count = "doorstep_sync_pull_duration_seconds_count";
    assert_eq!(
        value(&after, pull_count) - value(&before, pull_count) + timed_exchanges,
        pulls
    );
    let failures = r#"doorstep_login_failures_total{reason="wrong_credentials"}"#;
    assert_eq!(value(&after, failures) - value(&before, failures), 1.0);
    assert_eq!(
        value(&after, r#"doorstep_db_connections{state="max"}"#),
        1.0
    );
    let by_template = r#"doorstep_http_requests_total{route="/api/assignments/{id}/assign",method="POST",status="200"}"#;
    assert_eq!(
        value(&after, by_template),
        1.0,
        "counted by route template, not by path"
    );

    // A request id is echoed when sane, generated when absent.
    let res = http
        .get(format!("{}/api/me", server.base))
        .bearer_auth(&desk.token)
        .header("x-request-id", "ops-test-42")
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["x-request-id"], "ops-test-42");
    let (_, headers, _) = call(
        &http,
        Method::GET,
        &format!("{}/healthz", server.base),
        None,
        None,
    )
    .await;
    let generated = headers["x-request-id"].to_str().unwrap();
    assert!(uuid::Uuid::parse_str(generated).is_ok(), "{generated}");

    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let logs = server.logs();
    let lines: Vec<Value> = logs
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let answered = |id: &str| {
        lines
            .iter()
            .find(|l| l["span"]["request_id"] == id && l["message"] == "request answered")
            .unwrap_or_else(|| panic!("no line for request {id}:\n{logs}"))
            .clone()
    };
    let me = answered("ops-test-42");
    assert_eq!(me["span"]["caller"], "user:admin");
    assert_eq!(me["span"]["route"], "/api/me");
    assert_eq!(me["status"], 200);
    let pushes: Vec<&Value> = lines
        .iter()
        .filter(|l| {
            (l["span"]["route"] == "/api/sync/push" || l["span"]["route"] == "/api/sync/exchange")
                && l["message"] == "request answered"
        })
        .collect();
    assert_eq!(pushes.len() as f64, push_requests, "{logs}");
    assert_eq!(pushes[0]["span"]["caller"], format!("device:{device}"));
    assert!(uuid::Uuid::parse_str(pushes[0]["span"]["request_id"].as_str().unwrap()).is_ok());
    for secret in [
        CUSTOMER_PHONE,
        "13800138000",
        CUSTOMER_ADDRESS,
        CUSTOMER_NAME,
        &token,
    ] {
        assert!(!logs.contains(secret), "the log holds {secret:?}:\n{logs}");
    }
}

async fn set_schema_version(s: &Srv, b: Backend, version: i64) {
    s.state
        .db
        .tx(move |tx| {
            Box::pin(async move {
                match b {
                    Backend::Sqlite => {
                        tx.execute(&format!("PRAGMA user_version = {version}"), &[])
                            .await?;
                    }
                    Backend::Postgres => {
                        tx.execute(
                            "INSERT INTO schema_migrations (version) VALUES ($1)",
                            &[version.into()],
                        )
                        .await?;
                    }
                }
                Ok::<_, ApiError>(())
            })
        })
        .await
        .unwrap();
}

async fn readyz_is_ready_until_the_schema_is_not_the_one_this_server_needs(b: Backend) {
    let s = Srv::start(b).await;
    let (st, body) = s.call(Method::GET, "/readyz", None, None).await;
    assert_eq!(st, 200, "{body}");
    assert_eq!(body["ready"], true);
    let known = body["schema_version"].as_i64().unwrap();
    // A newer server migrated the shared database: this one is not ready.
    set_schema_version(&s, b, known + 1).await;
    let (st, body) = s.call(Method::GET, "/readyz", None, None).await;
    assert_eq!(st, 503, "{body}");
    assert_eq!(body["error"]["code"], "not_ready");
    let reason = body["error"]["message"].as_str().unwrap();
    assert!(
        reason.contains(&format!("this server needs {known}")),
        "{reason}"
    );
    let zh = body["error"]["message_zh"].as_str().unwrap();
    assert!(zh.contains("未就绪"), "{zh}");
    // The process is up all the same.
    let (st, body) = s.call(Method::GET, "/healthz", None, None).await;
    assert_eq!(st, 200, "{body}");
}

both_backends!(readyz_is_ready_until_the_schema_is_not_the_one_this_server_needs);

/// With `--metrics-token`, `/metrics` answers only a request bearing that
/// token (Prometheus's `authorization` setting); anyone else gets 401.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_answer_only_the_monitoring_token_when_one_is_set() {
    let scratch = Scratch::new("metrics-token");
    let server =
        ServerBinary::start(&scratch.path("data"), &["--metrics-token", "scrape-7f3a"]).await;
    let http = reqwest::Client::new();
    let url = format!("{}/metrics", server.base);
    let anyone = http.get(&url).send().await.unwrap();
    assert_eq!(anyone.status(), 401);
    assert_eq!(anyone.headers()["www-authenticate"], "Bearer");
    let body: serde_json::Value = anyone.json().await.unwrap();
    assert_eq!(body["error"]["code"], "unauthorized", "{body}");
    let wrong = http
        .get(&url)
        .bearer_auth("scrape-7f3b")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    let scraper = http
        .get(&url)
        .bearer_auth("scrape-7f3a")
        .send()
        .await
        .unwrap();
    assert_eq!(scraper.status(), 200);
    assert!(scraper
        .text()
        .await
        .unwrap()
        .contains("doorstep_http_requests_total"));
    // The health checks stay open to the load balancer.
    let health = http
        .get(format!("{}/healthz", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
}
