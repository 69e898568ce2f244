"""The dashboard's HTML pages: creators, a creator, campaigns, flags, and the login form.

Pages are rendered by Jinja2 with autoescape on and charts drawn as inline SVG by
:mod:`collector.server.charts`: no script runs in the browser. Text a creator wrote (names,
handles, captions) may hold markup and right-to-left scripts; it is escaped, and isolated with
``dir="auto"`` / ``<bdi>`` so Arabic text keeps its direction without flipping the page.
"""

from __future__ import annotations

import hmac
import json
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode, urlsplit

from fastapi import APIRouter, FastAPI, Form, Query, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.exceptions import HTTPException as StarletteHTTPException

from collector.server import charts, data
from collector.server.auth import SESSION_COOKIE, session_value
from collector.server.campaigns import Band, bands
from collector.server.campaigns import detail as campaign_detail
from collector.server.i18n import LANGUAGES, Translator, negotiate
from collector.server.schemas import AccountSummary, FlagStatus, Tier
from collector.server.state import ServerState, State

__all__ = ["install_error_pages", "login_url", "router"]

router = APIRouter(include_in_schema=False)

TEMPLATES_DIR = Path(__file__).with_name("templates")
LANG_COOKIE = "lang"
#: The follower curve shows this much history.
CURVE_SPAN = timedelta(days=90)
#: Posts drawn in the engagement chart and listed under it.
CHART_POSTS = 40
LISTED_POSTS = 20

_env = Environment(
    loader=FileSystemLoader(TEMPLATES_DIR),
    # Every template is HTML: escape always, whatever the file's name.
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)


def _lang(request: Request) -> str:
    return negotiate(
        request.query_params.get("lang") or request.cookies.get(LANG_COOKIE),
        request.headers.get("accept-language"),
    )


def _render(
    request: Request, template: str, status_code: int = 200, **context: Any
) -> HTMLResponse:
    lang = _lang(request)
    t = Translator(lang)
    html = _env.get_template(template).render(
        t=t,
        lang=lang,
        languages=LANGUAGES,
        path=request.url.path,
        token_required=request.app.state.collector.token is not None,
        **context,
    )
    response = HTMLResponse(html, status_code=status_code)
    chosen = request.query_params.get("lang")
    if chosen in LANGUAGES:
        response.set_cookie(LANG_COOKIE, chosen, max_age=365 * 86400, samesite="lax")
    return response


def _local(target: str | None, default: str) -> str:
    """A redirect target only if it stays on this site (no open redirect)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target


def _same_origin(request: Request) -> bool:
    """Whether a form was posted from a page of this site (the CSRF check)."""
    source = request.headers.get("origin") or request.headers.get("referer")
    if not source or source == "null":
        return False
    return urlsplit(source).netloc == request.headers.get("host", "")


def login_url(request: Request) -> str:
    """The login form, returning to the page asked for."""
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return "/login?" + urlencode({"next": target})


def _evidence(evidence: dict[str, Any], t: Translator) -> list[tuple[str, str]]:
    shown = []
    for key, value in evidence.items():
        if isinstance(value, bool) or value is None:
            text = json.dumps(value)
        elif isinstance(value, int):
            text = t.number(value)
        elif isinstance(value, float):
            text = t.number(value, 4 if abs(value) < 1 else 2)
        elif isinstance(value, str):
            text = value
        else:
            text = json.dumps(value, ensure_ascii=False, default=str)
        shown.append((str(key), text))
    return shown


def _position(rate: float | None, band: Band | None) -> str | None:
    if rate is None or band is None:
        return None
    if rate < band.low:
        return "below the band"
    if rate > band.high:
        return "above the band"
    return "within the band"


def _account_section(
    state: ServerState, account: AccountSummary, tier_bands: dict[Tier, Band], t: Translator
) -> dict[str, Any]:
    now = state.clock()
    account_flags = data.flags(state.engine, account_ids=[account.id])
    spans = [
        charts.FlagSpan(
            f.window_start,
            f.window_end,
            f.severity,
            f"{f.kind} ({t(f.severity)}, {t(f.status)})" + (f": {f.summary}" if f.summary else ""),
        )
        for f in account_flags
        if f.status != "dismissed"
    ]
    posts = data.posts(state.engine, account.id, limit=CHART_POSTS)
    band = tier_bands.get(account.tier) if account.tier else None
    band_tuple = (band.low, band.median, band.high) if band else None
    name = f"{account.platform} @{account.handle}"
    return {
        "account": account,
        "flags": account_flags,
        "evidence": {f.id: _evidence(f.evidence, t) for f in account_flags},
        "posts": posts[:LISTED_POSTS],
        "charted_posts": len(posts),
        "band": band,
        "position": _position(account.engagement_rate_by_followers, band),
        "curve": charts.follower_curve(
            data.curve(state.engine, account.id, now - CURVE_SPAN, now),
            spans,
            t,
            label=f"{t('Follower curve')}: {name}",
        ),
        "bars": charts.engagement_bars(
            [
                charts.BarPoint(p.published_at, p.engagement_rate_by_followers, p.platform_post_id)
                for p in reversed(posts)
            ],
            band_tuple,
            t,
            label=f"{t('Engagement per post')}: {name}",
        ),
        "gauge": charts.band_gauge(
            account.engagement_rate_by_followers,
            band_tuple,
            t,
            label=f"{t('Engagement rate against the tier band')}: {name}",
        ),
    }


@router.get("/", response_class=HTMLResponse)
def creators_page(request: Request, state: State) -> HTMLResponse:
    """Every creator with tier, latest counts and open flags."""
    creators, others = data.directory(state.engine, state.clock())
    return _render(request, "creators.html", creators=creators, others=others)


@router.get("/creators/{creator_id}", response_class=HTMLResponse)
def creator_page(request: Request, creator_id: int, state: State) -> HTMLResponse:
    """One creator: each account's follower curve with flags, engagement and posts."""
    creator = data.creator(state.engine, creator_id, state.clock())
    if creator is None:
        raise StarletteHTTPException(404)
    t = Translator(_lang(request))
    tier_bands = bands(state.engine, state.clock())
    sections = [_account_section(state, a, tier_bands, t) for a in creator.accounts]
    return _render(request, "creator.html", creator=creator, sections=sections)


