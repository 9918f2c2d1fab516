"""``POST /webhooks/git``: a Git host's push webhook makes a replica fetch at once.

No bearer token (hosts cannot send one): the request is authenticated by its signature
(see ``core.webhooks``). 202 when a fetch was scheduled, 200 when the event was acknowledged
and ignored (another branch, a ping), 401 for a missing or bad signature (429 once an address
sent too many: ``access.ratelimit.FailureLimiter``), 404 on a server that takes no webhooks."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from gitconfig.access.gate import Gate
from gitconfig.core.errors import Unauthenticated
from gitconfig.rest import openapi
from gitconfig.rest.deps import ServiceDep

router = APIRouter(tags=["Webhooks"], responses=openapi.NOT_READY)


@router.post(
    "/webhooks/git",
    operation_id="gitWebhook",
    summary="Git host push webhook",
    description="A push webhook of GitHub, GitLab, Gitea/Forgejo or a generic HMAC form: a "
    "replica (`serve --remote`) verifies its signature and fetches. 401 on a bad signature; a "
    "push to another branch is acknowledged and ignored.",
)
async def git_webhook(request: Request, service: ServiceDep) -> JSONResponse:
    gate: Gate = request.app.state.gate  # bad signatures count as failed authentications
    client = request.client.host if request.client is not None else None
    gate.failures.check(client)
    body = await request.body()
    try:
        headers = {k.lower(): v for k, v in request.headers.items()}
        outcome = service.operations.webhook(headers, body)
    except Unauthenticated:
        gate.failures.failed(client)
        raise
    return JSONResponse(
        {
            "provider": outcome.provider,
            "status": "fetch scheduled" if outcome.fetch else "ignored",
            "detail": outcome.reason,
        },
        status_code=202 if outcome.fetch else 200,
    )
