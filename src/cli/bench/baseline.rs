//! `lcw-handler bench-baseline`: the bare minimum a custom handler can do — a hyper server that
//! reads each envelope and answers the host's 202 reply without looking at it. The benchmark
//! runs it under the same host emulator, with the same envelopes, to show what our real work
//! (authentication, parsing, the work item) costs on top of the protocol itself.

use std::convert::Infallible;
use std::net::Ipv4Addr;
use std::process::ExitCode;

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

use crate::settings::FUNCTIONS_CUSTOMHANDLER_PORT;

const REPLY: &str =
    r#"{"Outputs":{"res":{"statusCode":"202","body":""}},"Logs":[],"ReturnValue":null}"#;

async fn answer(request: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    // Read the whole envelope, as any handler must.
    let _ = request.into_body().collect().await;
    let mut response = Response::new(Full::new(Bytes::from_static(REPLY.as_bytes())));
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    Ok(response)
}

/// Serves until killed.
pub(in crate::cli) async fn run() -> ExitCode {
    let Some(port) = std::env::var(FUNCTIONS_CUSTOMHANDLER_PORT)
        .ok()
        .and_then(|p| p.parse::<u16>().ok())
    else {
        eprintln!("bench-baseline: {FUNCTIONS_CUSTOMHANDLER_PORT} must name a port");
        return ExitCode::FAILURE;
    };
    let listener = match TcpListener::bind((Ipv4Addr::LOCALHOST, port)).await {
        Ok(listener) => listener,
        Err(e) => {
            eprintln!("bench-baseline: cannot listen on port {port}: {e}");
            return ExitCode::FAILURE;
        }
    };
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        tokio::spawn(async move {
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service_fn(answer))
                .await;
        });
    }
}
