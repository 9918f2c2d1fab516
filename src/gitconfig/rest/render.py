"""Domain values to response bodies."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from gitconfig.access.principals import Principal
from gitconfig.core import configfile, flagfile
from gitconfig.core.evaluation import Evaluation
from gitconfig.core.model import ConfigDocument, FlagDocument
from gitconfig.rest import models
from gitconfig.service import Entry, Page, Service, VersionView


def _config(entry: Entry) -> ConfigDocument:
    assert isinstance(entry.document, ConfigDocument), entry.key
    return entry.document


def config_summary(entry: Entry) -> models.ConfigurationSummary:
    document = _config(entry)
    return models.ConfigurationSummary(
        id=entry.id,
        key=entry.key.key,
        application=entry.key.application,
        environment=entry.key.environment,
        description=document.description,
        valueType=document.value_type,
        createdAt=entry.created.commit.time,
        updatedAt=entry.updated.commit.time,
    )


def config(
    service: Service, caller: Principal, entry: Entry, reveal: bool = False
) -> models.ConfigurationResponse:
    document = _config(entry)
    return models.ConfigurationResponse(
        id=entry.id,
        key=entry.key.key,
        application=entry.key.application,
        environment=entry.key.environment,
        description=document.description,
        valueType=document.value_type,
        value=service.box.value_text(caller, document, entry.key, entry.served.blob, reveal),
        schema=configfile.schema_text(document),
        tags=list(document.tags),
        version=entry.version,
        createdBy=entry.created.commit.author.name,
        createdAt=entry.created.commit.time,
        updatedBy=entry.updated.commit.author.name,
        updatedAt=entry.updated.commit.time,
        commit=entry.updated.commit.sha,
    )


def config_value(
    service: Service, caller: Principal, entry: Entry, reveal: bool = False
) -> models.ConfigurationValue:
    document = _config(entry)
    return models.ConfigurationValue(
        key=entry.key.key,
        value=service.box.value_text(caller, document, entry.key, entry.served.blob, reveal),
        valueType=document.value_type,
        version=entry.version,
    )


def config_version(
    service: Service, caller: Principal, view: VersionView, reveal: bool = False
) -> models.ConfigurationVersion:
    document = view.document
    value = None
    if isinstance(document, ConfigDocument):
        key, blob = view.entry.key, view.version.blob
        value = service.box.value_text(caller, document, key, blob, reveal)
    return models.ConfigurationVersion(
        configId=view.entry.id, version=view.version.number, value=value, **_made_by(view)
    )


def paging(result: Page) -> dict[str, int]:
    """The seed's paging fields of a list response."""
    return {
        "page": result.page,
        "size": result.size,
        "totalElements": result.total_elements,
        "totalPages": result.total_pages,
    }


def etag(entry: Entry) -> dict[str, str]:
    return {"ETag": f'"{entry.version}"'}


def _flag_document(entry: Entry) -> FlagDocument:
    assert isinstance(entry.document, FlagDocument), entry.key
    return entry.document


def flag(entry: Entry) -> models.FeatureFlag:
    document = _flag_document(entry)
    mapping = flagfile.to_mapping(document)
    return models.FeatureFlag(
        id=entry.id,
        key=entry.key.key,
        application=entry.key.application,
        environment=entry.key.environment,
        description=document.description,
        enabled=document.enabled,
        rules=mapping.get("rules", []),
        value=document.value,
        tags=list(document.tags),
        version=entry.version,
        createdBy=entry.created.commit.author.name,
        createdAt=entry.created.commit.time,
        updatedBy=entry.updated.commit.author.name,
        updatedAt=entry.updated.commit.time,
        commit=entry.updated.commit.sha,
    )


def flag_version(view: VersionView) -> models.FeatureFlagVersion:
    document = view.document
    return models.FeatureFlagVersion(
        flagId=view.entry.id,
        version=view.version.number,
        flag=flagfile.to_mapping(document) if isinstance(document, FlagDocument) else None,
        **_made_by(view),
    )


def _made_by(view: VersionView) -> dict[str, Any]:
    """Who made a version and why: the commit's author and message; for a change merged with
    a merge commit, the merged branch's commit that made it, and who merged it."""
    commit = view.version.commit
    made = view.merged or commit
    fields: dict[str, Any] = {
        "id": commit.sha,
        "createdBy": made.author.name,
        "createdAt": made.time,
        "changeDescription": made.message.strip(),
    }
    if view.merged is not None:
        fields |= {"mergedBy": commit.author.name, "mergeCommit": commit.sha}
    return fields


def flag_check(entry: Entry, evaluation: Evaluation) -> models.FlagCheck:
    return models.FlagCheck(
        key=entry.key.key,
        enabled=evaluation.enabled,
        value=evaluation.value,
        reason=evaluation.reason,
    )


def json_bytes(model: BaseModel) -> bytes:
    """A response model's body exactly as the seed's FastAPI routes serialise it (pydantic's
    JSON, null fields left out: ``strictjson.SeedRoute``)."""
    return model.__pydantic_serializer__.to_json(model, exclude_none=True)


def flag_evaluation(entry: Entry, evaluation: Evaluation) -> models.FlagEvaluation:
    return models.FlagEvaluation(
        key=entry.key.key,
        enabled=evaluation.enabled,
        value=evaluation.value,
        reason=evaluation.reason,
        ruleIndex=evaluation.rule_index,
        version=entry.version,
    )
