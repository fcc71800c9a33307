//! A tower layer that turns tonic's OUT_OF_RANGE for an oversized request
//! message into RESOURCE_EXHAUSTED naming the limit, for every RPC at once.

use std::task::{Context, Poll};

use tonic::Status;
use tonic::codegen::{BoxFuture, http};
use tower_layer::Layer;
use tower_service::Service;
use vigil_proto::tonic;

use crate::status::oversized_message_status;

#[derive(Clone, Copy, Debug)]
pub struct OversizedMessageLayer {
    pub limit: usize,
}

impl<S> Layer<S> for OversizedMessageLayer {
    type Service = OversizedMessage<S>;

    fn layer(&self, inner: S) -> OversizedMessage<S> {
        OversizedMessage { inner, limit: self.limit }
    }
}

#[derive(Clone, Debug)]
pub struct OversizedMessage<S> {
    inner: S,
    limit: usize,
}

impl<S, RequestBody, ResponseBody> Service<http::Request<RequestBody>> for OversizedMessage<S>
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
                .and_then(|status| oversized_message_status(status.code(), status.message(), limit));
            if let Some(replacement) = replacement {
                // Only fails on a message that cannot be a header; ours can.
                let _ = replacement.add_header(response.headers_mut());
            }
            Ok(response)
        })
    }
}
