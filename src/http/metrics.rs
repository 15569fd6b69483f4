//! Prometheus metrics in the text exposition format, kept as plain atomics.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;

use crate::AppState;

/// Upper bounds of the latency histogram, in seconds.
const BUCKETS: [f64; 10] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0];

#[derive(Default)]
pub struct Metrics {
    requests: AtomicU64,
    errors: Mutex<BTreeMap<String, u64>>,
    latency_buckets: [AtomicU64; BUCKETS.len()],
    latency_sum_micros: AtomicU64,
}

impl Metrics {
    pub fn count_request(&self) {
        self.requests.fetch_add(1, Ordering::Relaxed);
    }

    pub fn count_error(&self, code: &str) {
        let code = if code.is_empty() { "UNKNOWN" } else { code };
        if let Ok(mut errors) = self.errors.lock() {
            *errors.entry(code.to_string()).or_default() += 1;
        }
    }

    pub fn observe_latency(&self, d: Duration) {
        let secs = d.as_secs_f64();
        for (bound, bucket) in BUCKETS.iter().zip(&self.latency_buckets) {
            if secs <= *bound {
                bucket.fetch_add(1, Ordering::Relaxed);
            }
        }
        self.latency_sum_micros
            .fetch_add(d.as_micros() as u64, Ordering::Relaxed);
    }
}

pub async fn render(State(state): State<AppState>) -> impl IntoResponse {
    let m = &state.metrics;
    let mut out = String::new();
    let mut counter = |name: &str, help: &str, kind: &str, lines: Vec<(String, String)>| {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
        for (labels, value) in lines {
            let _ = writeln!(out, "{name}{labels} {value}");
        }
    };
    counter(
        "quorum_db_statements_total",
        "SQL statements executed.",
        "counter",
        vec![(String::new(), state.db.total_statements().to_string())],
    );
    counter(
        "quorum_graphql_requests_total",
        "GraphQL requests over HTTP.",
        "counter",
        vec![(
            String::new(),
            m.requests.load(Ordering::Relaxed).to_string(),
        )],
    );
    let errors = m.errors.lock().map(|e| e.clone()).unwrap_or_default();
    counter(
        "quorum_graphql_errors_total",
        "GraphQL errors by extensions.code.",
        "counter",
        errors
            .into_iter()
            .map(|(code, n)| (format!("{{code=\"{code}\"}}"), n.to_string()))
            .collect(),
    );
    counter(
        "quorum_websockets_open",
        "Open GraphQL WebSocket connections.",
        "gauge",
        vec![(String::new(), state.connections.open().to_string())],
    );
    counter(
        "quorum_subscriptions_active",
        "Operations running on GraphQL WebSocket connections.",
        "gauge",
        vec![(
            String::new(),
            state.connections.active_subscriptions().to_string(),
        )],
    );
    let (size, available) = state.db.pool_status();
    counter(
        "quorum_db_pool_connections",
        "Database pool connections by state.",
        "gauge",
        vec![
            ("{state=\"open\"}".into(), size.to_string()),
            ("{state=\"idle\"}".into(), available.to_string()),
        ],
    );
    let requests = m.requests.load(Ordering::Relaxed);
    let mut lines: Vec<(String, String)> = BUCKETS
        .iter()
        .zip(&m.latency_buckets)
        .map(|(b, c)| {
            (
                format!("_bucket{{le=\"{b}\"}}"),
                c.load(Ordering::Relaxed).to_string(),
            )
        })
        .collect();
    lines.push(("_bucket{le=\"+Inf\"}".into(), requests.to_string()));
    lines.push((
        "_sum".into(),
        format!(
            "{:.6}",
            m.latency_sum_micros.load(Ordering::Relaxed) as f64 / 1e6
        ),
    ));
    lines.push(("_count".into(), requests.to_string()));
    counter(
        "quorum_graphql_request_duration_seconds",
        "Time to answer a GraphQL request over HTTP.",
        "histogram",
        lines,
    );
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        out,
    )
}
