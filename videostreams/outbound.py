"""The outbound policy: which addresses the server may reach for cameras and webhooks, checked before connecting.

A camera source or a webhook URL is attacker-controlled input for anyone holding an API key that may write
cameras or rules: unchecked, the camera reader and the webhook worker would probe the host itself
(`http://127.0.0.1:5432`), its cloud metadata service (`http://169.254.169.254/`) and its private network, and
report back through `last_error` and the delivery log. So every source and URL passes here, when saved and again
when used:

- schemes are allow-listed: cameras `rtsp`, `rtsps`, `http`, `https` or a local device index; webhooks `http`,
  `https`. Anything else (`file:`, `ftp:`, FFmpeg's `concat:`, ...) is refused.
- local video files only as absolute paths under `FACEAPP_VIDEO_FILE_ROOT` (unset: no files at all).
- every address the host name resolves to must be public (`ipaddress.is_global`) or inside an operator's
  allow-listed networks: `FACEAPP_CAMERA_ALLOWED_NETWORKS` (default: the RFC 1918 and ULA private ranges,
  where cameras live) and `FACEAPP_WEBHOOK_ALLOWED_NETWORKS` (default: none). Loopback, link-local (the metadata
  service), unspecified, multicast and reserved addresses are refused unless allow-listed explicitly.
- webhooks connect only to an address checked at that moment (`create_checked_connection`), so a name that
  resolves to a public address when the rule is saved and to 127.0.0.1 at delivery (DNS rebinding) is refused.

`OutboundRefused` messages say what was refused and which setting allows it; they never contain anything the
target sent back, since nothing was sent to it.
"""
from __future__ import annotations

import ipaddress
import os
import socket
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from django.conf import settings

CAMERA_SCHEMES = frozenset({"rtsp", "rtsps", "http", "https"})
WEBHOOK_SCHEMES = frozenset({"http", "https"})
DEFAULT_PORTS = {"http": 80, "https": 443, "rtsp": 554, "rtsps": 322}


class OutboundRefused(ValueError):
    """A destination the policy does not allow; the message is safe to show to any API key."""


@dataclass(frozen=True)
class Purpose:
    name: str  # "camera" or "webhook", as operators read it
    schemes: frozenset
    setting: str  # the allow-list setting that opens more networks

    def networks(self) -> list:
        return parse_networks(getattr(settings, self.setting))


CAMERA = Purpose("camera", CAMERA_SCHEMES, "FACEAPP_CAMERA_ALLOWED_NETWORKS")
WEBHOOK = Purpose("webhook", WEBHOOK_SCHEMES, "FACEAPP_WEBHOOK_ALLOWED_NETWORKS")


def parse_networks(value) -> list:
    """'10.0.0.0/8, fd00::/8' (or a list of such) → ip_network objects; a bad entry fails loudly at start-up."""
    items = value.split(",") if isinstance(value, str) else list(value or [])
    return [ipaddress.ip_network(item.strip(), strict=False) for item in items if str(item).strip()]


def _kind(address) -> str:
    """The kind of non-public address, in the words of the refusal."""
    for attribute, words in (("is_loopback", "a loopback"), ("is_link_local", "a link-local (cloud metadata)"),
                             ("is_unspecified", "an unspecified"), ("is_multicast", "a multicast"),
                             ("is_private", "a private"), ("is_reserved", "a reserved")):
        if getattr(address, attribute, False):
            return words
    return "a non-public"


