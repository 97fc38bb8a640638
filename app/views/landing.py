"""Where a screen lands after saving a new row: the row's own page (FAB goes back to the previous page, which
after a direct link to the add form is the home page)."""

from __future__ import annotations

from flask import g, redirect, url_for


class LandOnNewRowMixin:
    """``added_endpoint``: the method of the view showing the new row (called with ``pk``)."""

    added_endpoint = "show"

    def post_add(self, item):
        super().post_add(item)
        g.asxh_added_pk = self.datamodel.get_pk_value(item)

    def post_add_redirect(self):
        pk = g.pop("asxh_added_pk", None)
        if pk is None:
            return super().post_add_redirect()
        return redirect(url_for(f".{self.added_endpoint}", pk=pk))
