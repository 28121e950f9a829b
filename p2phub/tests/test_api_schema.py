"""The OpenAPI schema documents what the API answers (p2phub.api.schema; `make fuzz-api`)."""

from drf_spectacular.generators import SchemaGenerator

METHODS = {"get", "post", "put", "patch", "delete"}


def _schema():
    return SchemaGenerator().get_schema(request=None, public=True)


def _operations(schema):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield path, method, operation


def test_every_operation_documents_the_standard_errors():
    schema = _schema()
    error = "#/components/schemas/Error"
    assert set(schema["components"]["schemas"]["Error"]["required"]) == {"detail", "code"}
    for path, method, operation in _operations(schema):
        responses = operation["responses"]
        expected = {"400", "401", "403", "404", "429"} | ({"409"} if method != "get" else set())
        assert expected <= set(responses), (method, path, sorted(responses))
        throttled = responses["429"]
        assert throttled["content"]["application/json"]["schema"] == {"$ref": error}
        assert "Retry-After" in throttled["headers"]


def test_ledger_amount_is_an_integer_or_a_decimal_string():
    amount = _schema()["components"]["schemas"]["LedgerRow"]["properties"]["amount"]
    assert {alternative["type"] for alternative in amount["oneOf"]} == {"integer", "string"}
