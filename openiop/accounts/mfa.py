"""TOTP enrolment and recovery codes on top of django-otp."""

from __future__ import annotations

import secrets
from base64 import b32encode
from typing import TYPE_CHECKING

import qrcode
import qrcode.image.svg
from django.conf import settings
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

if TYPE_CHECKING:
    from openiop.accounts.models import User

RECOVERY_CODE_COUNT = 10
RECOVERY_DEVICE_NAME = "Recovery codes"


def has_confirmed_totp(user: User) -> bool:
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def pending_totp_device(user: User) -> TOTPDevice:
    """The unconfirmed device being enrolled, created on first call, kept across reloads."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-id").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=False)
    return device


def secret_for_display(device: TOTPDevice) -> str:
    """The base32 secret for typing into an app by hand, in groups of four."""
    raw = b32encode(device.bin_key).decode().rstrip("=")
    return " ".join(raw[i : i + 4] for i in range(0, len(raw), 4))


def provisioning_qr_svg(device: TOTPDevice) -> str:
    """An inline SVG QR code of the otpauth:// URI (no image library, no third-party service)."""
    # django-otp builds the URI with the issuer from OTP_TOTP_ISSUER.
    image = qrcode.make(device.config_url, image_factory=qrcode.image.svg.SvgPathImage, box_size=8)
    svg = image.to_string(encoding="unicode")
    return svg.replace("<svg ", '<svg role="img" aria-label="QR code for your authenticator" ', 1)


def generate_recovery_codes(user: User) -> list[str]:
    """Replace the user's recovery codes with fresh ones; each works once."""
    device, _ = StaticDevice.objects.get_or_create(
        user=user, name=RECOVERY_DEVICE_NAME, defaults={"confirmed": True}
    )
    device.token_set.all().delete()
    codes = [f"{secrets.token_hex(3)}-{secrets.token_hex(3)}" for _ in range(RECOVERY_CODE_COUNT)]
    StaticToken.objects.bulk_create(StaticToken(device=device, token=code) for code in codes)
    return codes


def remaining_recovery_codes(user: User) -> int:
    return StaticToken.objects.filter(device__user=user, device__confirmed=True).count()


def verify_second_factor(user: User, code: str) -> TOTPDevice | StaticDevice | None:
    """The device that accepts ``code`` (a 6-digit TOTP or a recovery code), or None.

    django-otp throttles repeated failures per device, so guessing is slowed down.
    """
    code = code.strip().replace(" ", "").lower()
    if not code:
        return None
    if code.isdigit():
        for device in TOTPDevice.objects.filter(user=user, confirmed=True):
            if device.verify_is_allowed()[0] and device.verify_token(code):
                return device
        return None
    for device in StaticDevice.objects.filter(user=user, confirmed=True):
        if device.verify_token(code):
            return device
    return None


def issuer() -> str:
    return settings.OTP_TOTP_ISSUER
