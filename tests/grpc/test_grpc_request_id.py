"""The request id of a gRPC call: the first ``x-request-id`` of its metadata, as the HTTP side
takes the first of a repeated header."""

from __future__ import annotations

from gitconfig.grpc import observe


class Metadata:
    """What ``grpc.aio.ServicerContext.invocation_metadata()`` gives: (key, value) pairs."""

    def __init__(self, *pairs: tuple[str, str]) -> None:
        self.pairs = pairs

    def invocation_metadata(self) -> tuple[tuple[str, str], ...]:
        return self.pairs


def test_the_first_request_id_is_taken() -> None:
    context = Metadata(("x-request-id", "first-1"), ("x-request-id", "second-2"))
    assert observe._request_id(context) == "first-1"


def test_without_one_an_id_is_made() -> None:
    made = observe._request_id(Metadata(("authorization", "Bearer x")))
    assert len(made) == 32
