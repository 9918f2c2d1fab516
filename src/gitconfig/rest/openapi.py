"""The OpenAPI document as users read it at ``/docs``: a summary and a description for every
operation, request body examples that work as they are sent (one coherent story: the
``trading-engine`` application in ``PROD``, its ``max-order-size`` configuration and its
``matching-v2`` flag), the 503 of a server whose first index is not built yet, and no 422
(every bad input is a 400 with ``{message, errors}``; ``errors.install`` sees to that)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

APP = "trading-engine"
ENV = "PROD"

# operationId -> (summary, description)
OPERATIONS: dict[str, tuple[str, str]] = {
    "watchConfigurations": (
        "Stream configuration changes (SSE)",
        "A Server-Sent Events stream of changes, one event per commit. Resume without loss "
        "by sending the last commit seen as `resumeAfterCommit` (or `Last-Event-ID`).",
    ),
    "importConfigurations": (
        "Import configurations",
        "Create or update many configurations of one application and environment from a "
        "JSON, YAML, .env or .properties text, in one commit. `dryRun` validates only.",
    ),
    "exportConfigurations": (
        "Export configurations",
        "The configurations of one application and environment as a JSON, YAML, .env or "
        ".properties text (SECRET values masked unless the token may reveal them).",
    ),
    "listConfigurations": (
        "List configurations",
        "One page of configurations, filtered by application, environment and tag.",
    ),
    "createConfiguration": (
        "Create a configuration",
        "Validates the value against its type and schema and commits a new file "
        "`configs/<application>/<environment>/<key>.yaml`. 409 if it exists.",
    ),
    "lookupConfiguration": (
        "Read one value by key",
        "The value of a configuration by application, environment and key: the hot read "
        "path. The `ETag` is the version.",
    ),
    "getConfiguration": ("Get a configuration", "A configuration by id, with its metadata."),
    "updateConfiguration": (
        "Update a configuration",
        'Changes the given fields in one commit. Send `If-Match: "<version>"` to refuse the '
        "write (412) when someone else changed it first.",
    ),
    "deleteConfiguration": (
        "Delete a configuration",
        "Removes the file in one commit; its history stays in Git.",
    ),
    "getConfigurationVersions": (
        "List versions of a configuration",
        "Every version, newest first: one per commit that changed the file.",
    ),
    "getConfigurationVersion": (
        "Get one version of a configuration",
        "A version by number or by commit SHA (full, or a unique prefix of 7+).",
    ),
    "rollbackConfiguration": (
        "Roll a configuration back",
        "A new commit restoring the content of an earlier version (nothing is rewritten).",
    ),
    "listFeatureFlags": (
        "List feature flags",
        "One page of feature flags, filtered by application, environment and tag.",
    ),
    "createFeatureFlag": (
        "Create a feature flag",
        "Validates the rules and commits a new file "
        "`flags/<application>/<environment>/<key>.yaml`. 409 if it exists.",
    ),
    "checkFeatureFlag": (
        "Check a flag for a user",
        "Evaluates one flag for an optional `userId`: the hot path of flag checks.",
    ),
    "evaluateFeatureFlag": (
        "Evaluate a flag",
        "Evaluates one flag for a user and attributes; the answer carries the reason "
        "(OpenFeature's vocabulary) and the commit it was read at.",
    ),
    "evaluateAllFeatureFlags": (
        "Evaluate every flag",
        "Evaluates every flag of one application and environment for one context, at one commit.",
    ),
    "getFeatureFlag": ("Get a feature flag", "A feature flag by id, with its rules."),
    "updateFeatureFlag": (
        "Update a feature flag",
        "Changes the given fields in one commit; `If-Match` as for configurations.",
    ),
    "deleteFeatureFlag": ("Delete a feature flag", "Removes the file in one commit."),
    "getFeatureFlagVersions": (
        "List versions of a feature flag",
        "Every version, newest first: one per commit that changed the file.",
    ),
    "getFeatureFlagVersion": (
        "Get one version of a feature flag",
        "A version by number or by commit SHA (full, or a unique prefix of 7+).",
    ),
    "rollbackFeatureFlag": (
        "Roll a feature flag back",
        "A new commit restoring the content of an earlier version.",
    ),
    "live": (
        "Liveness probe",
        "200 while the process serves HTTP. No token. `HEAD` answers like `GET`.",
    ),
    "ready": (
        "Readiness probe",
        "200 once the first complete index is built; 503 before, and from the moment a "
        "shutdown starts (so load balancers stop sending). No token. `HEAD` answers too.",
    ),
    "status": (
        "Index status",
        "The served commit, the number of entries and the files at HEAD that do not "
        "validate (served fail-static, with the commit that broke them).",
    ),
    "metrics": (
        "Prometheus metrics",
        "The Prometheus text format: requests, latencies, writes, streams, the index. "
        "See docs/operations.md for what to alert on.",
    ),
    "compareEnvironments": (
        "Compare two environments",
        "Per key of an application, what differs from one environment (or a commit or date "
        "of it: `PROD@<sha>`) to another: configurations field by field (type, value, schema, "
        "description, tags) and flags rule by rule. SECRET values are only `same` or "
        "`differs`, and `not comparable` unless the token may reveal them.",
    ),
    "promoteEnvironment": (
        "Promote between environments",
        "Copy the chosen keys (default: all) of an application from one environment to "
        "another as one commit whose message lists what changed; refused as a whole if any "
        "value fails the target's validation. `dryRun` reports without writing.",
    ),
    "listAuditEvents": (
        "The audit trail",
        "Changes newest first, only those the token may read: who changed which key, when, "
        "how (CREATED, UPDATED, DELETED, ROLLED_BACK), in which commit, and who merged it. "
        "Filters: application, environment, key, kind, author, since, until.",
    ),
    "springEnvironment": (
        "Spring Cloud Config: an application's Environment",
        "Spring's `Environment` JSON (`propertySources` highest precedence first) for a "
        "profile (an environment name or a Spring profile such as `prod`), at the served "
        "commit. Point `spring.config.import=configserver:` at `/spring`.",
    ),
    "springEnvironmentAtLabel": (
        "Spring Cloud Config: an Environment at a label",
        "As above, at a branch, tag or commit SHA (`(_)` stands for `/` in a branch name).",
    ),
    "springDocument": (
        "Spring Cloud Config: one merged file",
        "`{application}-{profile}.json|yml|yaml|properties` (optionally under a label): every "
        "property source merged into one document.",
    ),
    "gitWebhook": (
        "Git host push webhook",
        "A push webhook of GitHub, GitLab, Gitea/Forgejo or a generic HMAC form: a replica "
        "(`serve --remote`) verifies its signature and fetches. 401 on a bad signature; a "
        "push to another branch is acknowledged and ignored.",
    ),
}

EXAMPLES: dict[str, dict[str, Any]] = {
    "promoteEnvironment": {
        "application": APP,
        "from": ENV,
        "to": "STAGING",
        "keys": ["max-order-size"],
        "dryRun": True,
        "changeDescription": "Promote the order cap to STAGING",
    },
    "createConfiguration": {
        "key": "max-order-size",
        "application": APP,
        "environment": ENV,
        "description": "Maximum notional per order, USD",
        "valueType": "NUMBER",
        "value": "250000",
        "schema": '{"type": "number", "minimum": 0}',
        "tags": ["risk", "limits"],
        "changeDescription": "Cap orders at 250k",
    },
    "updateConfiguration": {
        "value": "300000",
        "changeDescription": "Raise the cap to 300k",
    },
    "importConfigurations": {
        "application": APP,
        "environment": ENV,
        "format": "json",
        "content": '{"order-timeout-ms": 1500, "venue": "XLON"}',
        "changeDescription": "Import from the old config server",
        "dryRun": False,
    },
    "createFeatureFlag": {
        "key": "matching-v2",
        "application": APP,
        "environment": ENV,
        "description": "Route orders through the v2 matching engine",
        "enabled": True,
        "rules": [
            {"attribute": "region", "operator": "IN", "values": ["EU", "UK"]},
            {"percentage": 10},
        ],
        "tags": ["matching"],
    },
    "updateFeatureFlag": {"enabled": False, "changeDescription": "Pause the rollout"},
    "evaluateFeatureFlag": {
        "key": "matching-v2",
        "application": APP,
        "environment": ENV,
        "userId": "desk-7-alice",
        "attributes": {"region": "EU"},
    },
    "evaluateAllFeatureFlags": {
        "application": APP,
        "environment": ENV,
        "userId": "desk-7-alice",
        "attributes": {"region": "EU"},
    },
}

NO_READINESS = frozenset(("live", "ready"))  # they answer before the index (ready: 503)
NOT_READY = {
    "description": "The server's first index is not built yet (or it is shutting down): "
    "retry shortly",
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}},
}


def document(app: FastAPI) -> dict[str, Any]:
    """The app's OpenAPI document, built once (FastAPI's ``app.openapi``)."""
    if app.openapi_schema is None:
        schema = get_openapi(
            title=app.title,
            version=app.version,
            description=app.description,
            routes=app.routes,
        )
        for operations in schema["paths"].values():
            for operation in operations.values():
                _describe(operation)
        schemas = schema.get("components", {}).get("schemas", {})
        for unused in ("HTTPValidationError", "ValidationError"):
            schemas.pop(unused, None)
        app.openapi_schema = schema
    return app.openapi_schema


def _describe(operation: dict[str, Any]) -> None:
    name = operation["operationId"]
    summary, description = OPERATIONS[name]
    operation["summary"] = summary
    operation["description"] = description
    responses = operation["responses"]
    responses.pop("422", None)
    if name == "ready":
        responses["503"] = {
            "description": "Not ready: the first index is not built yet, or shutting down",
            "content": {"application/json": {"example": {"status": "starting"}}},
        }
    elif name not in NO_READINESS:
        responses.setdefault("503", NOT_READY)
    example = EXAMPLES.get(name)
    if example is not None:
        operation["requestBody"]["content"]["application/json"]["example"] = example


def install(app: FastAPI) -> None:
    app.openapi = lambda: document(app)  # type: ignore[method-assign]
