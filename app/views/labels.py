"""Vietnamese labels (through Babel) for the codes stored in the database."""
from flask_babel import lazy_gettext as _l

CATEGORY_LABELS = {
    "BTXH": _l("Social assistance"), "NCC": _l("Meritorious service"), "HN": _l("Poor household"),
    "HCN": _l("Near-poor household"), "KHAC": _l("Other"),
}
MATCH_LABELS = {
    "pending": _l("To be matched"), "matched": _l("Matched"), "mismatch": _l("Mismatch"),
    "not_found": _l("Not found"), "deceased": _l("Deceased"), "moved": _l("Moved away"),
    "possible_duplicate": _l("Possible duplicate"), "needs_review": _l("Needs review"),
}
SEX_LABELS = {"M": _l("Male"), "F": _l("Female")}
BATCH_STATUS_LABELS = {
    "uploaded": _l("Waiting"), "parsing": _l("Reading file"), "parsed": _l("Ready to confirm"),
    "applying": _l("Applying"), "applied": _l("Applied"), "failed": _l("Failed"),
    "duplicate_file": _l("Same file already imported"),
}


def label(mapping, value):
    return mapping.get(value, value) if value is not None else ""
RUN_STATUS_LABELS = {"queued": _l("Waiting"), "running": _l("Running"), "done": _l("Done"), "failed": _l("Failed")}
