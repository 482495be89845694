"""`reportbot web`: serve the web site in the foreground."""

from __future__ import annotations

import click

from bot.cli.root import Context, cli, pass_ctx

DEFAULT_LISTEN = "127.0.0.1:8025"  # [web] listen's default, for a config without [web]


@cli.command("web")
@click.option(
    "--listen",
    metavar="HOST:PORT",
    default=None,
    help=f"Where to listen (default: [web] listen of the config, else {DEFAULT_LISTEN}).",
)
@click.option(
    "--workers",
    type=click.IntRange(min=1, max=32),
    default=1,
    show_default=True,
    help="Server processes; the site keeps no state, so each serves any request.",
)
@pass_ctx
def web_cmd(ctx: Context, listen: str | None, workers: int) -> None:
    """Serve the web site: latest items, item pages, search, speakers, unsubscribe.

    Runs until SIGTERM or Ctrl-C. Put it behind a reverse proxy that terminates https;
    [web] public_url is the address readers use (docs/WEB.md).

    \b
    Example:
      reportbot web
      reportbot web --listen 0.0.0.0:8080 --workers 2
    """
    from bot import config as config_mod
    from bot.webapp.serve import serve_foreground

    cfg = ctx.config()
    chosen = listen or (cfg.web.listen if cfg.web is not None else DEFAULT_LISTEN)
    try:
        config_mod.listen_address(chosen)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--listen") from exc
    if cfg.web is not None:
        cfg.web.secret()  # a missing key is one line now, not a traceback in each worker
        if cfg.web.admin_password_hash_env:
            cfg.web.admin_password_hash()  # else every login would fail, with no reason given
    with ctx.archive() as archive:  # brings the schema up to date once, before the workers
        url = archive.url
    path, explicit = config_mod.config_path(ctx.config_path)
    serve_foreground(
        listen=chosen, workers=workers, config_path=str(path) if explicit else None, database=url
    )
