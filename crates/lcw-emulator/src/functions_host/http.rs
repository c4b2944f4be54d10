//! Public HTTP requests: route matching against `routePrefix`/`route` and `methods`
//! (docs/protocol.md §8.2), then a JSON-protocol invocation whose `http` output becomes the response.
//!
//! Routes match case-insensitively, like ASP.NET routing, and support `{param}`,
//! `{param:constraint}` (constraint not checked), a trailing `{param?}` and `{*rest}`. A path
//! that matches no route, or a route whose methods exclude the request's, answers `404`. A
//! failed invocation answers `500` with an empty body, as the host does. An invocation that
//! succeeds without setting its `http` output answers `204` [inf].

use super::config::{FunctionConfig, Trigger};
use super::envelope::{self, RoutedRequest};
use super::invocation;
use super::{HostError, HttpRequest, HttpResponse, Shared};

/// Host name the public URL claims when the request has no `Host` header (Core Tools' default).
const DEFAULT_HOST: &str = "localhost:7071";

/// Route parameter name/value pairs, in template order.
type RouteParams = Vec<(String, String)>;

/// One segment of a route template.
#[derive(Debug, PartialEq, Eq)]
enum Segment<'a> {
    Literal(&'a str),
    Param { name: &'a str, optional: bool },
    CatchAll(&'a str),
}

fn parse_template(route: &str) -> Vec<Segment<'_>> {
    route
        .split('/')
        .filter(|s| !s.is_empty())
        .map(
            |segment| match segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                Some(inner) => {
                    let (catch_all, inner) = match inner.strip_prefix('*') {
                        Some(rest) => (true, rest),
                        None => (false, inner),
                    };
                    let optional = inner.ends_with('?');
                    let inner = inner.trim_end_matches('?');
                    let name = inner.split([':', '=']).next().unwrap_or(inner);
                    if catch_all {
                        Segment::CatchAll(name)
                    } else {
                        Segment::Param { name, optional }
                    }
                }
                None => Segment::Literal(segment),
            },
        )
        .collect()
}

/// Matches decoded path segments against a template; returns route parameters.
fn match_template(template: &[Segment<'_>], path: &[String]) -> Option<RouteParams> {
    let mut params = Vec::new();
    let mut index = 0;
    for segment in template {
        match segment {
            Segment::Literal(literal) => {
                if !path.get(index)?.eq_ignore_ascii_case(literal) {
                    return None;
                }
                index += 1;
            }
            Segment::Param { name, optional } => match path.get(index) {
                Some(value) => {
                    params.push(((*name).to_owned(), value.clone()));
                    index += 1;
                }
                None if *optional => {}
                None => return None,
            },
            Segment::CatchAll(name) => {
                let rest = path.get(index..).unwrap_or_default().join("/");
                params.push(((*name).to_owned(), rest));
                index = path.len();
            }
        }
    }
    (index == path.len()).then_some(params)
}

/// Percent-decodes a URL component (`+` as space when `plus_is_space`, for query strings).
fn percent_decode(text: &str, plus_is_space: bool) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(byte) => {
                        out.push(byte);
                        i += 3;
                    }
                    None => {
                        out.push(b'%');
                        i += 1;
                    }
                }
            }
            b'+' if plus_is_space => {
                out.push(b' ');
                i += 1;
            }
            byte => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn parse_query(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(key, true), percent_decode(value, true))
        })
        .collect()
}

/// Finds the function for a path, preferring the route with the most literal segments.
fn route<'f>(
    functions: &'f [std::sync::Arc<FunctionConfig>],
    route_prefix: &str,
    method: &str,
    path: &str,
) -> Option<(&'f FunctionConfig, RouteParams)> {
    let segments: Vec<String> = path
        .split('/')
        .filter(|s| !s.is_empty())
        .map(|s| percent_decode(s, false))
        .collect();
    let prefix: Vec<&str> = route_prefix.split('/').filter(|s| !s.is_empty()).collect();
    if segments.len() < prefix.len()
        || !prefix
            .iter()
            .zip(&segments)
            .all(|(p, s)| p.eq_ignore_ascii_case(s))
    {
        return None;
    }
    let rest = &segments[prefix.len()..];
    let mut best: Option<(usize, &FunctionConfig, RouteParams)> = None;
    for function in functions {
        let Trigger::Http(trigger) = &function.trigger else {
            continue;
        };
        if !trigger.methods.is_empty()
            && !trigger
                .methods
                .iter()
                .any(|m| m.eq_ignore_ascii_case(method))
        {
            continue;
        }
        let template = parse_template(&trigger.route);
        if let Some(params) = match_template(&template, rest) {
            let literals = template
                .iter()
                .filter(|s| matches!(s, Segment::Literal(_)))
                .count();
            if best.as_ref().is_none_or(|(n, _, _)| literals > *n) {
                best = Some((literals, function, params));
            }
        }
    }
    best.map(|(_, function, params)| (function, params))
}

