"""Request and response bodies of the REST API: the seed's OpenAPI field names, camelCase.

Kept apart from the domain model; ``render.py`` turns domain values into these."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, model_validator
from pydantic_core import PydanticCustomError

from gitconfig.core import operators, text
from gitconfig.core.model import Environment, ValueType


class Body(BaseModel):
    """A request body: unknown fields refused, and every string (at any depth, keys too)
    valid Unicode; a lone surrogate is a 400 naming its field."""

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _valid_text(cls, data: Any) -> Any:
        fields = text.surrogate_fields(data)
        if fields:
            raise PydanticCustomError(
                "lone_surrogate", "holds a lone surrogate, not text", {"field": fields[0]}
            )
        return data


class CreateConfigurationRequest(Body):
    key: str = Field(description="Configuration key")
    application: str = Field(description="Application name")
    environment: Environment = Field(description="Environment")
    description: str | None = Field(None, description="Configuration description")
    valueType: ValueType = Field(description="Value type")
    value: str = Field(description="Configuration value")
    schema_: str | None = Field(
        None, alias="schema", description="JSON Schema for validation (optional)"
    )
    tags: list[str] | None = Field(None, description="Tags for categorization")
    changeDescription: str | None = Field(
        None, description="Commit message of this change (optional)"
    )


class UpdateConfigurationRequest(Body):
    description: str | None = Field(None, description="Configuration description")
    value: str | None = Field(None, description="Configuration value")
    schema_: str | None = Field(None, alias="schema", description="JSON Schema for validation")
    tags: list[str] | None = Field(None, description="Tags for categorization")
    changeDescription: str | None = Field(
        None, description="Commit message of this change (optional)"
    )


class ConfigurationSummary(BaseModel):
    id: str
    key: str
    application: str
    environment: Environment
    description: str | None = None
    valueType: ValueType
    createdAt: datetime
    updatedAt: datetime


class ConfigurationResponse(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    id: str
    key: str
    application: str
    environment: Environment
    description: str | None = None
    valueType: ValueType
    value: str = Field(description="Configuration value (masked for SECRET type)")
    schema_: str | None = Field(None, alias="schema")
    tags: list[str] = []
    version: int
    createdBy: str
    createdAt: datetime
    updatedBy: str
    updatedAt: datetime
    commit: str = Field(description="The commit this configuration was read at")


class ConfigurationVersion(BaseModel):
    id: str = Field(description="Version ID: the commit SHA")
    configId: str
    version: int
    value: str | None = Field(description="Value at this version (null if it did not validate)")
    createdBy: str = Field(description="Who made the change (for a merged change: its author)")
    createdAt: datetime
    changeDescription: str
    mergedBy: str | None = Field(None, description="Who merged it (a merged change only)")
    mergeCommit: str | None = Field(None, description="The merge commit (a merged change only)")


class ConfigurationValue(BaseModel):
    key: str
    value: str
    valueType: ValueType
    version: int


class ConfigurationPage(BaseModel):
    content: list[ConfigurationSummary]
    page: int
    size: int
    totalElements: int
    totalPages: int


class FieldErrorBody(BaseModel):
    field: str
    message: str


class ErrorBody(BaseModel):
    message: str
    errors: list[FieldErrorBody] = []


class FlagCondition(Body):
    attribute: str | None = None
    operator: str | None = None
    values: list[str] | None = None


class FeatureFlagRule(Body):
    """A targeting rule: the seed's attribute/operator/values form, or ``conditions`` (AND),
    optionally a ``percentage`` rollout bucketed by ``userId`` or ``bucketBy``."""

    attribute: str | None = Field(None, description="User attribute to match")
    operator: str | None = Field(None, description=operators.NAMES)  # the operator table
    values: list[str] | None = Field(None, description="Values to compare against (any of)")
    conditions: list[FlagCondition] | None = Field(None, description="Conditions, all must match")
    percentage: StrictInt | None = Field(None, description="Rollout percentage, 0..100")
    bucketBy: str | None = Field(None, description="Attribute to bucket by (default userId)")


class CreateFeatureFlagRequest(Body):
    key: str
    application: str
    environment: Environment
    description: str
    enabled: StrictBool = False
    rules: list[FeatureFlagRule] | None = None
    value: Any = Field(None, description="The flag's JSON value, returned when enabled")
    tags: list[str] | None = None
    changeDescription: str | None = Field(None, description="Commit message (optional)")


class UpdateFeatureFlagRequest(Body):
    description: str | None = None
    enabled: StrictBool | None = None
    rules: list[FeatureFlagRule] | None = None
    value: Any = Field(None, description="The flag's JSON value (null clears it)")
    tags: list[str] | None = None
    changeDescription: str | None = Field(None, description="Commit message (optional)")


class FeatureFlag(BaseModel):
    id: str
    key: str
    application: str
    environment: Environment
    description: str
    enabled: bool
    rules: list[dict[str, Any]]
    value: Any = None
    tags: list[str] = []
    version: int
    createdBy: str
    createdAt: datetime
    updatedBy: str
    updatedAt: datetime
    commit: str = Field(description="The commit this flag was read at")


class FeatureFlagPage(BaseModel):
    content: list[FeatureFlag]
    page: int
    size: int
    totalElements: int
    totalPages: int


class FeatureFlagVersion(BaseModel):
    id: str = Field(description="Version ID: the commit SHA")
    flagId: str
    version: int
    flag: dict[str, Any] | None = Field(
        description="The flag file at this version (null if it did not validate)"
    )
    createdBy: str = Field(description="Who made the change (for a merged change: its author)")
    createdAt: datetime
    changeDescription: str
    mergedBy: str | None = Field(None, description="Who merged it (a merged change only)")
    mergeCommit: str | None = Field(None, description="The merge commit (a merged change only)")


class FlagCheck(BaseModel):
    key: str
    enabled: bool
    value: Any = None
    reason: str = Field(description="STATIC, TARGETING_MATCH, SPLIT, DEFAULT or DISABLED")


ATTRIBUTES_DESCRIPTION = (
    "Attribute values: strings, numbers, booleans, null, lists or objects. Rules compare"
    " text: a boolean is true/false, a number its shortest decimal text; null, a list and"
    " an object are a missing attribute (core.context.attribute_text), which no rule matches."
)


class EvaluationRequest(Body):
    key: str
    application: str
    environment: Environment
    userId: str | None = None
    attributes: dict[str, Any] = Field(
        {},
        description=ATTRIBUTES_DESCRIPTION,
        json_schema_extra={
            "additionalProperties": {"type": ["string", "number", "boolean", "null"]}
        },
    )


class EvaluateAllRequest(Body):
    application: str
    environment: Environment
    userId: str | None = None
    attributes: dict[str, Any] = Field(
        {},
        description=ATTRIBUTES_DESCRIPTION,
        json_schema_extra={
            "additionalProperties": {"type": ["string", "number", "boolean", "null"]}
        },
    )


class FlagEvaluation(BaseModel):
    key: str
    enabled: bool
    value: Any = None
    reason: str
    ruleIndex: int | None = Field(None, description="The deciding rule (0-based)")
    version: int


class FlagEvaluations(BaseModel):
    application: str
    environment: Environment
    commit: str | None
    flags: list[FlagEvaluation]


def error_responses(not_found: str, write: bool = False) -> dict[int | str, dict[str, Any]]:
    """The documented error answers of an operation (OpenAPI ``responses``)."""
    responses: dict[int | str, dict[str, Any]] = {
        400: {"model": ErrorBody, "description": "Invalid request"},
        401: {"model": ErrorBody, "description": "Authentication required"},
        403: {"model": ErrorBody, "description": "Permission denied"},
        404: {"model": ErrorBody, "description": not_found},
    }
    if write:
        responses[409] = {"model": ErrorBody, "description": "Exists already / concurrent change"}
        responses[412] = {"model": ErrorBody, "description": "If-Match names a stale version"}
    return responses
