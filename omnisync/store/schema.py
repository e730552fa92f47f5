"""Versioned migrations of the central store. Each entry moves the schema one version up; the
version lives in SQLite's ``user_version`` so a file always says what it holds.

Never edit a released migration: add the next one.
"""

from __future__ import annotations

MIGRATIONS: tuple[str, ...] = (
    # 1: catalogue snapshot, stock, push ledger, runs.
    """
    CREATE TABLE products (
        sku TEXT PRIMARY KEY,
        data TEXT NOT NULL,            -- the product as JSON (see store.catalog)
        updated_at TEXT NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE locations (
        code TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        type TEXT NOT NULL CHECK (type IN ('warehouse', 'store')),
        city TEXT NOT NULL DEFAULT '',
        address TEXT NOT NULL DEFAULT '',
        pickup INTEGER NOT NULL DEFAULT 0
    ) WITHOUT ROWID;
    CREATE TABLE stock (
        sku TEXT NOT NULL,
        location TEXT NOT NULL,
        on_hand INTEGER NOT NULL CHECK (on_hand >= 0),
        PRIMARY KEY (sku, location)
    ) WITHOUT ROWID;
    -- Units held by open orders (filled by order ingest); available = on_hand - reserved.
    CREATE TABLE reservations (
        channel TEXT NOT NULL,
        account TEXT NOT NULL,
        order_id TEXT NOT NULL,
        sku TEXT NOT NULL,
        location TEXT NOT NULL,
        quantity INTEGER NOT NULL CHECK (quantity > 0),
        PRIMARY KEY (channel, account, order_id, sku, location)
    ) WITHOUT ROWID;
    CREATE INDEX reservations_sku ON reservations (sku, location);
    CREATE TABLE push_ledger (
        channel TEXT NOT NULL,
        account TEXT NOT NULL,
        stream TEXT NOT NULL,          -- what is pushed: stock, price, product, …
        sku TEXT NOT NULL,
        desired_hash TEXT NOT NULL,
        acked_hash TEXT,               -- NULL until the channel accepted a version
        desired TEXT NOT NULL,         -- the payload last planned, as JSON (for retries)
        last_pushed_at TEXT,
        status TEXT NOT NULL,          -- pending, acked, failed, deferred, deleted
        error TEXT,
        PRIMARY KEY (channel, account, stream, sku)
    ) WITHOUT ROWID;
    CREATE TABLE runs (
        id INTEGER PRIMARY KEY,
        command TEXT NOT NULL,
        started_at TEXT NOT NULL,
        finished_at TEXT,
        exit_code INTEGER,
        counts TEXT NOT NULL DEFAULT '{}',
        error TEXT
    );
    """,
    # 2: orders pulled from the channels, their lines, pull cursors, SKU mapping.
    """
    CREATE TABLE orders (
        channel TEXT NOT NULL,
        account TEXT NOT NULL,
        external_id TEXT NOT NULL,
        code TEXT NOT NULL,
        status TEXT NOT NULL,          -- normalised: new, accepted, shipped, delivered, cancelled
        channel_status TEXT NOT NULL,  -- the channel's own status
        created_at TEXT NOT NULL,      -- UTC ISO 8601
        updated_at TEXT NOT NULL,      -- the channel's last change we know of (UTC)
        delivery_mode TEXT NOT NULL DEFAULT '',
        location TEXT,                 -- our location the order takes stock from
        pickup INTEGER NOT NULL DEFAULT 0,  -- the buyer collects it in that store
        customer TEXT NOT NULL DEFAULT '{}',
        total TEXT NOT NULL DEFAULT '0',
        flags TEXT NOT NULL DEFAULT '[]',   -- needs_attention, oversell
        acknowledged INTEGER NOT NULL DEFAULT 0,
        ingested_at TEXT NOT NULL,
        PRIMARY KEY (channel, account, external_id)
    ) WITHOUT ROWID;
    CREATE TABLE order_lines (
        channel TEXT NOT NULL,
        account TEXT NOT NULL,
        external_id TEXT NOT NULL,
        line INTEGER NOT NULL,
        channel_sku TEXT NOT NULL,
        sku TEXT,                      -- NULL when the channel's code maps to no product
        quantity INTEGER NOT NULL,
        unit_price TEXT NOT NULL,
        PRIMARY KEY (channel, account, external_id, line)
    ) WITHOUT ROWID;
    CREATE TABLE cursors (
        channel TEXT NOT NULL,
        account TEXT NOT NULL,
        stream TEXT NOT NULL,
        value TEXT NOT NULL,
        PRIMARY KEY (channel, account, stream)
    ) WITHOUT ROWID;
    CREATE TABLE sku_map (
        channel TEXT NOT NULL,
        channel_sku TEXT NOT NULL,
        sku TEXT NOT NULL,
        PRIMARY KEY (channel, channel_sku)
    ) WITHOUT ROWID;
    """,
    # 3: the outbox of order exports (NDJSON file, CommerceML orders.xml, webhook).
    """
    CREATE TABLE outbox (
        id INTEGER PRIMARY KEY,
        kind TEXT NOT NULL,              -- ndjson, commerceml, webhook
        channel TEXT NOT NULL,
        account TEXT NOT NULL,
        external_id TEXT NOT NULL,
        key TEXT NOT NULL UNIQUE,        -- the Idempotency-Key: one per order version and kind
        payload TEXT NOT NULL,
        created_at TEXT NOT NULL,
        sent_at TEXT,
        attempts INTEGER NOT NULL DEFAULT 0,
        error TEXT
    );
    CREATE INDEX outbox_unsent ON outbox (kind, sent_at);
    """,
    # 4: when we saw an order's status change (channels give no change time).
    """
    ALTER TABLE orders ADD COLUMN status_changed_at TEXT;
    UPDATE orders SET status_changed_at = ingested_at;
    """,
    # 5: the channel's own id of an order line's item (Ozon's product id, for ship calls).
    """
    ALTER TABLE order_lines ADD COLUMN channel_item TEXT NOT NULL DEFAULT '';
    """,
    # 6: run history per channel (what `status` and the metrics read) and problem counts.
    """
    ALTER TABLE runs ADD COLUMN problems TEXT NOT NULL DEFAULT '{}';  -- {code: count}
    ALTER TABLE runs ADD COLUMN duration_s REAL;
    CREATE TABLE run_channels (
        run_id INTEGER NOT NULL REFERENCES runs (id),
        channel TEXT NOT NULL,
        account TEXT NOT NULL DEFAULT '',
        kind TEXT NOT NULL,            -- push, pull, build
        ok INTEGER NOT NULL,           -- 1: everything delivered (or read), nothing deferred
        finished_at TEXT NOT NULL,
        counts TEXT NOT NULL DEFAULT '{}',
        PRIMARY KEY (run_id, channel, kind)
    ) WITHOUT ROWID;
    CREATE INDEX run_channels_last ON run_channels (channel, kind, ok, finished_at);
    """,
    # 7: a digest of what was stored of each order (lines, resolved SKUs, channel status…), so
    # a change the channel gives no newer time for (a partial cancel) is not lost.
    """
    ALTER TABLE orders ADD COLUMN digest TEXT;
    """,
    # 8: incremental planning (store/inputs.py): the SKU behind each ledger item, by its
    # fingerprint (omnisync_sku_fp, registered on every connection), indexed so a run reads
    # only the items of SKUs whose inputs changed; and what each channel account last saw of
    # every SKU's input rows.
    """
    ALTER TABLE push_ledger ADD COLUMN sku_fp INTEGER;
    UPDATE push_ledger
        SET sku_fp = omnisync_sku_fp(coalesce(json_extract(desired, '$.__sku'), sku));
    CREATE INDEX push_ledger_sku ON push_ledger (channel, account, sku_fp);
    CREATE INDEX push_ledger_status ON push_ledger (channel, account, status, last_pushed_at);
    CREATE TABLE push_inputs (
        channel TEXT NOT NULL,
        account TEXT NOT NULL,
        digest TEXT NOT NULL,          -- config, code version and file headers it holds for
        skus BLOB NOT NULL,            -- per SKU in file order: its fingerprint (int64)
        prints BLOB NOT NULL,          -- its input rows' print (uint64; 0: read it next run)
        counts BLOB NOT NULL,          -- items it gave (uint8; 255: the channel filtered it)
        ids BLOB NOT NULL,             -- fingerprint of its item id as the channel compares ids
        residue BLOB NOT NULL,         -- SKU fingerprints whose items need a look every run
        PRIMARY KEY (channel, account)
    ) WITHOUT ROWID;
    """,
    # 9: what a person must hear of an order (a line whose SKU matches no product, an oversell),
    # kept until a run that finished has reported it: a pull killed after storing a flagged order
    # would otherwise never report it, as the re-run finds the order unchanged.
    """
    CREATE TABLE order_alerts (
        channel TEXT NOT NULL,
        account TEXT NOT NULL,
        external_id TEXT NOT NULL,
        code TEXT NOT NULL,            -- the problem's code: unknown_sku, oversell
        sku TEXT NOT NULL,             -- the channel's SKU (unknown_sku), ours (oversell)
        raised_at TEXT NOT NULL,
        reported_at TEXT,              -- NULL until a finished run reported it
        PRIMARY KEY (channel, account, external_id, code, sku)
    ) WITHOUT ROWID;
    CREATE INDEX order_alerts_unreported ON order_alerts (channel, account, reported_at);
    """,
    # 10: an order holding units of a SKU the store has no stock for (a CSV catalogue: only an
    # imported one is in the store) waits here until the pull has compared it with the
    # catalogue's stock — set in the transaction that stores it, so a killed pull leaves it.
    """
    ALTER TABLE orders ADD COLUMN stock_unchecked INTEGER NOT NULL DEFAULT 0;
    """,
    # 11: push planning in the engine (issue 17): payloads hashed by XXH64 (ledger.hashes; the
    # hashes of acknowledged items are recomputed in Python after this script,
    # db.REHASH_AFTER), and the incremental planning's SKU fingerprints and memories dropped.
    """
    DROP INDEX push_ledger_sku;
    DROP INDEX push_ledger_status;
    ALTER TABLE push_ledger DROP COLUMN sku_fp;
    DROP TABLE push_inputs;
    """,
)
