"""Whatever goes wrong under /api/, the client gets JSON ``{"detail": …}``, never HTML."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse


class ApiJsonErrorsMiddleware:
    """Turns non-JSON error responses on API paths (405 from routing, CSRF, …) into JSON."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (
            request.path.startswith("/api/")
            and response.status_code >= 400
            and not response.get("Content-Type", "").startswith("application/json")
        ):
            reason = response.reason_phrase or "Error"
            converted = JsonResponse(
                {"detail": f"{reason.capitalize()}."}, status=response.status_code
            )
            for header in ("Allow", "WWW-Authenticate", "X-Request-ID"):
                if header in response:
                    converted[header] = response[header]
            return converted
        return response
