"""The gunicorn worker class behind `serve`: one asyncio event loop (uvloop) per worker process.

gunicorn's master still does what it is good at: binding the port, forking the workers from a master that
loaded the model once, replacing a worker that dies or stops sending heartbeats, and a graceful SIGTERM. Each
worker serves its connections with :class:`HttpConnection` (httptools) and batches the model calls with
:class:`MicroBatcher`.

Signals (gunicorn's worker contract): SIGTERM drains (stop accepting, answer what is in flight, close), SIGINT
and SIGQUIT stop at once, SIGUSR1 reopens the log files.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import signal
from types import FrameType
from typing import Any

import torch
import uvloop
from gunicorn.workers.base import Worker

from .app import ModelApp
from .batching import MicroBatcher
from .http_connection import HttpConnection, HttpLimits

HEARTBEAT_SECONDS = 1.0
DRAIN_FACTOR = 8  # a too-large body up to 8x the cap is read and dropped, so the client sees the 413


class AsyncModelWorker(Worker):  # type: ignore[misc]
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.loop: asyncio.AbstractEventLoop  # made after the fork, in init_process
        self.connections: set[HttpConnection] = set()
        self._stopping: asyncio.Event | None = None
        self._quick = False

    def init_process(self) -> None:
        signal.signal(signal.SIGTERM, self._exit_before_serving)  # the earliest point this class runs after the fork
        self.loop = uvloop.new_event_loop()
        asyncio.set_event_loop(self.loop)
        super().init_process()

    def init_signals(self) -> None:
        super().init_signals()
        # Until the event loop runs (loading and warming up the model, seconds on a busy CPU), the worker holds no
        # request: SIGTERM ends it at once. gunicorn's own handler would only clear self.alive, checked after the
        # warm-up, and the master kills a worker that is still warming up only at the end of its graceful timeout.
        # SageMaker stops containers with SIGTERM (scale-in, updates). The loop's handlers take over in _serve.
        signal.signal(signal.SIGTERM, self._exit_before_serving)
        if not self.alive:  # SIGTERM came between gunicorn's handler and this one
            raise SystemExit(0)
        self._stopping = asyncio.Event()

    def _exit_before_serving(self, _signum: int, _frame: FrameType | None) -> None:
        self.alive = False
        raise SystemExit(0)  # gunicorn's worker_exit hook (server.py) ends the process with this code

    def _loop_signals(self) -> None:
        self.loop.add_signal_handler(signal.SIGTERM, self._stop, False)
        self.loop.add_signal_handler(signal.SIGINT, self._stop, True)
        self.loop.add_signal_handler(signal.SIGQUIT, self._stop, True)
        self.loop.add_signal_handler(signal.SIGABRT, self._stop, True)
        self.loop.add_signal_handler(signal.SIGUSR1, self.log.reopen_files)
        signal.signal(signal.SIGWINCH, signal.SIG_IGN)

    def _stop(self, quick: bool) -> None:
        self.alive = False
        self._quick = self._quick or quick
        assert self._stopping is not None
        self._stopping.set()

    def load_wsgi(self) -> None:
        """The app for this worker; a failure here is a boot error, which stops gunicorn instead of a respawn loop.

        ModelServer.load (the "wsgi" gunicorn preloads in the master) hands over the CPU predictor; on a GPU it
        moves there now, after the fork, so CUDA starts in the worker: the GPU the master gave this worker
        (worker_devices.py), or the one device every worker shares.
        """
        predictor, settings, limits = self.app.wsgi()
        device = settings.devices.worker_device(getattr(self, "gpu_index", None))
        self.log.info("Worker %s warming up the model on %s", self.pid, device)
        if device.type == "cuda":
            torch.cuda.set_device(device)  # this worker's CUDA context on its own GPU only
        if device != predictor.device:
            predictor = predictor.to(device)
        predictor.warm_up(settings.batch.max_rows)
        self.log.info("Worker %s runs the model on %s", self.pid, device)
        batcher = MicroBatcher(predictor.forward, settings.batch, self.loop)
        self.model_app = ModelApp(predictor, batcher, limits, settings.workers, settings.access_log)
        # torch and the model leave some 160,000 long-lived objects; a full garbage collection that walks them
        # all stalls every request of this worker for 100-200 ms. Frozen, the collector skips them.
        gc.freeze()

    def run(self) -> None:
        self.loop.run_until_complete(self._serve())

    async def _serve(self) -> None:
        self._loop_signals()
        app = self.model_app
        max_body = app.limits.endpoint_max_bytes
        limits = HttpLimits(max_body=max_body, drain=DRAIN_FACTOR * max_body, read_timeout=float(self.cfg.keepalive))
        servers = [
            await self.loop.create_server(lambda: HttpConnection(app, limits, self.connections), sock=listener.sock)
            for listener in self.sockets
        ]
        assert self._stopping is not None
        while self.alive:
            self.notify()
            if self.ppid != os.getppid():
                self.log.info("Parent changed, shutting down: %s", self)
                break
            now = self.loop.time()
            for connection in list(self.connections):
                connection.check_timeouts(now)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), HEARTBEAT_SECONDS)
        for server in servers:
            server.close()
        if self._quick:
            return
        for connection in list(self.connections):
            connection.shut_down()
        deadline = self.loop.time() + self.cfg.graceful_timeout
        while self.connections and self.loop.time() < deadline:
            self.notify()
            await asyncio.sleep(0.05)
