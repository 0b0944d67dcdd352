"""Pages of the intake: the public form, the reporter's private thread, and the desk.

Views are thin: parse, call one action or query, render. Every page works
without JavaScript. Desk pages carry the desk's one guard (``staff_required``,
``herald.accounts.guard``); the reporter's
page needs only the secret in its address, and shows no internal message.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import UploadedFile
from django.db.models import Count, Q
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache

from herald.accounts.guard import acting_user, staff_required
from herald.advisories.queries import access_advisory_by_identifier
from herald.core.clientip import client_ip
from herald.core.errors import HeraldError, ValidationError
from herald.core.requests import refused_body
from herald.core.throttle import RateLimited
from herald.incidents.queries import access_incident_by_identifier, open_incidents
from herald.intake import actions, conf, forms, queries
from herald.intake.actions import SpamTrap, Upload
from herald.intake.files import open_stored
from herald.intake.models import Report, Reward
from herald.publication import actions as publication


def read_uploads(files: list[UploadedFile]) -> list[Upload]:
    """Uploaded files as bytes, reading no more of each than it takes to see it is too big."""
    limit = conf.setting("HERALD_INTAKE_MAX_ATTACHMENT_BYTES")
    uploads: list[Upload] = []
    for upload in files[: conf.setting("HERALD_INTAKE_MAX_ATTACHMENTS") + 1]:
        data = upload.read(limit + 1)
        uploads.append((upload.name or "", upload.content_type or "", data))
    if len(files) > len(uploads):
        uploads.append(("", "", b""))  # counted, so the "too many" message shows
    return uploads


def _attach_errors(form: Any, exc: ValidationError) -> None:
    for field, errors in exc.message_dict.items():
        target = field if field in form.fields else None
        for error in errors:
            form.add_error(target, error)


# ---------------------------------------------------------------- public


@never_cache
def report_form(request: HttpRequest) -> HttpResponse:
    form = forms.ReportForm(request.POST or None, request.FILES or None)
    status = 200
    if refused_body(request):
        # Over a size or count limit: nothing of it was read, the form says why.
        form = forms.showing_refusal(forms.ReportForm(), refused_body(request))
        status = 413
    elif request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            report = actions.do_submit_report(
                source=Report.Source.WEB,
                email=data["email"],
                title=data["title"],
                body=data["body"],
                name=data["name"],
                handle=data["handle"],
                credit_as=data["credit_as"],
                credit_type=data["credit_type"],
                product_hint=data["product_hint"],
                attachments=read_uploads(request.FILES.getlist("attachments")),
                ip=client_ip(request),
                honeypot=data["website"],
            )
        except SpamTrap:
            return render(request, "intake/received.html", {"report": None})
        except RateLimited as exc:
            form.add_error(None, str(exc))
            status = 429
        except ValidationError as exc:
            _attach_errors(form, exc)
            status = 400
        else:
            return redirect("intake:thread", token=report.token)
    elif request.method == "POST":
        status = 400
    return render(request, "intake/report_form.html", {"form": form}, status=status)


@never_cache
def thread(request: HttpRequest, token: str) -> HttpResponse:
    try:
        report = queries.access_report_by_token(token)
    except HeraldError as exc:
        raise Http404(str(exc)) from None
    reply_form = forms.ReplyForm()
    credit_form = forms.CreditForm(
        initial={
            "credit_as": report.credit_as,
            "credit_type": report.credit_type,
            "name": report.credit_name,
            "handle": report.credit_handle,
        }
    )
    status = 200
    if refused_body(request):
        reply_form = forms.showing_refusal(reply_form, refused_body(request))
        status = 413
    elif request.method == "POST":
        action = request.POST.get("action", "")
        try:
            if action == "reply":
                reply_form = forms.ReplyForm(request.POST, request.FILES)
                if reply_form.is_valid():
                    actions.do_reporter_reply(
                        report,
                        body=reply_form.cleaned_data["body"],
                        via="web",
                        attachments=read_uploads(request.FILES.getlist("attachments")),
                    )
                    messages.success(request, "Your message was added.")
                    return redirect("intake:thread", token=token)
            elif action == "credit":
                credit_form = forms.CreditForm(request.POST)
                if credit_form.is_valid():
                    actions.do_set_credit(report, **credit_form.cleaned_data)
                    messages.success(request, "Your credit preference was saved.")
                    return redirect("intake:thread", token=token)
            elif action in ("reward_accept", "reward_decline"):
                reward = report.rewards.filter(pk=request.POST.get("reward") or 0).first()
                if reward is None:
                    raise HeraldError("No such reward.")
                actions.do_change_reward_status(
                    reward,
                    Reward.Status.ACCEPTED if action == "reward_accept" else Reward.Status.DECLINED,
                    acting_user=None,
                    by_reporter=True,
                )
                return redirect("intake:thread", token=token)
            else:
                raise HeraldError("Unknown action.")
        except RateLimited as exc:
            messages.error(request, str(exc))
            status = 429
        except ValidationError as exc:
            _attach_errors(reply_form if action == "reply" else credit_form, exc)
            status = 400
        except HeraldError as exc:
            messages.error(request, str(exc))
            status = 400
        else:
            status = 400
    context = {
        "report": report,
        "thread": queries.reporter_thread(report),
        "attachments": queries.reporter_attachments(report),
        "rewards": report.rewards.all(),
        "advisory_public": report.advisory is not None and report.advisory.is_public,
        "reply_form": reply_form,
        "credit_form": credit_form,
        "credit": actions.credit_for(report),
    }
    response = render(request, "intake/thread.html", context, status=status)
    # The address is the key to the page: keep it out of other origins' Referer headers
    # and out of search engines. Not "no-referrer": under it Chromium posts the page's
    # own forms with "Origin: null", which Django's CSRF check refuses (403).
    response["Referrer-Policy"] = "same-origin"
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


# ---------------------------------------------------------------- desk


@staff_required
def desk_reports(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        return _bulk(request)
    state = request.GET.get("state", "open")
    overdue = request.GET.get("overdue") == "1"
    mine = request.GET.get("mine") == "1"
    reports = queries.desk_reports(
        state=state if state in ("open", *Report.State.values) else "",
        overdue=overdue,
        assignee=acting_user(request) if mine else None,
        search=request.GET.get("q", "").strip()[:100],
    )[:500]
    counts = dict(
        Report.objects.values_list("state").annotate(n=Count("id")).values_list("state", "n")
    )
    return render(
        request,
        "intake/desk_list.html",
        {
            "reports": reports,
            "state": state,
            "overdue": overdue,
            "mine": mine,
            "q": request.GET.get("q", ""),
            "states": [(v, label, counts.get(v, 0)) for v, label in Report.State.choices],
            "overdue_count": queries.overdue_reports().count(),
        },
    )


def _bulk(request: HttpRequest) -> HttpResponse:
    ids = [i for i in request.POST.getlist("report") if i.isdigit()]
    if request.POST.get("action") != "spam" or not ids:
        messages.error(request, "Select reports, then choose an action.")
    else:
        done = actions.do_mark_spam(
            Report.objects.filter(pk__in=ids), acting_user=acting_user(request)
        )
        messages.success(request, f"{len(done)} report(s) marked as spam.")
    return redirect(request.get_full_path())


DESK_ACTIONS = (
    "reply",
    "note",
    "assign",
    "state",
    "duplicate",
    "assess",
    "accept",
    "exploited",
    "reward",
    "reward_status",
)


@staff_required
def desk_report(request: HttpRequest, tracking_id: str) -> HttpResponse:
    try:
        report = queries.access_report_for_staff(request.user, tracking_id)
    except HeraldError as exc:
        raise Http404(str(exc)) from None
    bound: dict[str, Any] = {}
    status = 200
    if request.method == "POST":
        action = request.POST.get("action", "")
        if action not in DESK_ACTIONS:
            messages.error(request, "Unknown action.")
            return redirect("intake:desk_report", tracking_id=report.tracking_id)
        try:
            done = _desk_action(request, report, action, bound)
        except ValidationError as exc:
            form = bound.get(action)
            if form is not None:
                _attach_errors(form, exc)
            messages.error(request, "; ".join(exc.messages))
            status = 400
        except HeraldError as exc:
            messages.error(request, str(exc))
            status = 400
        else:
            if done:
                messages.success(request, done)
                return redirect("intake:desk_report", tracking_id=report.tracking_id)
            status = 400
    user = acting_user(request)
    forms_ = {
        "reply": forms.StaffMessageForm(prefix="reply"),
        "note": forms.StaffMessageForm(prefix="note"),
        "assign": forms.AssignForm(initial={"assignee": report.assignee_id or ""}),
        "state": forms.StateForm(),
        "duplicate": forms.DuplicateForm(),
        "assess": forms.AssessForm(initial={"cvss_vector": report.cvss_vector}),
        "accept": forms.AcceptForm(),
        "exploited": forms.ExploitedForm(initial={"exploited_in_wild": report.exploited_in_wild}),
        "reward": forms.RewardForm(),
        **bound,
    }
    context = {
        "report": report,
        "thread": queries.desk_thread(report),
        "attachments": report.attachments.all(),
        "rewards": report.rewards.prefetch_related("events"),
        "forms": forms_,
        "open_incidents": open_incidents(),
        "credit": actions.credit_for(report),
        "me": user,
        "reward_statuses": Reward.Status.choices,
    }
    return render(request, "intake/desk_report.html", context, status=status)


def _desk_action(
    request: HttpRequest, report: Report, action: str, bound: dict[str, Any]
) -> str | None:
    """Run one desk action; the message to show, or None when its form is invalid."""
    user = acting_user(request)
    post = request.POST
    if action in ("reply", "note"):
        form: Any = forms.StaffMessageForm(post, prefix=action)
        bound[action] = form
        if not form.is_valid():
            return None
        if action == "reply":
            actions.do_reply_to_reporter(report, form.cleaned_data["body"], acting_user=user)
            return "Answer sent to the reporter."
        actions.do_add_note(report, form.cleaned_data["body"], acting_user=user)
        return "Internal note added."
    if action == "assign":
        form = forms.AssignForm(post)
        bound[action] = form
        if not form.is_valid():
            return None
        pk = form.cleaned_data["assignee"]
        assignee = get_user_model().objects.filter(pk=pk).first() if pk else None
        actions.do_assign_report(report, assignee, acting_user=user)
        return "Assignment saved."
    if action == "state":
        form = forms.StateForm(post)
        bound[action] = form
        if not form.is_valid():
            return None
        actions.do_change_state(
            report,
            form.cleaned_data["state"],
            acting_user=user,
            message=form.cleaned_data["message"],
        )
        return "Status changed."
    if action == "duplicate":
        form = forms.DuplicateForm(post)
        bound[action] = form
        if not form.is_valid():
            return None
        original = queries.access_report_for_staff(request.user, form.cleaned_data["of"])
        actions.do_mark_duplicate(
            report, original, acting_user=user, message=form.cleaned_data["message"]
        )
        return f"Marked as a duplicate of {original.tracking_id}."
    if action == "assess":
        form = forms.AssessForm(post)
        bound[action] = form
        if not form.is_valid():
            return None
        actions.do_assess_report(report, form.cleaned_data["cvss_vector"], acting_user=user)
        return "Assessment saved."
    if action == "accept":
        form = forms.AcceptForm(post)
        bound[action] = form
        if not form.is_valid():
            return None
        data = form.cleaned_data
        incident = access_incident_by_identifier(data["incident"]) if data["incident"] else None
        advisory = access_advisory_by_identifier(data["advisory"]) if data["advisory"] else None
        accepted = publication.do_accept_report(
            report,
            acting_user=user,
            incident=incident,
            advisory=advisory,
            declare_incident=incident is None and advisory is None and post.get("declare") == "1",
            exploited_in_wild=data["exploited_in_wild"],
            message=data["message"],
        )
        assert accepted.advisory is not None
        return f"Accepted; advisory {accepted.advisory.identifier}."
    if action == "exploited":
        form = forms.ExploitedForm(post)
        bound[action] = form
        if not form.is_valid():
            return None
        actions.do_set_exploited(report, form.cleaned_data["exploited_in_wild"], acting_user=user)
        return "Saved."
    if action == "reward":
        form = forms.RewardForm(post)
        bound[action] = form
        if not form.is_valid():
            return None
        actions.do_offer_reward(report, acting_user=user, **form.cleaned_data)
        return "Reward offered."
    form = forms.RewardStatusForm(post)
    if not form.is_valid():
        raise HeraldError("Choose a status.")
    reward = report.rewards.filter(pk=post.get("reward") or 0).first()
    if reward is None:
        raise HeraldError("No such reward.")
    actions.do_change_reward_status(
        reward, form.cleaned_data["status"], acting_user=user, note=form.cleaned_data["note"]
    )
    return "Reward updated."


@staff_required
def desk_attachment(request: HttpRequest, pk: int) -> HttpResponseBase:
    """Files are only ever downloads, with the type detected from their bytes."""
    try:
        attachment = queries.access_attachment_for_staff(request.user, pk)
        path = open_stored(attachment.path)
    except (HeraldError, FileNotFoundError):
        raise Http404("No such attachment.") from None
    response = FileResponse(
        path.open("rb"),
        as_attachment=True,
        filename=attachment.filename,
        content_type=attachment.detected_type or "application/octet-stream",
    )
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["X-Content-Type-Options"] = "nosniff"
    return response


@staff_required
def desk_rewards(request: HttpRequest) -> HttpResponse:
    return render(request, "intake/desk_rewards.html", {"rewards": queries.outstanding_rewards()})


@staff_required
def desk_mail(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        inbound = queries.access_inbound_for_staff(request.user, int(request.POST.get("id", 0)))
        try:
            actions.do_handle_inbound(
                inbound, acting_user=acting_user(request), note=request.POST.get("note", "")
            )
        except HeraldError as exc:
            messages.error(request, str(exc))
        return redirect("intake:desk_mail")
    return render(
        request,
        "intake/desk_mail.html",
        {
            "flagged": queries.flagged_mail(),
            "mailboxes": queries.mailboxes(),
            "undelivered": queries.undelivered_mail(),
            "failing": queries.mailboxes().filter(~Q(last_error="")),
        },
    )


@staff_required
def desk_raw_mail(request: HttpRequest, pk: int) -> HttpResponseBase:
    try:
        inbound = queries.access_inbound_for_staff(request.user, pk)
        path = open_stored(inbound.path)
    except (HeraldError, FileNotFoundError):
        raise Http404("No such message.") from None
    response = FileResponse(
        path.open("rb"),
        as_attachment=True,
        filename=f"message-{inbound.pk}.eml",
        content_type="message/rfc822",
    )
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response
