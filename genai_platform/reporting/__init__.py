"""HTML reports: Jinja2 templates (autoescape on: generated text is untrusted)."""

from __future__ import annotations

from jinja2 import Environment, PackageLoader, StrictUndefined


def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("genai_platform.reporting", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["num"] = lambda v, digits=4: "—" if v is None else f"{v:.{digits}g}"
    return env


def render(template: str, **context) -> str:
    return environment().get_template(template).render(**context)