def check_address(address, purpose: Purpose) -> None:
    """Refuse `address` (a string or ip_address) unless it is public or in the purpose's allow-list."""
    ip = ipaddress.ip_address(str(address).split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped  # ::ffff:127.0.0.1 is 127.0.0.1
    if any(ip in network for network in purpose.networks() if network.version == ip.version):
        return
    if ip.is_global and not ip.is_multicast:
        return
    raise OutboundRefused(
        f"{purpose.name} destination {ip} is {_kind(ip)} address; refused by the outbound policy "
        f"(an operator may allow its network in {purpose.setting})."
    )


def resolve(host: str, port: int) -> list[str]:
    """Every address `host` resolves to (an IP literal resolves to itself, without a lookup)."""
    try:
        return [str(ipaddress.ip_address(host.strip("[]")))]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise OutboundRefused(f"cannot resolve the host name {host!r}.") from exc
    return list(dict.fromkeys(info[4][0] for info in infos))


def check_host(host: str, port: int, purpose: Purpose) -> list[str]:
    """The host's addresses, all of them allowed (one refused address refuses the host: no mixing)."""
    addresses = resolve(host, port)
    for address in addresses:
        check_address(address, purpose)
    return addresses


def check_url(url: str, purpose: Purpose, *, resolve: bool = True) -> None:
    """Refuse a URL whose scheme or destination the policy does not allow. Without `resolve` (when a source or URL
    is saved) a host name is not looked up: only addresses written out, and `localhost`, are checked then; the name
    is checked when it is used (the node that saves a camera may not even resolve the camera's name)."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise OutboundRefused(f"{purpose.name} URL is malformed ({exc}).") from exc
    scheme = parts.scheme.lower()
    if scheme not in purpose.schemes:
        allowed = ", ".join(sorted(purpose.schemes))
        raise OutboundRefused(f"{purpose.name} URL scheme {scheme + ':' if scheme else '(none)'} is not allowed; use {allowed}.")
    if not parts.hostname:
        raise OutboundRefused(f"{purpose.name} URL has no host.")
    host = parts.hostname
    if resolve:
        check_host(host, port or DEFAULT_PORTS[scheme], purpose)
        return
    name = host.rstrip(".")
    if name == "localhost" or name.endswith(".localhost"):
        check_address("127.0.0.1", purpose)  # RFC 6761: always loopback, whatever DNS says
        return
    address = _literal_address(name)
    if address is not None:
        check_address(address, purpose)
    # else a name: checked when it is used


def _literal_address(host: str):
    """The address a host written as a number stands for, without DNS: also the legacy IPv4 forms resolvers accept
    (`2130706433`, `0x7f.1`, `127.1` are all 127.0.0.1)."""
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        pass
    try:
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except OSError:
        return None


def video_file_roots() -> list[Path]:
    value = getattr(settings, "FACEAPP_VIDEO_FILE_ROOT", "") or ""
    return [Path(item).resolve() for item in str(value).split(os.pathsep) if item.strip()]


def check_video_file(path: str) -> None:
    """Refuse a local file source unless it is an absolute path inside FACEAPP_VIDEO_FILE_ROOT."""
    roots = video_file_roots()
    if not roots:
        raise OutboundRefused("local video files are not allowed as camera sources (FACEAPP_VIDEO_FILE_ROOT is not set).")
    if not os.path.isabs(path):
        # FFmpeg reads 'concat:', 'subfile,,...' and other protocol prefixes in relative names.
        raise OutboundRefused("a video file source must be an absolute path.")
    real = Path(path).resolve()
    if not any(real == root or root in real.parents for root in roots):
        raise OutboundRefused("the video file is outside FACEAPP_VIDEO_FILE_ROOT.")


def check_camera_source(source: str, *, resolve: bool = True) -> None:
    """Refuse a camera source the policy does not allow: when it is saved (`resolve=False`: names are looked up when
    used), and before each time it is opened."""
    source = (source or "").strip()
    if source.isdigit():
        return  # a local capture device (/dev/videoN): no network
    if ":" in source.split("/", 1)[0] or "://" in source:
        check_url(source, CAMERA, resolve=resolve)  # any scheme-like prefix is a URL (file:, concat:, rtmp:, ...)
        return
    check_video_file(source)


def redact(source: str) -> str:
    """A source or URL without its password (`rtsp://user:***@host/...`), safe for the API, the UI and logs."""
    if "://" not in (source or ""):
        return source
    try:
        parts = urlsplit(source)
        password = parts.password
    except ValueError:
        return source.split("://", 1)[0] + "://***"  # malformed: show no part that might be a secret
    if password is None:
        return source
    netloc = f"{parts.username}:***@{parts.netloc.rsplit('@', 1)[1]}"
    return parts._replace(netloc=netloc).geturl()


def unredact(new: str, stored: str) -> str:
    """`new` with the stored password put back when a client sends the masked form it was given (a GET, edited,
    PUT back): the masked text must equal the stored source's masked form exactly; else `new` as sent."""
    if new and stored and "***" in new and redact(stored) == new and stored != new:
        return stored
    return new


def check_webhook_url(url: str, *, resolve: bool = True) -> None:
    check_url(url, WEBHOOK, resolve=resolve)


def create_checked_connection(address, timeout=socket._GLOBAL_DEFAULT_TIMEOUT, source_address=None, *, purpose=WEBHOOK):
    """`socket.create_connection`, but to an address checked now: the one resolved for this very connection."""
    host, port = address
    last_error: OSError | None = None
    for ip in check_host(host, port, purpose):
        try:
            return socket.create_connection((ip, port), timeout, source_address)
        except OSError as exc:
            last_error = exc
    raise last_error or OSError(f"cannot connect to {host}")
