"""Request and response bodies of the REST API: the seed's OpenAPI field names, camelCase.

Kept apart from the domain model; ``render.py`` turns domain values into these."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from gitconfig.model import Environment, ValueType


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


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
    createdBy: str
    createdAt: datetime
    changeDescription: str


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
