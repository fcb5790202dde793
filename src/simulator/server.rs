//! The two listeners: accepting connections, serving each with hyper, counting requests,
//! applying injected faults, and stamping every answer with Cloudflare's headers.
//!
//! Each connection is served by hyper directly rather than through `axum::serve`, because
//! the connection-level faults need control of the connection: a service error makes hyper
//! close it without writing a response.

use std::{convert::Infallible, sync::Arc, time::Duration};

use axum::{
    Router,
    body::Body,
    http::{HeaderMap, HeaderValue, Request, header},
    response::Response,
};
use hyper::{body::Incoming, server::conn::http1, service::service_fn};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::{
    net::{TcpListener, TcpStream},
    sync::watch,
    task::JoinSet,
};
use tower_service::Service;

use super::{
    Fault,
    faults::{self, Cut, Dropped, ShutdownSignal},
    state::{FaultQueue, Shared},
};

/// How long connections get to finish their current request once shutdown begins.
const GRACE: Duration = Duration::from_secs(2);

/// The headers that carry API credentials; the media host must never see them.
const CREDENTIAL_HEADERS: [&str; 4] = [
    "authorization",
    "x-auth-email",
    "x-auth-key",
    "x-auth-user-service-key",
];

/// Which listener a connection came in on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Listener {
    Api,
    Media,
}

/// What serving a request needs, shared by every connection of one listener.
struct Context {
    listener: Listener,
    router: Router,
    shared: Arc<Shared>,
    shutdown: watch::Receiver<bool>,
}

/// Completes when shutdown is signalled, or when the simulator is gone.
async fn shutdown_signalled(mut rx: watch::Receiver<bool>) {
    // An error means the sender was dropped: the simulator is gone, so stop as well.
    let _ = rx.wait_for(|stopping| *stopping).await;
}

/// Accepts connections until shutdown, then gives open ones [`GRACE`] to finish.
pub(super) async fn run(
    listener: TcpListener,
    which: Listener,
    router: Router,
    shared: Arc<Shared>,
    shutdown: watch::Receiver<bool>,
) {
    let context = Arc::new(Context {
        listener: which,
        router,
        shared,
        shutdown: shutdown.clone(),
    });
    let mut connections = JoinSet::new();
    let stop = shutdown_signalled(shutdown);
    tokio::pin!(stop);

    loop {
        tokio::select! {
            () = &mut stop => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    connections.spawn(serve_connection(stream, Arc::clone(&context)));
                }
                // Accept fails on exhausted file descriptors and similar passing trouble;
                // a short pause keeps the loop from spinning while it lasts.
                Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }

    drop(listener);
    let drain = async { while connections.join_next().await.is_some() {} };
    // Whatever has not finished by then is aborted when the set is dropped.
    let _ = tokio::time::timeout(GRACE, drain).await;
}

async fn serve_connection(stream: TcpStream, context: Arc<Context>) {
    let service_context = Arc::clone(&context);
    let service = service_fn(move |request| handle(Arc::clone(&service_context), request));
    let mut builder = http1::Builder::new();
    builder.timer(TokioTimer::new());
    let connection = builder.serve_connection(TokioIo::new(stream), service);
    tokio::pin!(connection);

    tokio::select! {
        _ = connection.as_mut() => return,
        () = shutdown_signalled(context.shutdown.clone()) => {}
    }
    connection.as_mut().graceful_shutdown();
    let _ = connection.await;
}

/// One request: count it, apply the next fault if there is one, route it, stamp it.
async fn handle(context: Arc<Context>, request: Request<Incoming>) -> Result<Response, Dropped> {
    let shared = &context.shared;
    let queue = count(&context, request.headers());
    let ray = shared.next_ray();

    let mut response = match queue.next() {
        None => route(&context.router, request).await,
        Some(fault) => faulty(&context, fault, request).await?,
    };

    let headers = response.headers_mut();
    if let Ok(ray) = HeaderValue::from_str(&ray) {
        headers.insert("cf-ray", ray);
    }
    headers.insert(header::SERVER, HeaderValue::from_static("cloudflare"));
    Ok(response)
}

/// Counts the request and returns the fault queue of its listener.
fn count<'a>(context: &'a Context, headers: &HeaderMap) -> &'a FaultQueue {
    use std::sync::atomic::Ordering::Relaxed;

    let shared = &context.shared;
    match context.listener {
        Listener::Api => {
            shared.api_hits.fetch_add(1, Relaxed);
            &shared.api_faults
        }
        Listener::Media => {
            shared.media_hits.fetch_add(1, Relaxed);
            if CREDENTIAL_HEADERS.iter().any(|h| headers.contains_key(*h)) {
                shared.media_hits_with_credentials.fetch_add(1, Relaxed);
            }
            &shared.media_faults
        }
    }
}

async fn faulty(
    context: &Context,
    fault: Fault,
    request: Request<Incoming>,
) -> Result<Response, Dropped> {
    match fault {
        Fault::RateLimited { retry_after } => Ok(faults::rate_limited(retry_after.as_deref())),
        Fault::HtmlError { status } => Ok(faults::html(status)),
        Fault::Status {
            status,
            code,
            message,
        } => Ok(faults::status(status, code, &message)),
        Fault::Reset => Err(faults::reset()),
        Fault::Delay(delay) => {
            // A delay must not hold up shutdown.
            tokio::select! {
                () = tokio::time::sleep(delay) => {}
                () = shutdown_signalled(context.shutdown.clone()) => {}
            }
            Ok(route(&context.router, request).await)
        }
        Fault::Truncated => {
            let response = route(&context.router, request).await;
            Ok(faults::cut_short(response, Cut::Close).await)
        }
        Fault::Stall => {
            let response = route(&context.router, request).await;
            let signal: ShutdownSignal = Box::pin(shutdown_signalled(context.shutdown.clone()));
            Ok(faults::cut_short(response, Cut::Hang(signal)).await)
        }
    }
}

async fn route(router: &Router, request: Request<Incoming>) -> Response {
    let result: Result<Response<Body>, Infallible> = router.clone().call(request).await;
    match result {
        Ok(response) => response,
        Err(never) => match never {},
    }
}
