//! The request id of the call being handled, as a task-local: the server layer (and the
//! gateway's middleware) run each request inside [`scope`], and every outbound gRPC call
//! made from it sends the same `x-request-id` ([`crate::client`]), so one id follows a
//! request through every service it reaches.

use std::future::Future;

use tokio::task::futures::TaskLocalFuture;

tokio::task_local! {
    static REQUEST_ID: String;
}

/// The id of the request being handled, if any (background work has none).
pub fn current() -> Option<String> {
    REQUEST_ID
        .try_with(|id| (!id.is_empty()).then(|| id.clone()))
        .ok()
        .flatten()
}

/// Runs `future` as the handling of request `id`.
pub fn scope<F: Future>(id: String, future: F) -> TaskLocalFuture<String, F> {
    REQUEST_ID.scope(id, future)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_id_is_seen_inside_the_scope_only() {
        assert_eq!(current(), None);
        let inside = scope("req-1".to_owned(), async { current() }).await;
        assert_eq!(inside.as_deref(), Some("req-1"));
        assert_eq!(scope(String::new(), async { current() }).await, None);
        assert_eq!(current(), None);
    }
}
