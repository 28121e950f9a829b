"""Share message templates: the small language staff write them in, checked and filled here.

    Join me on P2PHub, {name} invites you! [I have earned {earnings} so far.] {link}

- `{name}`, `{link}`: always known (the member's display name, their link).
- `{earnings}`, `{referrals}`, `{community}`: figures from the member's real data. Each must sit
  inside an optional part in square brackets, which is left out when its figure is zero or
  unknown: a message never carries an invented or zero number.
- Anything else in braces, a stray brace or bracket, or nested brackets is refused with a
  message saying what to fix (the admin form shows it).
"""

import re

VARIABLES = ("name", "link", "earnings", "referrals", "community")
FIGURES = frozenset({"earnings", "referrals", "community"})
_TOKEN = re.compile(r"\{[^{}\[\]]*\}|[\[\]{}]|[^\[\]{}]+")
_SPACES = re.compile(r"[ \t]{2,}")
_SPACE_BEFORE_PUNCTUATION = re.compile(r"[ \t]+([.,!?;:)])")
_TRAILING_SPACES = re.compile(r"[ \t]+\n")
_LEADING_SPACES = re.compile(r"\n[ \t]+")
_BLANK_LINES = re.compile(r"\n{3,}")


class TemplateError(ValueError):
    pass


def _parse(body: str) -> list[tuple[bool, list[str]]]:
    """The body as parts: (optional, tokens). Raises TemplateError on anything malformed."""
    parts: list[tuple[bool, list[str]]] = [(False, [])]
    optional = False
    for token in _TOKEN.findall(body):
        if token == "[":
            if optional:
                raise TemplateError("Optional parts in [brackets] cannot be nested.")
            optional = True
            parts.append((True, []))
        elif token == "]":
            if not optional:
                raise TemplateError("A closing ] has no opening [.")
            optional = False
            parts.append((False, []))
        elif token in ("{", "}"):
            raise TemplateError("A brace { or } is not part of a variable: write variables as {name}.")
        elif token.startswith("{"):
            variable = token[1:-1]
            if variable not in VARIABLES:
                allowed = ", ".join(f"{{{name}}}" for name in VARIABLES)
                raise TemplateError(f"Unknown variable {token}: use only {allowed}.")
            if variable in FIGURES and not optional:
                raise TemplateError(
                    f"{token} must be inside an optional part in [square brackets], which is left out "
                    "when the member's figure is zero or unknown."
                )
            parts[-1][1].append(token)
        else:
            parts[-1][1].append(token)
    if optional:
        raise TemplateError("An opening [ is never closed.")
    return [part for part in parts if part[1]]


def template_validate(body: str) -> None:
    if not (body or "").strip():
        raise TemplateError("The message is empty.")
    _parse(body)


def template_render(body: str, values: dict[str, str | None]) -> str:
    """Fill a valid template. `values` maps every variable to its text, or None when the figure
    is zero or unknown (its optional part is then left out)."""
    pieces = []
    for optional, tokens in _parse(body):
        variables = [token[1:-1] for token in tokens if token.startswith("{")]
        if optional and any(values.get(variable) is None for variable in variables):
            continue
        pieces.extend(
            (values.get(token[1:-1]) or "") if token.startswith("{") and len(token) > 1 else token for token in tokens
        )
    text = "".join(pieces)
    text = _SPACE_BEFORE_PUNCTUATION.sub(r"\1", _SPACES.sub(" ", text))
    text = _LEADING_SPACES.sub("\n", _TRAILING_SPACES.sub("\n", text))
    return _BLANK_LINES.sub("\n\n", text).strip()
