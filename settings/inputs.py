"""The base of every manifest value's model."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel


class Input(BaseModel):
    """Manifest values: camelCase keys, unknown keys rejected so a typo never passes silently."""

    model_config = ConfigDict(extra="forbid", frozen=True, alias_generator=to_camel, validate_by_name=True)
