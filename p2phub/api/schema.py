"""OpenAPI generation (drf-spectacular): every operation documents the API's standard error answers.

API.md: domain errors are `{"detail", "code"}` (p2phub.api.exceptions), validation errors 400
with field errors, unknown objects 404, throttling 429 with `Retry-After`. Views declare their
success responses; `AutoSchema` adds the error statuses they do not declare themselves, so a
client (and a Schemathesis run, `make fuzz-api`) finds every status the API can answer.
"""

from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.plumbing import ResolvedComponent
from drf_spectacular.utils import extend_schema_serializer
from rest_framework import serializers


@extend_schema_serializer(component_name="Error")
class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField(help_text="human-readable message")
    code = serializers.CharField(help_text="machine-readable code, e.g. not_found, throttled, already_claimed")


VALIDATION_ERROR_SCHEMA = {
    "type": "object",
    "description": "Field errors (`{field: [messages]}`), or `{detail, code}` for a domain rule.",
    "additionalProperties": {},
}


# Every operation may answer these (bad query/body, no or stale credentials, not allowed, unknown
# object or page, throttled).
COMMON_ERRORS = {
    "400": "Invalid input: field errors, or `{detail, code}` for a domain rule.",
    "401": "Missing, invalid or stale credentials.",
    "403": "Authenticated but not allowed (e.g. a member on a staff endpoint, a failed CSRF check).",
    "404": "Unknown object or page.",
    "429": "Throttled; retry after `Retry-After` seconds.",
}
# Writes may also answer these.
WRITE_ERRORS = {
    "409": "The object's state does not allow this (e.g. already claimed, already decided).",
    "413": "Request body too large.",
    "503": "A dependency is unavailable (e.g. no TON rate); retry later.",
}
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


class AutoSchema(SpectacularAutoSchema):
    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        errors = dict(COMMON_ERRORS)
        if self.method not in SAFE_METHODS:
            errors.update(WRITE_ERRORS)
        if not self.get_auth():  # public operation: no credentials needed
            errors.pop("401")
        for status, description in errors.items():
            if status in responses:
                continue
            body = self._validation_error_ref() if status == "400" else ErrorSerializer
            response = self._get_response_for_code(body, status, direction=direction)
            response["description"] = description
            if status == "429":
                response.setdefault("headers", {})["Retry-After"] = {
                    "schema": {"type": "integer"},
                    "description": "seconds to wait before retrying",
                }
            responses[status] = response
        return responses

    def _validation_error_ref(self) -> dict:
        component = ResolvedComponent(
            name="ValidationError",
            type=ResolvedComponent.SCHEMA,
            schema=VALIDATION_ERROR_SCHEMA,
            object="ValidationError",
        )
        self.registry.register_on_missing(component)
        return component.ref