@router.get("/accounts/{account_id}", response_class=HTMLResponse)
def account_page(request: Request, account_id: int, state: State) -> HTMLResponse:
    """One account (for accounts no creator owns, such as imported ones)."""
    account = data.account(state.engine, account_id, state.clock())
    if account is None:
        raise StarletteHTTPException(404)
    t = Translator(_lang(request))
    tier_bands = bands(state.engine, state.clock())
    section = _account_section(state, account, tier_bands, t)
    return _render(request, "account.html", section=section)


@router.get("/campaigns", response_class=HTMLResponse)
def campaigns_page(request: Request, state: State) -> HTMLResponse:
    """Every campaign with its totals."""
    return _render(request, "campaigns.html", campaigns=data.campaigns(state.engine, state.clock()))


@router.get("/campaigns/{campaign_id}", response_class=HTMLResponse)
def campaign_page(request: Request, campaign_id: int, state: State) -> HTMLResponse:
    """One campaign: each creator's cost and returns, and the totals."""
    found = campaign_detail(state.engine, campaign_id, state.clock())
    if found is None:
        raise StarletteHTTPException(404)
    campaign, posts = found
    return _render(request, "campaign.html", campaign=campaign, posts=posts)


@router.get("/flags", response_class=HTMLResponse)
def flags_page(
    request: Request,
    state: State,
    status: Annotated[str, Query()] = "open",
) -> HTMLResponse:
    """Flags of one status (or all), with their evidence and the buttons to triage them."""
    chosen: FlagStatus | None = (
        status if status in ("open", "acknowledged", "dismissed") else None  # type: ignore[assignment]
    )
    found = data.flags(state.engine, status=chosen)
    t = Translator(_lang(request))
    return _render(
        request,
        "flags.html",
        flags=found,
        evidence={f.id: _evidence(f.evidence, t) for f in found},
        status=chosen or "all",
        here=request.url.path + (f"?{request.url.query}" if request.url.query else ""),
    )


@router.post("/flags/{flag_id}/status")
def set_flag_status(
    request: Request,
    flag_id: int,
    state: State,
    status: Annotated[str, Form()],
    next_page: Annotated[str | None, Form(alias="next")] = None,
) -> Response:
    """Acknowledge, dismiss or reopen a flag, then return to the page the form was on."""
    if not _same_origin(request):
        return _render(request, "error.html", 403, message="cross-site form refused")
    if status not in ("open", "acknowledged", "dismissed"):
        return _render(request, "error.html", 400, message="unknown status")
    if not data.set_flag_status(state.engine, flag_id, status, state.clock()):  # type: ignore[arg-type]
        raise StarletteHTTPException(404)
    return RedirectResponse(_local(next_page, "/flags"), status_code=303)


@router.get("/login", response_class=HTMLResponse)
def login_page(
    request: Request, next_page: Annotated[str | None, Query(alias="next")] = None
) -> HTMLResponse:
    """The form that trades the access token for a session cookie."""
    return _render(request, "login.html", next_page=_local(next_page, "/"), failed=False)


@router.post("/login")
def login(
    request: Request,
    state: State,
    token: Annotated[str, Form()],
    next_page: Annotated[str | None, Form(alias="next")] = None,
) -> Response:
    """Check the token; on success set the session cookie and go on."""
    target = _local(next_page, "/")
    if not _same_origin(request):
        return _render(request, "error.html", 403, message="cross-site form refused")
    if state.token is None:
        return RedirectResponse(target, status_code=303)
    if not hmac.compare_digest(token.encode(), state.token.encode()):
        return _render(request, "login.html", 401, next_page=target, failed=True)
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        session_value(state.token),
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return response


@router.post("/logout")
def logout(request: Request) -> Response:
    """Forget the session cookie."""
    if not _same_origin(request):
        return _render(request, "error.html", 403, message="cross-site form refused")
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


def install_error_pages(app: FastAPI) -> None:
    """HTML error pages for the dashboard; the API keeps FastAPI's JSON errors."""

    async def handler(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        path = request.url.path
        if path.startswith(("/api/", "/metrics", "/readyz", "/healthz", "/openapi.json")):
            return await http_exception_handler(request, exc)
        message = "Page not found." if exc.status_code == 404 else str(exc.detail)
        return _render(request, "error.html", exc.status_code, message=message)

    app.add_exception_handler(StarletteHTTPException, handler)
