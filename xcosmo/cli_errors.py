"""How the ``xcosmo`` command line reports what goes wrong: the click group that runs every subcommand.

* a refusal (``ValueError``, ``TypeError``, a missing or unwritable file, a traced check failing at run time, or
  click's own usage errors) is one line ``error: ...`` and exit status 2, without a traceback
  (``XCOSMO_TRACEBACK=1`` shows it);
* any other operating-system error (a full disk, a vanished mount) is one ``error:`` line and exit status 1;
* Ctrl-C is one line and exit status 130;
* warnings are printed as ``warning: ...`` lines (a command run with ``-q`` silences them).
"""

from __future__ import annotations

import logging
import os
import sys
import warnings

import typer
from typer.core import TyperGroup

try:  # typer >= 0.2x carries its own copy of click
    from typer._click import exceptions as click_errors
except ImportError:  # pragma: no cover - older typer on click
    from click import exceptions as click_errors

__all__ = ["RefusalsGroup", "fail"]


def fail(err: Exception) -> None:
    """Report ``err`` as one ``error:`` line and exit with status 2."""
    typer.secho(f"error: {err}", err=True, fg=typer.colors.RED)
    raise typer.Exit(code=2)


class RefusalsGroup(TyperGroup):
    """Runs a subcommand with xcosmo's error reporting (module docstring)."""

    def main(self, *args, standalone_mode: bool = True, **kwargs):
        if not standalone_mode:
            return super().main(*args, standalone_mode=False, **kwargs)
        try:
            code = super().main(*args, standalone_mode=False, **kwargs)
        except click_errors.NoArgsIsHelpError as err:
            typer.echo(err.ctx.get_help() if err.ctx else err.format_message())
            sys.exit(0)
        except click_errors.UsageError as err:  # an unknown flag, a value of the wrong type: click's refusals
            if err.ctx is not None:
                typer.echo(err.ctx.get_usage(), err=True)
            typer.secho(f"error: {err.format_message()}", err=True, fg=typer.colors.RED)
            sys.exit(2)
        except typer.Abort:
            sys.exit(130)
        sys.exit(code if isinstance(code, int) else 0)

    def invoke(self, ctx):
        with warnings.catch_warnings():
            warnings.showwarning = _show_warning
            try:
                return super().invoke(ctx)
            except KeyboardInterrupt:
                typer.echo("interrupted (Ctrl-C): the output folder keeps what it held before", err=True)
                raise typer.Exit(code=130) from None
            except (ValueError, TypeError, FileNotFoundError, PermissionError, IsADirectoryError, NotADirectoryError,
                    _runtime_error()) as err:  # fmt: skip
                if os.environ.get("XCOSMO_TRACEBACK") == "1":
                    raise
                fail(err)
            except OSError as err:  # a full disk, a vanished mount: not a refusal, but no traceback either
                if os.environ.get("XCOSMO_TRACEBACK") == "1":
                    raise
                where = f" ({err.filename})" if err.filename else ""
                typer.secho(f"error: {err.strerror or err}{where}", err=True, fg=typer.colors.RED)
                raise typer.Exit(code=1) from None
            finally:
                logging.disable(logging.NOTSET)


def _runtime_error() -> type[Exception]:
    """Checks of traced values raise this when the compiled function runs (:func:`xcosmo.checks.in_range`)."""
    import equinox as eqx

    return eqx.EquinoxRuntimeError


def _show_warning(message, category, filename, lineno, file=None, line=None):
    typer.secho(f"warning: {message}", err=True, fg=typer.colors.YELLOW)
