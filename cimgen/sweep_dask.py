"""Running ``cimgen sweep``'s tasks on Dask: connecting to a scheduler, a bounded number
of tasks in flight, and a quiet, complete shutdown when the sweep is interrupted."""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import signal
import socket
import sys
import threading
import urllib.parse
from pathlib import Path

from .errors import InputError

CONNECT_TIMEOUT = 5.0
"""Seconds to wait for a ``--scheduler`` to answer (and for each step of a shutdown)."""
SCHEDULER_SCHEMES = ("tcp", "tls", "ws", "wss")
# Without a dashboard the scheduler still serves its HTTP routes (health, metrics) on
# port 8787 by default, and warns when another cluster holds it (two sweeps at once,
# parallel tests): a free port instead.
NO_FIXED_PORT = {"dashboard_address": ":0"}


def run_on_dask(task, todo: list[tuple], spec_dict: dict, network, record, client,
                workers: int, log: Path) -> None:
    """``record(task(spec_dict, *g, network))`` for every ``g`` in ``todo``, on ``client``
    or (if ``None``) on a new ``LocalCluster`` of ``workers`` processes, closed at the end,
    whose output goes to ``log``.

    A bounded number of tasks is in flight, so that a large grid neither floods the
    scheduler nor takes long to cancel; the network (if any) goes to every worker once.
    """
    from distributed import Client, LocalCluster, as_completed

    cluster = own = running = None
    try:
        if client is None:
            with _starting_workers(log):
                cluster = LocalCluster(n_workers=workers, threads_per_worker=1,
                                       processes=True, dashboard_address=None,
                                       preload=[__name__], scheduler_kwargs=NO_FIXED_PORT)
            client = own = Client(cluster)
        extra = () if network is None else (client.scatter(network, broadcast=True),)
        tasks = iter(todo)
        running = as_completed()

        def submit(k: int) -> None:
            for g in itertools.islice(tasks, k):
                running.add(client.submit(task, spec_dict, *g, *extra, pure=False))

        submit(max(64, 8 * workers))
        for fut in running:
            record(fut.result())
            submit(1)
    finally:
        shutdown(own, cluster, running)
        if cluster is not None and log.exists() and log.stat().st_size == 0:
            log.unlink()


@contextlib.contextmanager
def _starting_workers(log: Path):
    """The start of a ``LocalCluster``: its worker processes write their stderr to ``log``
    (appended), not to ours, and SIGINT/SIGTERM here wait until the start is complete
    (a second one does not).

    A Ctrl-C in a terminal reaches the whole process group: a Dask worker still starting
    dies of it with a traceback, which would bury the sweep's one-line message; and a
    cluster interrupted half-started cannot be closed cleanly. Once started, the workers
    ignore both signals (:func:`dask_setup`) and this process stops them; they also exit
    by themselves when it dies.
    """
    got: list[int] = []

    def hold(signum, _frame) -> None:
        got.append(signum)
        if len(got) > 1:  # asked twice: the start may hang, do not wait for it
            raise KeyboardInterrupt

    held = {}
    if threading.current_thread() is threading.main_thread():
        held = {s: signal.signal(s, hold) for s in (signal.SIGINT, signal.SIGTERM)}
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with log.open("ab") as f:
            os.dup2(f.fileno(), 2)
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
        for s, h in held.items():
            signal.signal(s, h if h is not None else signal.SIG_DFL)
        if got:  # now the usual handler (KeyboardInterrupt, cimgen's Terminated) runs
            signal.raise_signal(got[0])


def dask_setup(worker) -> None:
    """Dask preload hook, run in each worker process of the sweep's ``LocalCluster``:
    ignore SIGINT and SIGTERM (a Ctrl-C meant for the sweep reaches the whole process
    group); the sweep closes its workers itself (and Dask kills them if they hang)."""
    if threading.current_thread() is threading.main_thread():
        for s in (signal.SIGINT, signal.SIGTERM):
            signal.signal(s, signal.SIG_IGN)


