"""Validates response bodies against the schemas of openapi.yaml (OpenAPI 3.0 dialect, refs resolved)."""
import pathlib

import yaml
from openapi_schema_validator import OAS30Validator

SPEC = yaml.safe_load((pathlib.Path(__file__).resolve().parent.parent / "openapi.yaml").read_text())


def validate(instance, schema_name: str) -> None:
    """Raises jsonschema.ValidationError when `instance` does not match `#/components/schemas/<schema_name>`."""
    schema = {"$ref": f"#/components/schemas/{schema_name}", "components": SPEC["components"]}
    OAS30Validator(schema).validate(instance)
