"""Generated from proto/config/v1/ by ``make proto``: do not edit.

protoc's ``config.v1.*_pb2`` modules, moved here as ``gitconfig.grpc.v1.*_pb2``.
"""
