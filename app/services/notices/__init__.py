"""Notices to beneficiaries (SMS): the outbox, its texts and its senders.

templates.py  the Vietnamese texts of every event (with a tone-stripped GSM-7 form), length and segments
outbox.py     notify / notify_results (one notice per person, event and reference), phone and opt-out,
              the spreadsheet hand-over, sending through a gateway
senders.py    the pluggable sender: none by default (export), an HTTP gateway when SMS_GATEWAY_URL is set

Other services call ``notify(session, event, beneficiary_id, reference=..., **params)`` in their own transaction.
"""

from app.services.notices.outbox import notify, notify_results

__all__ = ["notify", "notify_results"]
