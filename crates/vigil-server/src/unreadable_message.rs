//! A tower layer that turns tonic's answers to a request message it could
//! not read into what vigil's contract says, for every RPC at once: an
//! oversized message (tonic: OUT_OF_RANGE) is RESOURCE_EXHAUSTED naming the
//! limit, and one that is not valid protobuf (tonic: INTERNAL, as if the
//! server had failed) is INVALID_ARGUMENT.

use std::task::{Context, Poll};

use tonic::Status;
use tonic::codegen::{BoxFuture, http};
use tower_layer::Layer;
use tower_service::Service;
use vigil_proto::tonic;

use crate::status::unreadable_message_status;

#[derive(Clone, Copy, Debug)]
pub struct UnreadableMessageLayer {
    pub limit: usize,
}

impl<S> Layer<S> for UnreadableMessageLayer {
    type Service = UnreadableMessage<S>;

    fn layer(&self, inner: S) -> UnreadableMessage<S> {
        UnreadableMessage { inner, limit: self.limit }
    }
}

#[derive(Clone, Debug)]
pub struct UnreadableMessage<S> {
    inner: S,
    limit: usize,
}

impl<S, RequestBody, ResponseBody> Service<http::Request<RequestBody>> for UnreadableMessage<S>
where
    S: Service<http::Request<RequestBody>, Response = http::Response<ResponseBody>>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = BoxFuture<S::Response, S::Error>;

    fn poll_ready(&mut self, context: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(context)
    }

    fn call(&mut self, request: http::Request<RequestBody>) -> Self::Future {
        let response = self.inner.call(request);
        let limit = self.limit;
        Box::pin(async move {
            let mut response = response.await?;
            let replacement = Status::from_header_map(response.headers())
                .and_then(|status| unreadable_message_status(status.code(), status.message(), limit));
            if let Some(replacement) = replacement {
                // Only fails on a message that cannot be a header; ours can.
                let _ = replacement.add_header(response.headers_mut());
            }
            Ok(response)
        })
    }
}
