"""Channel limits and formats that no official source confirms (channels.md marks them
**unconfirmed**). They live here, in one place, so that a correction is a one-line change.
"""

from __future__ import annotations

# --- Kaspi.kz price list (channels.md §2.1, §2.5, §9.1) ---------------------------------------
KASPI_SKU_MAX = 64  # product-import schema allows 1-64 [KSP goods/q3223]
KASPI_SKU_SAFE_MAX = 20  # "<= 20 Latin letters and digits" quoted by third parties
KASPI_PREORDER_MAX_DAYS = 30  # third-party code caps pre-orders at 30 days
KASPI_DATE_FORMAT = "%Y-%m-%d %H:%M"  # generators write "2026-05-20 10:00"
# City ids as they appear in Kaspi docs and integrations; verify in the merchant cabinet.
KASPI_CITIES = {
    "750000000": "Алматы",
    "710000000": "Астана",
    "511010000": "Шымкент",
    "351010000": "Караганда",
}

# --- Satu.kz / Prom YML (channels.md §3.1, §3.3, §7) ------------------------------------------
SATU_NAME_MAX = 100  # Prom Excel import limit, third-party
SATU_DESCRIPTION_MAX = 12160  # Prom Excel import limit, third-party
YML_DATE_FORMAT = "%Y-%m-%d %H:%M"
SATU_API_BATCH = 100  # one public script sends batches of 100
SATU_API_REQUESTS_PER_MINUTE = 60  # Satu publishes no limit: be conservative, honour 429
YML_PICTURES_MAX = 10  # Yandex accepts up to 10 pictures per offer
# offer@available for goods out of stock. In YML "false" means made to order, delivery up to two
# months (yandex.com/support/partnermarket/elements/id-type-available.html): it must not mark
# what cannot be sold. No Satu/Prom page saying how their import reads out of stock was found;
# Prom-format feeds in public code write available="" for it (an OpenCart module's Prom export
# writes '' where its Yandex export writes 'false'; a Prom supplier feed in a test fixture marks
# a product without stock so). quantity_in_stock 0 is written with it. Unconfirmed.
SATU_OUT_OF_STOCK_AVAILABLE = ""

# --- Meta catalog (third-party summaries of Meta's catalog field reference) -----------------
META_ID_MAX = 100
META_TITLE_MAX = 200
META_DESCRIPTION_MAX = 9999
META_BRAND_MAX = 100
META_ADDITIONAL_IMAGES_MAX = 20
# Image types: none of Meta's own found; its catalog is held to Google's list (checks.IMAGE_TYPES)