/// Serves one public request.
pub(crate) async fn handle(
    shared: &Shared,
    request: HttpRequest,
) -> Result<HttpResponse, HostError> {
    if !request.path_and_query.starts_with('/') {
        return Err(HostError::InvalidRequest {
            reason: format!("path {:?} must start with '/'", request.path_and_query),
        });
    }
    if request.method.is_empty() || !request.method.bytes().all(|b| b.is_ascii_alphabetic()) {
        return Err(HostError::InvalidRequest {
            reason: format!("method {:?} is not an HTTP method", request.method),
        });
    }
    let method = request.method.to_ascii_uppercase();
    let (path, query) = request
        .path_and_query
        .split_once('?')
        .unwrap_or((&request.path_and_query, ""));
    let Some((function, params)) =
        route(&shared.functions, &shared.host.route_prefix, &method, path)
    else {
        tracing::debug!(%method, %path, "no function matches; 404");
        return Ok(HttpResponse::empty(404));
    };
    let Trigger::Http(trigger) = &function.trigger else {
        return Ok(HttpResponse::empty(404));
    };

    let mut headers = request.headers.clone();
    let host = match headers.iter().find(|(n, _)| n.eq_ignore_ascii_case("host")) {
        Some((_, value)) => value.clone(),
        None => {
            headers.insert(0, ("Host".to_owned(), DEFAULT_HOST.to_owned()));
            DEFAULT_HOST.to_owned()
        }
    };
    if !request.body.is_empty()
        && !headers
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case("content-length"))
    {
        headers.push(("Content-Length".to_owned(), request.body.len().to_string()));
    }
    let routed = RoutedRequest {
        method: &method,
        url: format!("http://{host}{}", request.path_and_query),
        query: parse_query(query),
        headers,
        params,
        body: &request.body,
    };
    let envelope = envelope::http_envelope(&function.name, &trigger.name, &routed);
    let _in_flight = shared.http_in_flight();
    match invocation::invoke(shared, function, envelope, None).await {
        Ok(applied) => Ok(applied.http.unwrap_or_else(|| HttpResponse::empty(204))),
        Err(_) => Ok(HttpResponse::empty(500)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(p: &str) -> Vec<String> {
        p.split('/')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()
    }

    #[test]
    fn templates_match_literals_params_and_catch_alls() {
        let t = parse_template("lifecycle/callout");
        assert_eq!(match_template(&t, &path("Lifecycle/CALLOUT")), Some(vec![]));
        assert_eq!(match_template(&t, &path("lifecycle")), None);

        let t = parse_template("items/{id:int}/{mode?}");
        assert_eq!(
            match_template(&t, &path("items/7")),
            Some(vec![("id".to_owned(), "7".to_owned())])
        );
        assert_eq!(match_template(&t, &path("items/7/full/extra")), None);

        let t = parse_template("files/{*rest}");
        assert_eq!(
            match_template(&t, &path("files/a/b")),
            Some(vec![("rest".to_owned(), "a/b".to_owned())])
        );
    }

    #[test]
    fn queries_decode_and_keep_repeats() {
        assert_eq!(
            parse_query("a=1&a=2&b=x%20y+z&flag"),
            vec![
                ("a".to_owned(), "1".to_owned()),
                ("a".to_owned(), "2".to_owned()),
                ("b".to_owned(), "x y z".to_owned()),
                ("flag".to_owned(), String::new()),
            ]
        );
        assert_eq!(percent_decode("100%", false), "100%");
    }
}
