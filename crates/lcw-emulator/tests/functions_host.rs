//! The Functions host emulator driving a real custom-handler process (`echo-custom-handler`,
//! built from this crate) through `tests/echo-app`.

use std::path::PathBuf;
use std::time::Duration;

use lcw_emulator::functions_host::{FunctionsHost, HostError, HostOptions, HttpRequest};
use lcw_emulator::time_limit::test_body;
use serde_json::{Value, json};

const IDLE_TIMEOUT: Duration = Duration::from_secs(30);

fn app_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/echo-app")
}

fn options(extra_env: &[(&str, &str)]) -> HostOptions {
    let mut options = HostOptions::new(app_root());
    options.functions_dir = Some(app_root().join("function"));
    options.visibility_timeout = Some(Duration::ZERO);
    options.env = vec![
        (
            "ECHO_HANDLER_PATH".to_owned(),
            env!("CARGO_BIN_EXE_echo-custom-handler").to_owned(),
        ),
        ("WORK_QUEUE".to_owned(), "work".to_owned()),
    ];
    options.env.extend(
        extra_env
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    options
}

async fn start(extra_env: &[(&str, &str)]) -> FunctionsHost {
    FunctionsHost::start(options(extra_env))
        .await
        .expect("host starts")
}

fn request(method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> HttpRequest {
    HttpRequest {
        method: method.to_owned(),
        path_and_query: path.to_owned(),
        headers: headers
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
        body: body.as_bytes().to_vec(),
    }
}

/// Decodes one level of the host's double encoding.
fn decode(value: &Value) -> Value {
    serde_json::from_str(value.as_str().expect("a double-encoded string")).expect("JSON text")
}

#[tokio::test]
async fn starts_via_expanded_executable_path_and_reports_startup_time() {
    test_body(
        "starts_via_expanded_executable_path_and_reports_startup_time",
        async {
            let host = start(&[]).await;
            assert!(host.startup_time() > Duration::ZERO);
            assert!(host.startup_time() < Duration::from_secs(30));
            assert!(
                host.wait_for_handler_line("echo-custom-handler listening", 1, IDLE_TIMEOUT)
                    .await
            );
            assert!(host.wait_for_handler_line("warn:", 1, IDLE_TIMEOUT).await);
            assert!(host.handler_stderr().iter().any(|l| l.starts_with("warn:")));
            host.stop().await;
        },
    )
    .await;
}

#[tokio::test]
async fn explicit_executable_overrides_host_json() {
    test_body("explicit_executable_overrides_host_json", async {
        let mut options = options(&[]);
        options.env.retain(|(k, _)| k != "ECHO_HANDLER_PATH");
        options.executable = Some(PathBuf::from(env!("CARGO_BIN_EXE_echo-custom-handler")));
        let host = FunctionsHost::start(options).await.expect("host starts");
        let response = host
            .send(request("GET", "/api/echo", &[], ""))
            .await
            .unwrap();
        assert_eq!(response.status, 200);
        host.stop().await;
    })
    .await;
}

#[tokio::test]
async fn missing_executable_is_a_spawn_error() {
    test_body("missing_executable_is_a_spawn_error", async {
        let mut options = options(&[]);
        options.executable = Some(PathBuf::from("/nonexistent/lcw-emulator-handler"));
        let error = FunctionsHost::start(options).await.unwrap_err();
        assert!(matches!(error, HostError::Spawn { .. }), "{error}");
    })
    .await;
}

#[tokio::test]
async fn http_envelope_matches_the_json_protocol() {
    test_body("http_envelope_matches_the_json_protocol", async {
        let host = start(&[]).await;
        let response = host
            .send(request(
                "POST",
                "/api/echo/alice?x=1&x=2&y=a%20b",
                &[
                    ("Content-Type", "application/json"),
                    ("X-Test", "a"),
                    ("X-Test", "b"),
                ],
                r#"{"hello":"world","count":3}"#,
            ))
            .await
            .unwrap();
        assert_eq!(response.status, 200);
        assert_eq!(response.header("content-type"), Some("application/json"));
        let text = String::from_utf8(response.body.clone()).unwrap();
        assert!(
            text.contains("\n  "),
            "object bodies are written indented: {text}"
        );
        let echoed: Value = serde_json::from_str(&text).unwrap();
        let envelope = &echoed["envelope"];
        let req = &envelope["Data"]["req"];

        assert_eq!(req["Method"], "POST");
        assert_eq!(
            req["Url"],
            "http://localhost:7071/api/echo/alice?x=1&x=2&y=a%20b"
        );
        assert_eq!(req["Headers"]["X-Test"], json!(["a", "b"]));
        assert_eq!(req["Headers"]["Content-Type"], json!(["application/json"]));
        assert_eq!(req["Query"], json!({"x": "1,2", "y": "a b"}));
        assert_eq!(req["Params"], json!({"name": "alice"}));
        assert_eq!(req["Body"], r#"{"hello":"world","count":3}"#);
        assert!(req["Identities"].is_array());

        let metadata = &envelope["Metadata"];
        assert_eq!(
            metadata["name"], "\"alice\"",
            "route values are double-encoded"
        );
        assert_eq!(
            metadata["hello"], "\"world\"",
            "JSON body properties are double-encoded"
        );
        assert_eq!(metadata["count"], "3");
        assert_eq!(metadata["Headers"]["X-Test"], "a,b");
        assert_eq!(metadata["sys"]["MethodName"], "echo");
        assert!(metadata["sys"]["UtcNow"].as_str().unwrap().ends_with('Z'));
        assert!(metadata["sys"]["RandGuid"].is_string());

        let headers = &echoed["headers"];
        let invocations = host.invocations();
        assert_eq!(invocations.len(), 1);
        assert_eq!(
            headers["x-azure-functions-invocationid"],
            invocations[0].invocation_id.as_str()
        );
        assert!(
            headers["x-azure-functions-hostversion"]
                .as_str()
                .unwrap()
                .starts_with('4')
        );
        assert!(
            headers["user-agent"]
                .as_str()
                .unwrap()
                .starts_with("Azure-Functions-Host/")
        );
        assert_eq!(headers["content-type"], "application/json; charset=utf-8");
        assert!(invocations[0].succeeded);
        assert_eq!(invocations[0].handler_status, Some(200));
        assert_eq!(invocations[0].logs, vec!["echoed".to_owned()]);
        host.stop().await;
    })
    .await;
}

#[tokio::test]
async fn empty_body_is_absent_from_the_envelope() {
    test_body("empty_body_is_absent_from_the_envelope", async {
        let host = start(&[]).await;
        let response = host
            .send(request("GET", "/api/echo", &[], ""))
            .await
            .unwrap();
        let echoed: Value = serde_json::from_slice(&response.body).unwrap();
        let req = &echoed["envelope"]["Data"]["req"];
        assert!(req.get("Body").is_none(), "{req}");
        assert_eq!(req["Params"], json!({}));
        host.stop().await;
    })
    .await;
}

#[tokio::test]
async fn unknown_route_or_method_is_404_without_invocation() {
    test_body("unknown_route_or_method_is_404_without_invocation", async {
        let host = start(&[]).await;
        for (method, path) in [
            ("POST", "/api/nope"),
            ("GET", "/api/enqueue"),
            ("GET", "/echo"),
            ("GET", "/api/echo/a/b"),
        ] {
            let response = host.send(request(method, path, &[], "")).await.unwrap();
            assert_eq!(response.status, 404, "{method} {path}");
        }
        assert!(host.invocations().is_empty());
        host.stop().await;
    })
    .await;
}

#[tokio::test]
async fn non_json_reply_fails_the_invocation_with_500() {
    test_body("non_json_reply_fails_the_invocation_with_500", async {
        let host = start(&[]).await;
        let response = host
            .send(request("GET", "/api/plain", &[], ""))
            .await
            .unwrap();
        assert_eq!(response.status, 500);
        assert!(response.body.is_empty());
        let invocations = host.invocations();
        assert_eq!(invocations.len(), 1);
        let record = &invocations[0];
        assert!(!record.succeeded);
        assert_eq!(record.handler_status, Some(200));
        assert!(record.logs.is_empty());
        assert!(
            record.error.as_deref().unwrap().contains("content type"),
            "{record:?}"
        );
        host.stop().await;
    })
    .await;
}

#[tokio::test]
async fn queue_message_is_retried_then_succeeds_with_encoded_metadata() {
    test_body(
        "queue_message_is_retried_then_succeeds_with_encoded_metadata",
        async {
            let host = start(&[("ECHO_SUCCEED_ON_ATTEMPT", "2")]).await;
            let response = host
                .send(request(
                    "POST",
                    "/api/enqueue",
                    &[("Content-Type", "application/json")],
                    r#"{"id":"w1","n":1}"#,
                ))
                .await
                .unwrap();
            assert_eq!(response.status, 202, "string statusCode is honoured");
            assert!(response.body.is_empty());
            assert_eq!(
                response.header("content-type"),
                Some("text/plain; charset=utf-8")
            );
            host.wait_until_idle(IDLE_TIMEOUT).await.unwrap();

            let processed: Vec<_> = host
                .invocations()
                .into_iter()
                .filter(|i| i.function == "process")
                .collect();
            assert_eq!(
                processed
                    .iter()
                    .map(|i| (i.dequeue_count, i.succeeded))
                    .collect::<Vec<_>>(),
                vec![(Some(1), false), (Some(2), true)]
            );
            assert!(
                processed[0].logs.is_empty(),
                "logs of a failed (500) reply are dropped"
            );
            assert_eq!(processed[1].logs, vec!["processed attempt 2".to_owned()]);
            assert!(host.queue_messages("work").is_empty());
            assert!(host.queue_messages("work-poison").is_empty());

            let seen = host.queue_messages("seen");
            assert_eq!(seen.len(), 1);
            let envelope: Value = serde_json::from_str(&seen[0]).unwrap();
            let item = decode(&envelope["Data"]["item"]);
            assert_eq!(
                item,
                json!(r#"{"id":"w1","n":1}"#),
                "the message text, encoded once more"
            );
            let metadata = &envelope["Metadata"];
            assert_eq!(metadata["DequeueCount"], "2");
            assert!(decode(&metadata["Id"]).is_string());
            assert!(decode(&metadata["PopReceipt"]).is_string());
            assert_eq!(metadata["id"], "\"w1\"");
            assert_eq!(metadata["n"], "1");
            for key in ["InsertionTime", "ExpirationTime", "NextVisibleTime"] {
                let time = metadata[key].as_str().unwrap();
                assert!(
                    time.ends_with("+00:00") && !time.starts_with('"'),
                    "{key}: {time}"
                );
            }
            assert_eq!(metadata["sys"]["MethodName"], "process");
            host.stop().await;
        },
    )
    .await;
}

#[tokio::test]
async fn failing_message_goes_to_poison_after_max_dequeue_count() {
    test_body(
        "failing_message_goes_to_poison_after_max_dequeue_count",
        async {
            let host = start(&[("ECHO_SUCCEED_ON_ATTEMPT", "99")]).await;
            let response = host
                .send(request("POST", "/api/enqueue", &[], r#"{"id":"doomed"}"#))
                .await
                .unwrap();
            assert_eq!(response.status, 202);
            host.wait_until_idle(IDLE_TIMEOUT).await.unwrap();

            let attempts: Vec<_> = host
                .invocations()
                .into_iter()
                .filter(|i| i.function == "process")
                .map(|i| (i.dequeue_count, i.succeeded, i.handler_status))
                .collect();
            assert_eq!(
                attempts,
                vec![
                    (Some(1), false, Some(500)),
                    (Some(2), false, Some(500)),
                    (Some(3), false, Some(500)),
                ],
                "host.json maxDequeueCount is 3"
            );
            assert!(host.queue_messages("work").is_empty());
            assert_eq!(
                host.queue_messages("work-poison"),
                vec![r#"{"id":"doomed"}"#.to_owned()]
            );
            host.stop().await;
        },
    )
    .await;
}

#[tokio::test]
async fn object_outputs_are_stored_as_json_and_arrays_as_several_messages() {
    test_body(
        "object_outputs_are_stored_as_json_and_arrays_as_several_messages",
        async {
            let host = start(&[("ECHO_SUCCEED_ON_ATTEMPT", "99")]).await;
            host.send(request("POST", "/api/enqueue", &[], r#"[{"a":1},"hello"]"#))
                .await
                .unwrap();
            host.wait_until_idle(IDLE_TIMEOUT).await.unwrap();
            let mut poisoned = host.queue_messages("work-poison");
            poisoned.sort();
            assert_eq!(poisoned, vec!["hello".to_owned(), r#"{"a":1}"#.to_owned()]);
            host.stop().await;
        },
    )
    .await;
}

#[tokio::test]
async fn string_queue_outputs_hit_the_base64_pitfall() {
    test_body("string_queue_outputs_hit_the_base64_pitfall", async {
        let host = start(&[]).await;
        for body in ["test", "hello", "aGVsbG8="] {
            let response = host
                .send(request("POST", "/api/text", &[], body))
                .await
                .unwrap();
            assert_eq!(response.status, 202);
        }
        let texts = host.queue_messages("texts");
        assert_eq!(texts.len(), 3);
        assert_ne!(
            texts[0], "test",
            "\"test\" is valid base64 and gets decoded into garbage"
        );
        assert_eq!(texts[0], String::from_utf8_lossy(&[0xb5, 0xeb, 0x2d]));
        assert_eq!(texts[1], "hello", "not valid base64: kept as is");
        assert_eq!(texts[2], "hello", "valid base64 is decoded");
        host.stop().await;
    })
    .await;
}

#[tokio::test]
async fn crashed_handler_is_restarted() {
    test_body("crashed_handler_is_restarted", async {
        let host = start(&[]).await;
        let response = host
            .send(request("GET", "/api/exit?code=3", &[], ""))
            .await
            .unwrap();
        assert_eq!(response.status, 500, "the handler died mid-invocation");
        assert!(
            host.wait_for_handler_line("echo-custom-handler listening", 2, IDLE_TIMEOUT)
                .await,
            "a second process was started"
        );
        let response = host
            .send(request("GET", "/api/echo", &[], ""))
            .await
            .unwrap();
        assert_eq!(response.status, 200);
        host.stop().await;
    })
    .await;
}

#[tokio::test]
async fn enqueued_messages_are_delivered() {
    test_body("enqueued_messages_are_delivered", async {
        let host = start(&[]).await;
        host.enqueue("work", "plain text message");
        host.wait_until_idle(IDLE_TIMEOUT).await.unwrap();
        let seen = host.queue_messages("seen");
        assert_eq!(seen.len(), 1);
        let envelope: Value = serde_json::from_str(&seen[0]).unwrap();
        assert_eq!(envelope["Data"]["item"], "\"plain text message\"");
        assert_eq!(envelope["Metadata"]["DequeueCount"], "1");
        host.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_queue_output_over_64_kib_once_encoded_fails_the_invocation_and_enqueues_nothing() {
    test_body("oversized queue output", async {
        // `messageEncoding` is base64 by default: 49 152 bytes of text fit exactly.
        let host = start(&[("ECHO_SUCCEED_ON_ATTEMPT", "99")]).await;
        let fits = json!({ "p": "x".repeat(49_152 - 8) }).to_string();
        assert_eq!(fits.len(), 49_152);
        let response = host
            .send(request("POST", "/api/enqueue", &[], &fits))
            .await
            .unwrap();
        assert_eq!(response.status, 202);
        let too_big = json!({ "p": "x".repeat(49_152 - 7) }).to_string();
        let response = host
            .send(request("POST", "/api/enqueue", &[], &too_big))
            .await
            .unwrap();
        assert_eq!(response.status, 500, "the host fails the invocation");
        let failed = host
            .wait_for_invocations(1, IDLE_TIMEOUT, |r| r.function == "enqueue" && !r.succeeded)
            .await
            .expect("the failed invocation is recorded");
        assert!(
            failed[0].error.as_deref().unwrap_or("").contains("65536"),
            "{failed:#?}"
        );
        host.wait_until_idle(IDLE_TIMEOUT).await.unwrap();
        let delivered: Vec<usize> = host
            .invocations()
            .iter()
            .filter_map(|r| r.trigger_message.as_ref().map(String::len))
            .collect();
        assert!(!delivered.is_empty(), "the message that fits was delivered");
        assert!(
            delivered.iter().all(|len| *len == fits.len()),
            "the other one never reached the queue: {delivered:?}"
        );
        host.stop().await;
    })
    .await;
}
