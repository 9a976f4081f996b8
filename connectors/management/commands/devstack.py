"""`manage.py devstack`: the web server, a qcluster and simulated systems together, stopped together.

`make run` calls it after `migrate` and `demo`. It points one demo connection per simulated system
at its simulator (loopback, the simulators' own fake credentials), writes the schedules, starts

    manage.py simulate woocommerce prima whistl --port 8101 --bundle var/demo-bundle
    manage.py qcluster
    manage.py runserver 127.0.0.1:8000

as child processes, queues a first full sync of each demo connection once the simulators answer,
and from then on the schedules pull changes as they would in a real deployment. Ctrl-C (SIGINT)
or SIGTERM stops every child; if one child dies the others are stopped too.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from connectors.base import REGISTRY
from connectors.models import Connection, SyncAlreadyRunning
from connectors.schedules import sync_schedules
from connectors.simulators import load_simulators
from connectors.tasks import queue_sync

DEFAULT_SYSTEMS = "woocommerce,prima,whistl"
DEMO_PREFIX = "Demo "
STOP_WAIT = 10.0  # seconds a child gets to stop before it is killed


class Command(BaseCommand):
    help = "Run the web server, a qcluster and simulated systems together (Ctrl-C stops all)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--systems", default=DEFAULT_SYSTEMS, help=f"({DEFAULT_SYSTEMS})")
        parser.add_argument("--port-base", type=int, default=8101, help="first simulator port")
        parser.add_argument("--addr", default="127.0.0.1:8000", help="runserver address")
        parser.add_argument("--bundle", help="world to simulate (default: var/demo-bundle)")
        parser.add_argument("--schedule-minutes", type=int, default=2, help="demo delta interval")
        parser.add_argument("--no-web", action="store_true", help="no runserver (tests)")

    def handle(self, *args: Any, **options: Any) -> None:
        systems = [s.strip() for s in options["systems"].split(",") if s.strip()]
        simulators = load_simulators()
        missing = [s for s in systems if s not in simulators or s not in REGISTRY]
        if missing:
            raise CommandError(f"no connector and simulator for {missing}")
        ports = {kind: options["port_base"] + i for i, kind in enumerate(systems)}
        for port in ports.values():
            if _listening(port):
                raise CommandError(f"port {port} is in use (another devstack?); try --port-base")

        connections = self._connections(systems, ports, options["schedule_minutes"])
        for action, names in sync_schedules().items():
            if names:
                self.stdout.write(f"schedules {action}: {len(names)}")

        self.children: list[tuple[str, subprocess.Popen]] = []
        self.stopping = False
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)
        try:
            self._start("simulators", self._simulate_command(systems, options))
            self._start("qcluster", [self._manage(), "qcluster"])
            if not options["no_web"]:
                self._start("web", [self._manage(), "runserver", options["addr"]])
            self._first_syncs(connections, ports)
            self._watch()
        finally:
            self._stop_all()

    # -- setup ---------------------------------------------------------------------------------

    def _connections(
        self, systems: list[str], ports: dict[str, int], minutes: int
    ) -> list[Connection]:
        """One demo connection per simulated system, pointed at its simulator."""
        simulators = load_simulators()
        made = []
        for kind in systems:
            simulator = simulators[kind]
            label = REGISTRY[kind].label or kind
            name = DEMO_PREFIX + label
            holder = Connection.objects.filter(enabled=True, role=simulator.role).exclude(name=name)
            if holder.exists():
                self.stdout.write(
                    self.style.WARNING(f"{kind}: {holder.first()} feeds {simulator.role}; skipped")
                )
                continue
            connection, _ = Connection.objects.update_or_create(
                name=name,
                defaults={
                    "kind": kind,
                    "role": simulator.role,
                    "base_url": f"http://127.0.0.1:{ports[kind]}",
                    "enabled": True,
                    "schedule_minutes": minutes,
                },
            )
            connection.set_credentials(dict(simulator.default_credentials), keep_blank=False)
            connection.save()
            made.append(connection)
            self.stdout.write(f"{name:<20} {connection.base_url}")
        return made

    def _manage(self) -> str:
        return str(Path(settings.BASE_DIR) / "manage.py")

    def _simulate_command(self, systems: list[str], options: dict[str, Any]) -> list[str]:
        command = [self._manage(), "simulate", *systems, "--port", str(options["port_base"])]
        bundle = options["bundle"] or Path(settings.BASE_DIR) / "var" / "demo-bundle"
        if Path(bundle).exists():
            command += ["--bundle", str(bundle)]
        return command

    # -- children ------------------------------------------------------------------------------

    def _start(self, name: str, command: list[str]) -> None:
        # Each child leads its own process group, so stopping it reaches its own children
        # (runserver's reloader, qcluster's workers) and nothing of ours.
        process = subprocess.Popen([sys.executable, *command], start_new_session=True)
        self.children.append((name, process))
        self.stdout.write(f"started {name} (pid {process.pid})")

    def _first_syncs(self, connections: list[Connection], ports: dict[str, int]) -> None:
        deadline = time.monotonic() + 120  # the simulators build the world first
        waiting = {c.pk: ports[c.kind] for c in connections}
        while waiting and time.monotonic() < deadline and not self.stopping:
            for pk, port in list(waiting.items()):
                if _listening(port):
                    del waiting[pk]
            self._check_children()
            time.sleep(0.3)
        for connection in connections:
            if connection.pk in waiting:
                continue
            try:
                run = queue_sync(connection, "full")
                self.stdout.write(f"queued full sync {run.pk} of {connection}")
            except SyncAlreadyRunning as exc:
                self.stdout.write(str(exc))

    def _watch(self) -> None:
        self.stdout.write(self.style.SUCCESS("devstack running; Ctrl-C stops everything."))
        while not self.stopping:
            self._check_children()
            time.sleep(0.5)

    def _check_children(self) -> None:
        for name, process in self.children:
            if process.poll() is not None and not self.stopping:
                self.stopping = True
                raise CommandError(f"{name} exited with {process.returncode}; stopping the rest")

    def _on_signal(self, signum: int, frame: Any) -> None:
        self.stopping = True

    def _stop_all(self) -> None:
        self.stopping = True
        for name, process in reversed(self.children):
            if process.poll() is None:
                if name == "qcluster":
                    process.send_signal(signal.SIGTERM)  # its main process stops the workers
                else:
                    _signal_group(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_WAIT
        for _, process in self.children:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=max(deadline - time.monotonic(), 0.1))
            _signal_group(process.pid, signal.SIGKILL)  # whatever is left of the group
            process.wait()
        if self.children:
            self.stdout.write(f"stopped {len(self.children)} process(es)")


def _signal_group(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, sig)


def _listening(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(0.2)
        return probe.connect_ex(("127.0.0.1", port)) == 0
