"""Pages: public subscription (sign-up, confirm, manage, one-click unsubscribe) and the desk's
campaigns, deliveries and customers. Thin: parse, call one action or query, render.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from herald.core.errors import HeraldError, ValidationError
from herald.core.models import Product
from herald.incidents.models import Severity
from herald.notify import actions, queries
from herald.notify.models import Campaign, Customer, Delivery, Subscriber

View = Callable[..., HttpResponse]


def staff_required(view: View) -> View:
    """Signed-in staff only; anonymous visitors go to the login page, others get 403."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not getattr(request.user, "is_staff", False):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return never_cache(login_required(wrapper))


def _user(request: HttpRequest) -> AbstractBaseUser:
    user = request.user
    if not isinstance(user, AbstractBaseUser):
        raise PermissionDenied
    return user


def _error_text(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return " ".join(exc.messages)
    return str(exc)


# ---------------------------------------------------------------- public


class SubscribeForm(forms.Form):
    email = forms.EmailField(max_length=254)
    products = forms.MultipleChoiceField(
        required=False, widget=forms.CheckboxSelectMultiple, help_text="None ticked: all."
    )
    min_severity = forms.ChoiceField(
        required=False,
        choices=[("", "Any severity"), *Severity.choices],
        label="Only advisories of at least",
    )

    def __init__(self, *args: Any, with_email: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        products = self.fields["products"]
        assert isinstance(products, forms.MultipleChoiceField)
        products.choices = [(p.slug, p.name) for p in Product.objects.all()]
        if not with_email:
            del self.fields["email"]


@never_cache
@require_http_methods(["GET", "POST"])
def subscribe(request: HttpRequest) -> HttpResponse:
    form = SubscribeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            actions.do_subscribe(
                form.cleaned_data["email"],
                products=form.cleaned_data["products"],
                min_severity=form.cleaned_data["min_severity"],
            )
        except ValidationError as exc:
            form.add_error(None, _error_text(exc))
        else:
            return render(request, "notify/public/check_inbox.html", status=200)
    return render(request, "notify/public/subscribe.html", {"form": form})


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
    user = _user(request)
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
    status = request.GET.get("status", Delivery.Status.DEAD)
    if status not in Delivery.Status.values:
        status = Delivery.Status.DEAD
    queryset = Delivery.objects.filter(status=status).select_related("message").order_by("-id")
    page = Paginator(queryset, 100).get_page(request.GET.get("page"))
    return render(
        request,
        "notify/desk/deliveries.html",
        {"page": page, "status": status, "statuses": Delivery.Status.choices,
         "progress": queries.progress(Delivery.objects.all())},
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
    count = actions.do_redrive([pk], acting_user=_user(request))
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
