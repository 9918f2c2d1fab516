"""The gRPC API (grpc.aio): a thin adapter over the service layer."""
