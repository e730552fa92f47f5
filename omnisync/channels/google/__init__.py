"""Google Merchant Center primary feed (channels.md §1): RSS 2.0 or TSV."""

from omnisync.channels.google.channel import GoogleMerchant, GoogleMerchantConfig

__all__ = ["GoogleMerchant", "GoogleMerchantConfig"]
