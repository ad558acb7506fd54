from django.http import HttpRequest, JsonResponse
from django.urls import include, path, re_path
from django.views.decorators.http import require_GET

from openiop.api.api import api, not_found


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("api/v1/", api.urls),
    re_path(r"^api/(?P<rest>.*)$", not_found),
    path("", include("openiop.accounts.urls")),
    path("audit/", include("openiop.audit.urls")),
    path("", include("openiop.clinic.urls")),
    path("patients/", include("openiop.patients.urls")),
    path("setup/", include("openiop.programs.urls")),
    path("", include("openiop.scheduling.urls")),
    path("", include("openiop.scheduling.urls_enrollment")),
    path("", include("openiop.clinical.urls_group_notes")),
    path("", include("openiop.clinical.urls_notes")),
    path("", include("openiop.clinical.urls_plans")),
    path("", include("openiop.clinical.urls_documents")),
    path("", include("openiop.screening.urls_day")),
    path("", include("openiop.screening.urls_screens")),
    path("", include("openiop.screening.urls_settings")),
    path("", include("openiop.medications.urls")),
    path("", include("openiop.measures.urls_measures")),
    path("", include("openiop.measures.urls_placement")),
    path("", include("openiop.measures.urls_reviews")),
    path("", include("openiop.measures.urls_attention")),
    path("", include("openiop.measures.urls_outcomes")),
]

handler400 = "openiop.errors.bad_request"
handler403 = "openiop.errors.permission_denied"
handler404 = "openiop.errors.page_not_found"
handler500 = "openiop.errors.server_error"
