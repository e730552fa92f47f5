"""``omnisync exchange serve``: 1C's exchange endpoint for orders (commerceml/exchange.py)."""

from __future__ import annotations

from typing import Annotated

import typer

from omnisync.cli_common import ConfigOpt, DebugOpt, LogFormatOpt, guard
from omnisync.config import load_config
from omnisync.errors import ConfigError

exchange_app = typer.Typer(help="1C's exchange with a web shop, for orders.", no_args_is_help=True)


@exchange_app.command("serve")
def serve(
    config: ConfigOpt,
    host: Annotated[
        str, typer.Option("--host", help="Address to listen on (put TLS in front beyond it).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="0: any free port.")] = 8780,
    debug: DebugOpt = False,
    log_format: LogFormatOpt = None,
) -> None:
    """Serve 1C's exchange protocol for orders (type=sale: checkauth, init, query, success)
    until interrupted: 1C pulls the stored orders, each marked exported once 1C confirms."""
    from omnisync.commerceml.exchange import serve, server  # loaded only when serving

    with guard(debug, log_format):
        settings = load_config(config)
        if settings.exports.exchange is None:
            raise ConfigError(str(config), [(
                "exports.exchange",
                "set user and password: env:NAME, as 1C's exchange settings hold them",
            )])  # fmt: skip
        # Secrets are read when used (secrets.EnvSecret): read the password now, so an unset
        # variable exits 2 here instead of failing every 1C request later.
        settings.exports.exchange.password.get_secret_value()
        httpd = server(settings, host, port)
        typer.echo(f"omnisync exchange for 1C on http://{host}:{httpd.server_port}/ (Ctrl-C stops)")
        serve(httpd)
