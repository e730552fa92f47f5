"""Ozon's push items as columns (``channels/ozon.py``, ``Ozon.push_items``): a stock item per
mapped warehouse and the price item, each payload in the canonical JSON the ledger hashes,
and the mask of the rows plain for the channel: a price in the account's currency (or none
named) and stock Ozon can take per warehouse. Any other row goes per item, where the channel
withholds the price with a warning or refuses the stock with an error.
"""

from __future__ import annotations

from omnisync.channels.ozon import Ozon
from omnisync.engine import pl
from omnisync.engine.items import PushRows
from omnisync.engine.products import amount, on_hand, on_sale, selling

USED = ("sku", "price", "sale_price", "currency", "quantity")


class OzonPushRows(PushRows):
    channel: Ozon
    kind = Ozon
    used = USED

    def plain(self) -> pl.Expr:
        c, config = self.cells, self.channel.config
        priced = c("currency").is_in(["", config.currency])
        if c.stock is not None:
            return priced
        # Stock without a stock file: the quantity column, which one warehouse alone can take.
        return priced & pl.lit(len(config.warehouses) == 1) & (c("quantity") != "")

    def items(self) -> list[tuple[str, pl.Expr, pl.Expr]]:
        c, sku = self.cells, self.cells("sku")
        found = []
        for location, warehouse in self.channel.config.warehouses.items():
            units = c.units_at(location) if c.stock is not None else on_hand(c, None)
            key = pl.concat_str([sku, pl.lit(f"@{warehouse}")])
            payload = _json(
                '{"offer_id":"', sku, '","stock":', units, f',"warehouse_id":{warehouse}}}'
            )
            found.append(("stock", key, payload))
        old = pl.when(on_sale(c)).then(amount(c("price"))).otherwise(pl.lit("0.00"))
        currency = self.channel.config.currency
        price = _json(
            f'{{"currency_code":"{currency}","offer_id":"', sku, '","old_price":"', old,
            '","price":"', amount(selling(c)), '"}',
        )  # fmt: skip
        found.append(("price", sku, price))
        return found


def _json(*parts: str | pl.Expr) -> pl.Expr:
    """The canonical JSON of a payload (keys sorted, no spaces): literal parts and values that
    need no escaping (a plain SKU, digits)."""
    return pl.concat_str([pl.lit(p) if isinstance(p, str) else p.cast(pl.String) for p in parts])
