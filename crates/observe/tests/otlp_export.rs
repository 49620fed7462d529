//! OTLP export against a receiver this test starts on a loopback port: it decodes the real
//! OTLP/HTTP protobuf body and checks service.name, span names and parent links.
#![cfg(feature = "otlp")]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::mpsc;
use std::time::Duration;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValue;
use prost::Message;
use taskpilot_observe::{Metrics, OtlpConfig, Tracer, names};

/// Accepts HTTP/1.1 requests, answers 200, and sends (path, body) of each to the channel.
fn start_receiver() -> (String, mpsc::Receiver<(String, Vec<u8>)>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            let tx = tx.clone();
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream);
                loop {
                    let mut request_line = String::new();
                    if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
                        return;
                    }
                    let path = request_line
                        .split_whitespace()
                        .nth(1)
                        .unwrap_or("")
                        .to_owned();
                    let mut length = 0usize;
                    loop {
                        let mut header = String::new();
                        reader.read_line(&mut header).unwrap();
                        let header = header.trim_end();
                        if header.is_empty() {
                            break;
                        }
                        if let Some((k, v)) = header.split_once(':')
                            && k.eq_ignore_ascii_case("content-length")
                        {
                            length = v.trim().parse().unwrap();
                        }
                    }
                    let mut body = vec![0; length];
                    reader.read_exact(&mut body).unwrap();
                    tx.send((path, body)).unwrap();
                    let stream = reader.get_mut();
                    stream
                        .write_all(b"HTTP/1.1 200 OK\r\ncontent-type: application/x-protobuf\r\ncontent-length: 0\r\n\r\n")
                        .unwrap();
                }
            });
        }
    });
    (format!("http://{addr}"), rx)
}

#[test]
fn spans_are_exported_over_otlp_with_their_tree_and_service_name() {
    let (endpoint, rx) = start_receiver();
    let dir = tempfile::tempdir().unwrap();
    let metrics = Metrics::in_memory();
    let tracer = Tracer::new(Some(dir.path().join("traces.jsonl")))
        .with_otlp(OtlpConfig::new(&endpoint, "taskpilot-test"), &metrics);
    let (root_id, agent_id, trace_id) = {
        let root = tracer.start_span("taskpilot.workflow.run", None, Some("req-otlp"));
        let mut agent = root.child("taskpilot.agent.PlannerAgent.run");
        agent.set_attribute("tokens", 12);
        let llm = agent.child("taskpilot.llm.gpt-4o-mini.call");
        llm.end();
        let ids = (
            root.context().span_id,
            agent.context().span_id,
            root.context().trace_id,
        );
        agent.end();
        root.end();
        ids
    };
    tracer.shutdown(Duration::from_secs(5));

    let mut spans = Vec::new();
    let mut service = None;
    while spans.len() < 3 {
        let (path, body) = rx
            .recv_timeout(Duration::from_secs(10))
            .expect("no OTLP request arrived");
        assert_eq!(path, "/v1/traces");
        let request = ExportTraceServiceRequest::decode(body.as_slice()).unwrap();
        for rs in request.resource_spans {
            for attr in rs.resource.iter().flat_map(|r| r.attributes.iter()) {
                if attr.key == "service.name"
                    && let Some(AnyValue::StringValue(s)) =
                        attr.value.as_ref().and_then(|v| v.value.clone())
                {
                    service = Some(s);
                }
            }
            for ss in rs.scope_spans {
                spans.extend(ss.spans);
            }
        }
    }
    assert_eq!(service.as_deref(), Some("taskpilot-test"));
    let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
    let by_name = |n: &str| {
        spans
            .iter()
            .find(|s| s.name == n)
            .unwrap_or_else(|| panic!("{n} not exported"))
    };
    let root = by_name("taskpilot.workflow.run");
    let agent = by_name("taskpilot.agent.PlannerAgent.run");
    let llm = by_name("taskpilot.llm.gpt-4o-mini.call");
    assert_eq!(hex(&root.span_id), root_id);
    assert_eq!(hex(&root.trace_id), trace_id);
    assert!(root.parent_span_id.is_empty());
    assert_eq!(hex(&agent.span_id), agent_id);
    assert_eq!(hex(&agent.parent_span_id), root_id);
    assert_eq!(hex(&llm.parent_span_id), agent_id);
    assert!(spans.iter().all(|s| hex(&s.trace_id) == trace_id));
    assert_eq!(
        metrics
            .snapshot()
            .unwrap()
            .counter(names::OTEL_EXPORT_FAILURES),
        0.0
    );
}

#[test]
fn ending_a_span_does_not_wait_for_the_export_and_failures_are_counted() {
    // A receiver that accepts the connection and answers nothing until the test lets it hang
    // up: an export still in flight cannot have failed yet (its timeout is long), so a failure
    // counted right after `end()` would mean `end()` waited for the export.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (hang_up, hang_up_rx) = mpsc::channel::<()>();
    let receiver = std::thread::spawn(move || {
        let (stream, _) = listener.accept().expect("the exporter connects");
        let _ = hang_up_rx.recv();
        drop(stream);
    });
    let metrics = Metrics::in_memory();
    let tracer = Tracer::new(None).with_otlp(
        OtlpConfig {
            timeout: Duration::from_mins(1),
            ..OtlpConfig::new(format!("http://127.0.0.1:{port}"), "t")
        },
        &metrics,
    );
    tracer
        .start_span("taskpilot.workflow.run", None, None)
        .end();
    let failures = || {
        metrics
            .snapshot()
            .unwrap()
            .counter(names::OTEL_EXPORT_FAILURES)
    };
    assert_eq!(failures(), 0.0, "ending a span must not wait for export");
    hang_up.send(()).unwrap();
    tracer.shutdown(Duration::from_secs(30));
    receiver.join().unwrap();
    assert_eq!(failures(), 1.0, "the one span that could not be exported");
}
