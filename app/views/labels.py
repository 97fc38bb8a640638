"""Labels of stored codes on the web: ``app/services/labels.py`` translated with the request's locale."""

from flask_babel import gettext

from app.services import labels as _labels


def label(code_set: str, code) -> str:
    """The translated label of ``code`` in ``code_set`` (see ``app/services/labels.CODE_SETS``)."""
    return _labels.label(code_set, code, gettext)


def labels(code_set: str) -> dict:
    """code → translated label, for templates and form choices."""
    return _labels.labels(code_set, gettext)
