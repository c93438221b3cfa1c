"""The build engine run inside a long-lived process (the preview, `site-api build --watch`): no
interpreter to start and no imports to repeat for each rebuild; what it prints is what
`python -m <engine> build` prints.

A one-shot `site-api build` still runs the engine as a child process: one build, then exit, with
its memory returned to the system. The long-lived ones rebuild on every save, one build at a time
(their watch thread), so they run the same build here and keep the engine, our hook's imports,
the build records (`parse_cache`, `incremental`) and Python itself warm.
"""

from __future__ import annotations

import gc
import importlib
import logging
import os
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from site_api.config import BuildEngineName
from site_api.content.incremental import deferring_writes

#: One build at a time: the hook keeps its state in its module, and the environment is shared.
_lock = threading.Lock()


@dataclass(frozen=True)
class EngineRun:
    """What a build said and how it ended, as a child process's exit status and stderr; and,
    for a build run here, the writes of its records' files, to run once it is published
    (`incremental.deferring_writes`)."""

    returncode: int
    stderr: str
    after: tuple[Callable[[], None], ...] = ()


class _Lines(logging.Handler):
    """MkDocs' own console format (`LEVEL   -  message`), into a list."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(f"{record.levelname:<8}-  {record.getMessage()}\n")


@contextmanager
def _environment(changes: Mapping[str, str | None]) -> Iterator[None]:
    """`changes` in os.environ for the build (None removes), then as they were."""
    before = {name: os.environ.get(name) for name in changes}
    try:
        _put(changes)
        yield
    finally:
        _put(before)


def _put(values: Mapping[str, str | None]) -> None:
    for name, value in values.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


def run_build(
    engine: BuildEngineName,
    config_file: str,
    site_dir: Path,
    env: Mapping[str, str | None],
    dirty: bool,
) -> EngineRun:
    """`<engine> build --strict -f config_file -d site_dir [--dirty]`, run here with `env`."""
    config_module = importlib.import_module(f"{engine}.config")
    build_module = importlib.import_module(f"{engine}.commands.build")
    exceptions = importlib.import_module(f"{engine}.exceptions")
    logger = logging.getLogger(engine)
    lines = _Lines()
    with _lock, _environment(env), deferring_writes() as writes, _fewer_collections():
        logger.addHandler(lines)
        level = logger.level
        logger.setLevel(logging.INFO)
        try:
            config = config_module.load_config(
                config_file=config_file, strict=True, site_dir=str(site_dir)
            )
            config.plugins.on_startup(command="build", dirty=dirty)
            try:
                build_module.build(config, dirty=dirty)
            finally:
                config.plugins.on_shutdown()
        except exceptions.Abort as exc:
            return EngineRun(1, "".join(lines.lines) + f"{exc.message}\n")
        except exceptions.MkDocsException as exc:  # the configuration: as the engine says it
            return EngineRun(1, "".join(lines.lines) + f"ERROR    -  {exc.message}\n")
        finally:
            logger.removeHandler(lines)
            logger.setLevel(level)
        return EngineRun(0, "".join(lines.lines), tuple(writes))


#: The cyclic collector's thresholds during a build run here (Python's default: 700, 10, 10).
BUILD_GC_THRESHOLDS = (100_000, 50, 100)


@contextmanager
def _fewer_collections() -> Iterator[None]:
    """Collect cycles rarely during a build: it makes millions of objects that live to its end
    (every page, file and record at 30,000 topics), and at the default thresholds the collector
    walked them thousands of times, 4-5 s of a publish. `settle` collects once, afterwards."""
    before = gc.get_threshold()
    gc.set_threshold(*BUILD_GC_THRESHOLDS)
    try:
        yield
    finally:
        gc.set_threshold(*before)


def settle() -> None:
    """After a long-lived process has published a build: collect its garbage once, then freeze
    what survives (the build records, the engine's modules) so the next build's collections
    scan only what that build makes.

    At 30,000 topics the records kept between builds are millions of objects, which the cyclic
    collector would otherwise walk again in each build. Called after the switch, so a reader
    never waits for it; `unfreeze` first, so anything frozen that has since become garbage is
    still freed."""
    gc.unfreeze()
    gc.collect()
    gc.freeze()
