"""Pure checks that several channels share: GTIN check digits, URLs, simple HTML, prices."""

from __future__ import annotations

import re
from decimal import Decimal
from urllib.parse import SplitResult, quote, urlsplit, urlunsplit

GTIN_LENGTHS = frozenset({8, 12, 13, 14})


def normalize_gtin(raw: str) -> str:
    """Google ignores spaces and dashes in a GTIN [GMC 6324461]."""
    return raw.replace(" ", "").replace("-", "")


def gtin_problem(gtin: str) -> str | None:
    """Why ``gtin`` (normalized) is not a valid GTIN-8/12/13/14, or None when it is."""
    if not gtin.isdigit() or not gtin.isascii():
        return "must contain digits only"
    if len(gtin) not in GTIN_LENGTHS:
        return f"has {len(gtin)} digits; a GTIN has 8, 12, 13 or 14"
    if int(gtin[-1]) != gs1_check_digit(gtin[:-1]):
        return f"check digit should be {gs1_check_digit(gtin[:-1])} (GS1 mod 10)"
    return None


def gs1_check_digit(body: str) -> int:
    """GS1 mod-10: weights 3,1,3,… from the rightmost digit of the body."""
    digits = body[::-1]
    total = 3 * sum(map(int, digits[0::2])) + sum(map(int, digits[1::2]))
    return (10 - total % 10) % 10


# Scheme and a non-empty authority; checked with one regex because it runs per item per URL.
_ABSOLUTE_HTTP = re.compile(r"^https?://[^/?#\s]+", re.IGNORECASE)
_SPACE_OR_CONTROL = re.compile(r"[\s\x00-\x1f\x7f]")


# A user name or password before the host (RFC 3986 §3.2.1 userinfo): "https://user:pw@host",
# "https://token@host". The authority ends at the first / ? # (or \, which browsers read as /).
_USERINFO = re.compile(r"^(?:[a-z][a-z0-9+.-]*:)?//[^/?#\\]*@", re.IGNORECASE)
CREDENTIALS = (
    "has a user name or password before the host (https://user:…@host); a feed would publish "
    "it: remove it"
)  # never the URL itself: the password would be in the report


def url_credentials(url: str) -> bool:
    """Whether ``url`` carries a user name or password (which a feed would publish)."""
    return "@" in url and _USERINFO.match(url) is not None


def url_problem(url: str, max_length: int = 2000) -> str | None:
    """Why ``url`` is not an absolute http(s) URL Google accepts, or None."""
    if url_credentials(url):
        return CREDENTIALS
    if len(url) > max_length:
        return f"is {len(url)} characters; at most {max_length} allowed"
    if _SPACE_OR_CONTROL.search(url):
        return "contains spaces or control characters; encode spaces as %20"
    if not url.isascii():
        return "has a host name that cannot be IDNA-encoded"
    if not _ABSOLUTE_HTTP.match(url):
        return "must be an absolute http:// or https:// URL"
    if ("[" in url or "]" in url) and split_url(url) is None:
        return "has an unbalanced [ or ] in its host (an IPv6 address must be written [..])"
    return None


def ascii_url(url: str) -> str:
    """Percent-encode non-ASCII path/query characters and IDNA-encode the host (RFC 3986).

    A host that IDNA cannot encode is left as it is; ``url_problem`` then reports it.
    """
    if url.isascii():
        return url
    parts = split_url(url)
    if parts is None:
        return url
    safe = "/:@!$&'()*+,;=-._~%?#[]"
    return urlunsplit(
        (
            parts.scheme,
            _ascii_netloc(parts.netloc),
            quote(parts.path, safe=safe),
            quote(parts.query, safe=safe),
            quote(parts.fragment, safe=safe),
        )
    )


def _ascii_netloc(netloc: str) -> str:
    userinfo, at, hostport = netloc.rpartition("@")
    host, colon, port = hostport.partition(":")
    if host.isascii():
        return netloc
    try:
        host = host.encode("idna").decode("ascii")  # also lower-cases (nameprep)
    except UnicodeError:
        return netloc
    return f"{userinfo}{at}{host}{colon}{port}"


def split_url(url: str) -> SplitResult | None:
    """``urlsplit``, or None where it raises: an unbalanced ``[`` in the host ("Invalid IPv6
    URL") is catalogue data, not a bug; ``url_problem`` names what is wrong with it."""
    try:
        return urlsplit(url)
    except ValueError:
        return None


def url_extension(url: str) -> str:
    """Lower-case file extension of the URL's path, '' when it has none. The path is cut
    out by hand (as ``urlsplit`` cuts it from an absolute URL, at a tenth of the cost)."""
    if url.isprintable():
        rest = url.split("#", 1)[0].split("?", 1)[0]
        authority = rest.find("://")
        if authority >= 0:
            slash = rest.find("/", authority + 3)
            rest = rest[slash:] if slash >= 0 else ""
    else:  # urlsplit drops tabs and line breaks first, which changes where parts start
        parts = split_url(url)
        rest = parts.path if parts is not None else ""
    name = rest.rsplit("/", 1)[-1]
    return name.rsplit(".", 1)[-1].lower() if "." in name else ""


# Image files Google takes [GMC 6324350]. Meta, which lists no types of its own that we could
# confirm (limits.py), is held to the same list: a PDF or SVG image_link is refused by both.
IMAGE_TYPES = frozenset({"jpg", "jpeg", "webp", "png", "gif", "bmp", "tif", "tiff"})


def image_type_problem(url: str) -> str | None:
    """Why ``url`` does not name an image of an accepted type; None when it does, or when its
    path has no extension (a CDN route: the type is unknown, not wrong)."""
    extension = url_extension(url)
    if extension and extension not in IMAGE_TYPES:
        return f"is a .{extension} file; use JPEG, WebP, PNG, GIF, BMP or TIFF"
    return None


def brand_problem(gtin: str, brand: str) -> str | None:
    """Why an item needs a brand: without a GTIN, Google and Meta know it by its brand (+ MPN),
    and goods the merchant makes itself (handmade, custom) need one, the shop's name when they
    have none (support.google.com/merchants/answer/6324351; Meta: "gtin, or mpn plus brand",
    developers.facebook.com/docs/marketing-api/catalog/best-practices)."""
    if gtin or brand.strip():
        return None
    return (
        "no GTIN and no brand: goods without a GTIN (handmade, custom) need a brand; "
        "give the shop's name for goods it makes itself"
    )


def currency_mismatch(currency: str, accepted: str, where: str) -> str | None:
    """Why a price in ``currency`` cannot be published where prices are read as ``accepted``
    (``where``: "this YML declares only", "Kaspi prices are in"), or None when they agree. A
    price is never converted: 100 USD written into a tenge feed sells at 100 tenge. An empty
    currency is the channel's own."""
    if not currency or currency == accepted:
        return None
    return f"the row is in {currency}; {where} {accepted}, and prices are not converted"


def decimal_places(value: Decimal) -> int:
    """Places the value needs, not how it was written: 15990.000 needs 0."""
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent >= 0:
        return 0  # written without decimals: nothing to normalize
    exponent = value.normalize().as_tuple().exponent
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0
