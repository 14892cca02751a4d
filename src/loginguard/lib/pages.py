"""What every kind of page action shares: an action URL that answers GET by going to its
page (never a bare 405), and the one "are you sure?" page before something is destroyed
(works without JavaScript and by keyboard: its one form's confirm button has the focus)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

View = Callable[..., HttpResponse]


def post_or_redirect(page_url: Callable[..., str]) -> Callable[[View], View]:
    """A POST action whose URL, asked for with GET or HEAD, redirects to
    ``page_url(request, *args, **kwargs)``: the page with its form, whose own guards run
    there."""
    def decorate(view: View) -> View:
        @require_http_methods(["GET", "HEAD", "POST"])
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if request.method != "POST":
                return redirect(page_url(request, *args, **kwargs))
            return view(request, *args, **kwargs)
        wrapped.__name__ = view.__name__
        return wrapped
    return decorate


def confirm_page(request: HttpRequest, *, title: str, question: str, label: str,
                 cancel_url: str, consequence: str = "") -> HttpResponse:
    """The confirmation whose form POSTs to this same URL."""
    return render(request, "confirm.html", {
        "title": title, "question": question, "consequence": consequence,
        "confirm_label": label, "action": request.path, "cancel_url": cancel_url})
