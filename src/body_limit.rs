//! Reading a request body up to a limit, so that an oversized request is answered in our own
//! words (a JSON `413` the caller can act on) instead of by the router's default limit, whose
//! `413 text/plain` the Functions host cannot deliver (it turns a non-JSON reply into a `500`,
//! docs/protocol.md §8.6).
//!
//! Past the limit nothing more is kept, but the rest is still read and dropped, up to
//! [`DRAIN_LIMIT`]: answering while the peer is still sending would make it see a reset
//! connection rather than our answer. Both transports use it: the host adapter for the
//! envelope, standalone mode for the callout itself.

use axum::body::{Body, Bytes};
use http_body_util::BodyExt;

/// Bytes read and dropped after the limit before the connection is given up on: above the
/// host's own request limit (100 MB, docs/protocol.md §8.11) times the envelope's growth.
pub const DRAIN_LIMIT: u64 = 4 * 1024 * 1024 * 1024;

/// A body read up to a limit.
#[derive(Debug, PartialEq, Eq)]
pub enum LimitedBody {
    /// The whole body, within the limit.
    Within(Bytes),
    /// The body was longer than the limit; it was read (up to [`DRAIN_LIMIT`]) and dropped.
    Over,
}

/// Reads `body`, keeping at most `limit` bytes.
pub async fn read_limited(body: Body, limit: usize) -> Result<LimitedBody, axum::Error> {
    let mut body = body;
    let mut kept: Vec<u8> = Vec::new();
    let mut over = false;
    let mut dropped: u64 = 0;
    while let Some(frame) = body.frame().await {
        let Ok(data) = frame?.into_data() else {
            continue; // trailers carry nothing we use
        };
        if over {
            dropped += data.len() as u64;
            if dropped > DRAIN_LIMIT {
                break;
            }
        } else if kept.len() + data.len() > limit {
            over = true;
            kept = Vec::new();
        } else {
            kept.extend_from_slice(&data);
        }
    }
    Ok(if over {
        LimitedBody::Over
    } else {
        LimitedBody::Within(Bytes::from(kept))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunked(chunks: &[&'static [u8]]) -> Body {
        let stream = futures::stream::iter(
            chunks
                .iter()
                .map(|c| Ok::<_, std::io::Error>(Bytes::from_static(c)))
                .collect::<Vec<_>>(),
        );
        Body::from_stream(stream)
    }

    #[tokio::test]
    async fn keeps_a_body_up_to_the_limit() {
        let read = read_limited(chunked(&[b"abc", b"de"]), 5).await.unwrap();
        assert_eq!(read, LimitedBody::Within(Bytes::from_static(b"abcde")));
    }

    #[tokio::test]
    async fn one_byte_over_is_over_and_the_rest_is_read() {
        let read = read_limited(chunked(&[b"abc", b"def", b"more"]), 5)
            .await
            .unwrap();
        assert_eq!(read, LimitedBody::Over);
    }
}
