"""Desk pages of the local outbox: the mail Herald kept because no SMTP server is set."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from herald.accounts.guard import staff_required
from herald.core import mail
from herald.core.models import LocalMail


@staff_required
def outbox_list(request: HttpRequest) -> HttpResponse:
    page = Paginator(mail.outbox(), 50).get_page(request.GET.get("page"))
    return render(
        request,
        "web/desk/outbox_list.html",
        {"page": page, "where": mail.where_mail_goes(), "smtp": bool(mail.smtp_url())},
    )


def _kept(pk: int) -> LocalMail:
    kept = LocalMail.objects.filter(pk=pk).first()
    if kept is None:
        raise Http404("no such message")
    return kept


@staff_required
def outbox_message(request: HttpRequest, pk: int) -> HttpResponse:
    kept = _kept(pk)
    return render(
        request, "web/desk/outbox_message.html", {"mail": kept, "readable": mail.read(kept)}
    )


@staff_required
def outbox_raw(request: HttpRequest, pk: int) -> HttpResponse:
    """The message as SMTP would have carried it, for a mail program to open."""
    response = HttpResponse(bytes(_kept(pk).raw), content_type="message/rfc822")
    response["Content-Disposition"] = f'attachment; filename="herald-mail-{pk}.eml"'
    return response
