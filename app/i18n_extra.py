"""Strings shown to users that the extractor cannot see (WTForms validators, FAB flash messages built at run time).

This module only holds markers: ``N_`` returns its argument unchanged and ``ngettext``
here is a local stand-in, so importing it has no effect. ``translations/i18n.py extract``
picks the strings up (keywords ``N_`` and ``ngettext:1,2``) so that they land in the
Vietnamese catalog: FAB's model forms translate plain errors with ``{{ _(error) }}``
(``appbuilder/general/lib.html``); messages with numbers (``%(min)d``) are formatted
before they reach a template, so they are only translated if WTForms itself is given
this catalog (see the Meta/``get_translations`` note in the catalog report).
Messages were copied verbatim from the installed wtforms 3.x, flask_wtf 1.x and
Flask-AppBuilder 5.x; keep them byte-identical to the library source.
"""


def N_(s):  # noqa: N802 - gettext marker convention
    return s


def ngettext(singular, plural, n=1):
    """Marker for WTForms' plural messages (``field.ngettext``): extracted as one plural entry."""
    return singular if n == 1 else plural


# wtforms/validators.py
WTFORMS_VALIDATOR_MESSAGES = [
    N_("Invalid field name '%s'."),
    N_("Field must be equal to %(other_name)s."),
    ngettext("Field must be at least %(min)d character long.", "Field must be at least %(min)d characters long."),
    ngettext("Field cannot be longer than %(max)d character.", "Field cannot be longer than %(max)d characters."),
    ngettext("Field must be exactly %(max)d character long.", "Field must be exactly %(max)d characters long."),
    N_("Field must be between %(min)d and %(max)d characters long."),
    N_("Number must be at least %(min)s."),
    N_("Number must be at most %(max)s."),
    N_("Number must be between %(min)s and %(max)s."),
    N_("Date must be at least %(min)s."),
    N_("Date must be at most %(max)s."),
    N_("Date must be between %(min)s and %(max)s."),
    N_("This field is required."),
    N_("Invalid input."),
    N_("Invalid email address."),
    N_("Invalid IP address."),
    N_("Invalid Mac address."),
    N_("Invalid URL."),
    N_("Invalid UUID."),
    N_("Invalid value, must be one of: %(values)s."),
    N_("Invalid value, can't be any of: %(values)s."),
    N_("This field cannot be edited."),
    N_("This field is disabled and cannot have a value."),
]

# wtforms/fields/*.py
WTFORMS_FIELD_MESSAGES = [
    N_("Invalid Choice: could not coerce."),
    N_("Choices cannot be None."),
    N_("Not a valid choice."),
    N_("Invalid choice(s): one or more data inputs could not be coerced."),
    ngettext("'%(value)s' is not a valid choice for this field.", "'%(value)s' are not valid choices for this field."),
    N_("Not a valid datetime value."),
    N_("Not a valid date value."),
    N_("Not a valid time value."),
    N_("Not a valid week value."),
    N_("Not a valid integer value."),
    N_("Not a valid decimal value."),
    N_("Not a valid float value."),
]

# wtforms/csrf/*.py
WTFORMS_CSRF_MESSAGES = [
    N_("Invalid CSRF Token."),
    N_("CSRF token missing."),
    N_("CSRF failed."),
    N_("CSRF token expired."),
]

# flask_wtf/csrf.py (raised as plain strings, no gettext) and flask_wtf/file.py
FLASK_WTF_MESSAGES = [
    N_("The CSRF token is missing."),
    N_("The CSRF session token is missing."),
    N_("The CSRF token has expired."),
    N_("The CSRF token is invalid."),
    N_("The CSRF tokens do not match."),
    N_("CSRF validation failed."),
    N_("File does not have an approved extension: {extensions}"),
    N_("File does not have an approved extension."),
]

# Flask-AppBuilder: validators and flash messages passed as plain strings
FAB_RUNTIME_MESSAGES = [
    N_("Already exists."),
    N_("Provider not supported."),
    N_("The request to sign in was denied."),
    N_("You denied the request to sign in."),
    N_("You are not authorized."),
    N_("Could not determine identity provider."),
]

# Flask-AppBuilder builds default view titles at run time ("List " / "Add " / "Edit " /
# "Show " + model name) without gettext; the bare words are kept translated for views
# and templates that pass them through ``_()``.
FAB_VIEW_WORDS = [
    N_("List"),
    N_("Add"),
    N_("Edit"),
    N_("Show"),
]
