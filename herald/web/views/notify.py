"""Pages: public subscription (sign-up, confirm, manage, one-click unsubscribe) and the desk's
campaigns, deliveries, customers, channels and subscribers. Thin: parse, call one action or
query, render. Desk pages carry the desk's one guard (``staff_required``,
``herald.accounts.guard``), which asks each route's permission (``channel.manage``
for changing a channel, admins only).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from herald.accounts import access
from herald.accounts.guard import acting_user, staff_required
from herald.core.clientip import client_ip
from herald.core.errors import HeraldError, ValidationError
from herald.core.mail import smtp_url, where_mail_goes
from herald.core.throttle import RateLimited
from herald.notify import actions, queries
from herald.notify.forms import ChannelForm, ChannelSubscriberForm, SubscribeForm
from herald.notify.models import Campaign, Channel, Customer, Delivery, Subscriber
from herald.web.errors import attempt


def _error_text(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return " ".join(exc.messages)
    return str(exc)


# ---------------------------------------------------------------- public


@never_cache
@require_http_methods(["GET", "POST"])
def subscribe(request: HttpRequest) -> HttpResponse:
    form = SubscribeForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            actions.do_subscribe(
                form.cleaned_data["email"],
                products=form.cleaned_data["products"],
                min_severity=form.cleaned_data["min_severity"],
                ip=client_ip(request),
            )
        except RateLimited as exc:
            form.add_error(None, str(exc))
            status = 429
        except ValidationError as exc:
            form.add_error(None, _error_text(exc))
        else:
            # The same page with or without a mail server: how the desk sends its mail
            # is not the visitor's business (the desk's own pages say where it is kept).
            return render(request, "notify/public/check_inbox.html")
    return render(request, "notify/public/subscribe.html", {"form": form}, status=status)


def _subscriber(token: str) -> Subscriber:
    try:
        return actions.access_subscriber_by_token(token)
    except HeraldError:
        raise Http404("unknown link") from None


@never_cache
@require_http_methods(["GET", "POST"])
def confirm(request: HttpRequest, token: str) -> HttpResponse:
    # GET only shows a button: mail scanners fetch links, and must not confirm.
    subscriber = _subscriber(token)
    if request.method == "POST":
        subscriber = actions.do_confirm_subscription(token)
        return HttpResponseRedirect(reverse("notify:manage", args=[token]) + "?confirmed=1")
    return render(request, "notify/public/confirm.html", {"subscriber": subscriber})


@never_cache
@require_http_methods(["GET", "POST"])
def manage(request: HttpRequest, token: str) -> HttpResponse:
    subscriber = _subscriber(token)
    initial = {
        "products": [p.slug for p in subscriber.products.all()],
        "min_severity": subscriber.min_severity,
    }
    form = SubscribeForm(request.POST or None, initial=initial, with_email=False)
    if request.method == "POST" and form.is_valid():
        actions.do_update_subscription(
            token,
            products=form.cleaned_data["products"],
            min_severity=form.cleaned_data["min_severity"],
        )
        return HttpResponseRedirect(reverse("notify:manage", args=[token]) + "?saved=1")
    return render(
        request,
        "notify/public/manage.html",
        {"subscriber": subscriber, "form": form, "token": token,
         "saved": "saved" in request.GET, "confirmed": "confirmed" in request.GET},
    )  # fmt: skip


@csrf_exempt  # RFC 8058: mail clients POST "List-Unsubscribe=One-Click" without a form token
@never_cache
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    subscriber = _subscriber(token)
    if request.method == "POST":
        # The token in the URL is the credential; the unguessable token is what
        # makes skipping CSRF safe, and unsubscribing is the only thing it does.
        subscriber = actions.do_unsubscribe(token)
        return render(request, "notify/public/unsubscribed.html", {"subscriber": subscriber})
    return render(request, "notify/public/unsubscribe.html", {"subscriber": subscriber})


# ---------------------------------------------------------------- desk


@staff_required
def campaign_list(request: HttpRequest) -> HttpResponse:
    campaigns = Campaign.objects.select_related("advisory")[:200]
    rows = [{"campaign": c, "progress": queries.progress(c.deliveries.all())} for c in campaigns]
    return render(request, "notify/desk/campaigns.html", {"rows": rows})


def _campaign(pk: str) -> Campaign:
    try:
        return queries.access_campaign_by_id(pk)
    except HeraldError:
        raise Http404("no such campaign") from None


@staff_required
def campaign_detail(request: HttpRequest, pk: str) -> HttpResponse:
    campaign = _campaign(pk)
    return render(
        request,
        "notify/desk/campaign.html",
        {
            "campaign": campaign,
            "progress": queries.progress(campaign.deliveries.all()),
            "rows": queries.campaign_rows(campaign),
        },
    )


CAMPAIGN_ACTIONS: dict[str, Callable[..., Any]] = {
    "approve": actions.do_approve_campaign,
    "send": actions.do_send_campaign,
    "refresh": actions.do_refresh_campaign,
}


@staff_required
@require_POST
def campaign_action(request: HttpRequest, pk: str, verb: str) -> HttpResponse:
    campaign = _campaign(pk)
    user = acting_user(request)
    try:
        if verb in CAMPAIGN_ACTIONS:
            CAMPAIGN_ACTIONS[verb](campaign, acting_user=user)
        elif verb == "edit":
            actions.do_edit_campaign(
                campaign,
                subject=request.POST.get("subject", ""),
                body=request.POST.get("body", ""),
                acting_user=user,
            )
        elif verb == "cancel":
            actions.do_cancel_campaign(
                campaign, reason=request.POST.get("reason", ""), acting_user=user
            )
        elif verb == "redrive":
            dead = campaign.deliveries.filter(status=Delivery.Status.DEAD)
            count = actions.do_redrive(dead, acting_user=user)
            messages.success(request, f"{count} dead delivery(ies) will be sent again.")
        else:
            raise Http404("unknown action")
    except (HeraldError, ValidationError) as exc:
        messages.error(request, _error_text(exc))
    return HttpResponseRedirect(reverse("notify:campaign", args=[campaign.pk]))


@staff_required
def delivery_list(request: HttpRequest) -> HttpResponse:
    # Every delivery, newest first, unless a status is asked: the counts above the
    # table then always describe rows the table can show.
    status = request.GET.get("status", "")
    if status not in Delivery.Status.values:
        status = ""
    queryset = Delivery.objects.select_related("message").order_by("-id")
    if status:
        queryset = queryset.filter(status=status)
    page = Paginator(queryset, 100).get_page(request.GET.get("page"))
    return render(
        request,
        "notify/desk/deliveries.html",
        {"page": page, "status": status, "statuses": Delivery.Status.choices,
         "progress": queries.progress(Delivery.objects.all()),
         # Without HERALD_SMTP_URL, "sent" e-mail went to the local outbox only.
         "mail_goes": where_mail_goes() if not smtp_url() else ""},
    )  # fmt: skip


@staff_required
def delivery_detail(request: HttpRequest, pk: int) -> HttpResponse:
    delivery = (
        Delivery.objects.select_related("message", "campaign", "customer", "channel")
        .filter(pk=pk)
        .first()
    )
    if delivery is None:
        raise Http404("no such delivery")
    return render(
        request,
        "notify/desk/delivery.html",
        {"delivery": delivery, "history": delivery.history.all()},
    )


@staff_required
@require_POST
def delivery_redrive(request: HttpRequest, pk: int) -> HttpResponse:
    count = actions.do_redrive([pk], acting_user=acting_user(request))
    messages.success(request, "Sent again." if count else "Nothing to re-drive.")
    return HttpResponseRedirect(reverse("notify:delivery", args=[pk]))


@staff_required
def customer_list(request: HttpRequest) -> HttpResponse:
    page = Paginator(Customer.objects.all(), 100).get_page(request.GET.get("page"))
    return render(request, "notify/desk/customers.html", {"page": page})


@staff_required
def customer_detail(request: HttpRequest, pk: str) -> HttpResponse:
    try:
        customer = queries.access_customer_by_id(pk)
    except HeraldError:
        raise Http404("no such customer") from None
    return render(
        request,
        "notify/desk/customer.html",
        {
            "customer": customer,
            "contacts": customer.contacts.all(),
            "deployments": customer.deployments.select_related("product"),
            "notices": queries.customer_notices(customer),
        },
    )


# ---------------------------------------------------------------- desk: channels


def _channel(pk: int) -> Channel:
    try:
        return queries.access_channel_by_id(pk)
    except HeraldError:
        raise Http404("no such channel") from None


@staff_required
def channel_list(request: HttpRequest) -> HttpResponse:
    page = Paginator(Channel.objects.all(), 100).get_page(request.GET.get("page"))
    return render(
        request,
        "notify/desk/channels.html",
        {"page": page, "rows": queries.channel_rows(list(page)),
         "can_manage": access.can(request.user, "channel.manage")},
    )  # fmt: skip


def _form_page(
    request: HttpRequest,
    form: forms.Form,
    template: str,
    act: Callable[[dict[str, Any]], Any],
    done: Callable[[Any], tuple[str, str]],
) -> HttpResponse:
    """A desk form that calls one action: shown (200), refused with its errors (400),
    or done, saying so and going to the page ``done`` names."""
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            outcome = attempt(form, lambda: act(form.cleaned_data))
            if outcome.value is not None:
                message, page = done(outcome.value)
                messages.success(request, message)
                return redirect(page)
            status = outcome.status
    return render(request, template, {"form": form}, status=status)


@staff_required
@require_http_methods(["GET", "POST"])
def channel_create(request: HttpRequest) -> HttpResponse:
    form = ChannelForm(request.POST or None)
    return _form_page(
        request,
        form,
        "notify/desk/channel_form.html",
        lambda data: actions.do_create_channel(
            name=data["name"],
            kind=data["kind"],
            config=form.config(),
            events=data["events"],
            internal=data["internal"],
            acting_user=acting_user(request),
        ),
        lambda channel: (f"Channel {channel.name} added.", "notify:channels"),
    )


@staff_required
@require_POST
def channel_action(request: HttpRequest, pk: int, verb: str) -> HttpResponse:
    channel = _channel(pk)
    user = acting_user(request)
    try:
        if verb == "enable":
            actions.do_set_channel_enabled(channel, enabled=True, acting_user=user)
            messages.success(request, f"{channel.name} is enabled.")
        elif verb == "disable":
            reason = request.POST.get("reason", "")
            actions.do_set_channel_enabled(channel, enabled=False, reason=reason, acting_user=user)
            messages.success(request, f"{channel.name} is disabled: it is told nothing now.")
        elif verb == "test":
            actions.check_channel_enabled(channel)
            actions.do_send_test_message(channel, acting_user=user)
            messages.success(
                request, f"A test message to {channel.name} is queued; see its last delivery."
            )
        else:
            raise Http404("unknown action")
    except (HeraldError, ValidationError) as exc:
        messages.error(request, _error_text(exc))
    return redirect("notify:channels")


# ---------------------------------------------------------------- desk: subscribers


@staff_required
def subscriber_list(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", "")
    if status not in Subscriber.Status.values:
        status = ""
    page = Paginator(queries.subscribers(status), 100).get_page(request.GET.get("page"))
    return render(
        request,
        "notify/desk/subscribers.html",
        {"page": page, "status": status, "statuses": Subscriber.Status.choices,
         "can_add": queries.subscribable_channels().exists()},
    )  # fmt: skip


@staff_required
@require_http_methods(["GET", "POST"])
def subscriber_add(request: HttpRequest) -> HttpResponse:
    form = ChannelSubscriberForm(request.POST or None)
    return _form_page(
        request,
        form,
        "notify/desk/subscriber_form.html",
        lambda data: actions.do_add_channel_subscriber(
            data["channel"],
            products=data["products"],
            min_severity=data["min_severity"],
            acting_user=acting_user(request),
        ),
        lambda subscriber: (f"{subscriber.channel.name} is subscribed.", "notify:subscribers"),
    )


@staff_required
@require_POST
def subscriber_remove(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        subscriber = queries.access_subscriber_by_id(pk)
    except HeraldError:
        raise Http404("no such subscriber") from None
    try:
        actions.do_remove_subscriber(subscriber, acting_user=acting_user(request))
    except HeraldError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"{subscriber} is unsubscribed.")
    status = request.POST.get("status", "")
    query = f"?status={status}" if status in Subscriber.Status.values else ""
    return HttpResponseRedirect(reverse("notify:subscribers") + query)
