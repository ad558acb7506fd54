"""The JSON API under /api/v1. Every error is JSON ``{"detail": …}`` with a 4xx status."""

from __future__ import annotations

import logging

from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError

from openiop.accounts.access import ApiPermissionDenied
from openiop.api.auth import BearerToken
from openiop.api.routes_accounts import router as accounts_router
from openiop.api.routes_alerts import router as alerts_router
from openiop.api.routes_audit import router as audit_router
from openiop.api.routes_documents import router as documents_router
from openiop.api.routes_enrollments import router as enrollments_router
from openiop.api.routes_hours import router as hours_router
from openiop.api.routes_measures import router as measures_router
from openiop.api.routes_medications import router as medications_router
from openiop.api.routes_notes import router as notes_router
from openiop.api.routes_outcomes import router as outcomes_router
from openiop.api.routes_patients import router as patients_router
from openiop.api.routes_placement import router as placement_router
from openiop.api.routes_plans import router as plans_router
from openiop.api.routes_programs import router as programs_router
from openiop.api.routes_reviews import router as reviews_router
from openiop.api.routes_scheduling import router as scheduling_router
from openiop.api.routes_screening import router as screening_router

logger = logging.getLogger(__name__)

api = NinjaAPI(
    title="OpenIOP API",
    version="1",
    description=(
        "Intensive outpatient program data. Authenticate with `Authorization: Bearer <token>`;"
        " create a token on your profile page or with `openiop token USERNAME`."
    ),
    auth=BearerToken(),
    urls_namespace="api-v1",
)


@api.exception_handler(AuthenticationError)
def on_unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    response = api.create_response(
        request, {"detail": "Missing, malformed or revoked bearer token."}, status=401
    )
    response["WWW-Authenticate"] = 'Bearer realm="openiop"'
    return response


@api.exception_handler(ApiPermissionDenied)
def on_denied(request: HttpRequest, exc: ApiPermissionDenied) -> HttpResponse:
    return api.create_response(request, {"detail": exc.detail}, status=403)


@api.exception_handler(Http404)
def on_not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return api.create_response(request, {"detail": "Not found."}, status=404)


@api.exception_handler(ValidationError)
def on_invalid(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    errors = [
        {
            "field": ".".join(str(part) for part in err.get("loc", []) if part not in ("body",)),
            "message": err.get("msg", "invalid"),
            "type": err.get("type", ""),
        }
        for err in exc.errors
    ]
    return api.create_response(request, {"detail": errors}, status=422)


@api.exception_handler(HttpError)
def on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    return api.create_response(request, {"detail": exc.message}, status=exc.status_code)


@api.exception_handler(Exception)
def on_crash(request: HttpRequest, exc: Exception) -> HttpResponse:
    # A 500 is always a bug; log it with the request id and answer JSON, never an HTML page.
    logger.exception("API error (request %s)", getattr(request, "request_id", "-"))
    return api.create_response(
        request,
        {"detail": "Internal error.", "request_id": getattr(request, "request_id", "")},
        status=500,
    )


api.add_router("", accounts_router)
api.add_router("", audit_router)
api.add_router("", patients_router)
api.add_router("", programs_router)
api.add_router("", scheduling_router)
api.add_router("", enrollments_router)
api.add_router("", hours_router)
api.add_router("", notes_router)
api.add_router("", plans_router)
api.add_router("", documents_router)
api.add_router("", screening_router)
api.add_router("", medications_router)
api.add_router("", measures_router)
api.add_router("", placement_router)
api.add_router("", reviews_router)
api.add_router("", alerts_router)
api.add_router("", outcomes_router)


def not_found(request: HttpRequest, rest: str = "") -> JsonResponse:
    """Unknown paths under /api/ answer JSON 404 too."""
    return JsonResponse({"detail": "Not found."}, status=404)