def shutdown(client, cluster, futures=None) -> None:
    """Drop ``futures`` (an ``as_completed``) and close a client and cluster of ours
    without a word: on an interrupt Dask logs the cancelled tasks and closing comms at
    WARNING/ERROR, here and in the workers, which says nothing to the user.

    A second Ctrl-C (or a SIGTERM) meanwhile is ignored so that the cleanup finishes
    (it is bounded by :data:`CONNECT_TIMEOUT` per step). Errors while closing are not
    raised: every finished task is in ``partial.csv`` already.
    """
    held = {}
    if threading.current_thread() is threading.main_thread():
        held = {s: signal.signal(s, signal.SIG_IGN) for s in (signal.SIGINT, signal.SIGTERM)}
    disabled = logging.root.manager.disable
    logging.disable(logging.CRITICAL)
    try:
        if cluster is not None and client is not None:  # our workers: quiet them as well
            with contextlib.suppress(Exception):
                client.run(logging.disable, logging.CRITICAL)
        if futures is not None:  # dropped futures: the scheduler cancels their tasks
            futures.clear()
        for thing in (client, cluster):
            if thing is not None:
                with contextlib.suppress(Exception):
                    thing.close(timeout=CONNECT_TIMEOUT)
    finally:
        logging.disable(disabled)
        for s, h in held.items():
            signal.signal(s, h if h is not None else signal.SIG_DFL)


def parse_scheduler(address: str) -> tuple[str, int]:
    """``tcp://HOST:PORT`` (or ``tls://``, ``ws://``, ``wss://``) -> (HOST, PORT).

    Raises
    ------
    InputError
        No scheme, another scheme, no host, or no port in 1..65535.
    """
    allowed = (f"SCHEME://HOST:PORT with SCHEME one of {', '.join(SCHEDULER_SCHEMES)}, "
               "e.g. tcp://127.0.0.1:8786")
    scheme, sep, _ = address.partition("://")
    if not sep or scheme not in SCHEDULER_SCHEMES:
        raise InputError(f"--scheduler {address!r}: not a scheduler address; allowed: "
                         f"{allowed}")
    try:
        parts = urllib.parse.urlsplit(address)
        port = parts.port
    except ValueError:
        port = 0
    if not parts.hostname or not port or parts.path not in ("", "/"):
        raise InputError(f"--scheduler {address!r}: needs a host and a port in 1..65535; "
                         f"allowed: {allowed}")
    return parts.hostname, port


def connect(address: str):
    """A ``distributed.Client`` of the scheduler at ``address``, within
    :data:`CONNECT_TIMEOUT` seconds.

    Raises
    ------
    InputError
        A malformed address, or no scheduler answers there (the message gives the
        reason: refused, unknown host, timed out).
    """
    host, port = parse_scheduler(address)
    why = None
    try:  # a refused port fails at once here, where Dask would retry until its timeout
        socket.create_connection((host, port), timeout=CONNECT_TIMEOUT).close()
    except TimeoutError:
        why = f"no answer within {CONNECT_TIMEOUT:g} s"
    except OSError as e:
        why = e.strerror or str(e)
    if why is None:
        client, why = _client(address)
        if client is not None:
            return client
    raise InputError(f"--scheduler {address!r}: cannot connect to a Dask scheduler at "
                     f"{host}:{port}: {why}; allowed: the address of a running scheduler, "
                     "or no --scheduler for a LocalCluster on this machine")


def _client(address: str):
    """``(Client, None)`` or ``(None, why)``; in a thread, because a peer that accepts
    the connection but is no Dask scheduler can hang the Client past its timeout."""
    from distributed import Client

    box: dict = {}

    def make() -> None:
        try:
            box["client"] = Client(address, timeout=CONNECT_TIMEOUT)
        except BaseException as e:  # also when abandoned at exit
            box["why"] = str(e) or type(e).__name__

    disabled = logging.root.manager.disable
    logging.disable(logging.CRITICAL)
    try:
        t = threading.Thread(target=make, name="cimgen-connect", daemon=True)
        t.start()
        t.join(CONNECT_TIMEOUT + 1)
    finally:
        logging.disable(disabled)
    if t.is_alive():
        return None, (f"no Dask handshake within {CONNECT_TIMEOUT + 1:g} s (something "
                      "else listens on that port?)")
    return box.get("client"), box.get("why", "the client did not start")
