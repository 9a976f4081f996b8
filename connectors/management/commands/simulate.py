"""`manage.py simulate KIND [KIND...]`: serve simulated system APIs on loopback until Ctrl-C.

    manage.py simulate woocommerce prima whistl --port 8101          # the demo world
    manage.py simulate cin7_core --bundle var/demo-bundle --fault rate_limit=60 --fault latency=0.05

Each kind gets its own port (--port, --port+1, ...; 0 picks free ones). Faults can be changed
while running: POST a JSON object to <url>/__sim__/faults (loopback only).
"""

from __future__ import annotations

import signal
import threading
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from connectors.simulators import Faults, Simulator, load_simulators, start_simulator
from reconciliation.bundle import BundleError, read_bundle
from reconciliation.frames import Bundle


def parse_faults(values: list[str]) -> dict[str, Any]:
    faults = {}
    for value in values:
        name, sep, raw = value.partition("=")
        if not sep:
            raise CommandError(f"--fault {value!r}: expected name=value")
        try:
            faults[name.strip()] = Faults.coerce(name.strip(), raw.strip())
        except ValueError as exc:
            raise CommandError(f"--fault {value!r}: {exc}") from None
    return faults


class Command(BaseCommand):
    help = "Serve simulated WooCommerce/Magento/Centra/Cin7/Prima/Whistl APIs over a world."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("kinds", nargs="+", metavar="KIND", help="simulators to start")
        parser.add_argument("--bundle", help="a bundle directory or zip (default: the demo world)")
        parser.add_argument("--orders", type=int, default=3000, help="demo world orders (3000)")
        parser.add_argument("--seed", type=int, default=7, help="demo world seed (7)")
        parser.add_argument("--port", type=int, default=0, help="first port (0: any free ones)")
        parser.add_argument(
            "--fault",
            action="append",
            default=[],
            metavar="NAME=VALUE",
            help=f"a fault switch, repeatable; one of: {', '.join(Faults.names())}",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        known = load_simulators()
        unknown = [kind for kind in options["kinds"] if kind not in known]
        if unknown:
            raise CommandError(f"no simulator for {unknown}; known: {', '.join(sorted(known))}")
        faults = parse_faults(options["fault"])
        world = self._world(options)

        running: list[Simulator] = []
        stop = threading.Event()
        # SIGTERM (devstack, a service manager) stops as cleanly as Ctrl-C.
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        try:
            for offset, kind in enumerate(options["kinds"]):
                port = options["port"] + offset if options["port"] else 0
                try:
                    handle = start_simulator(kind, world, port=port, **faults)
                except OSError as exc:
                    raise CommandError(f"{kind}: cannot listen on port {port}: {exc}") from None
                running.append(handle)
                credentials = ", ".join(sorted(handle.app.credentials)) or "none"
                self.stdout.write(f"{kind:<12} {handle.url}  (credentials: {credentials})")
            self.stdout.write("Faults: POST JSON to <url>/__sim__/faults. Ctrl-C to stop.")
            self.stdout.flush()
            while not stop.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
        finally:
            for handle in running:
                handle.stop()
            self.stdout.write(f"Stopped {len(running)} simulator(s).")

    def _world(self, options: dict[str, Any]) -> Bundle:
        if options["bundle"]:
            try:
                return read_bundle(options["bundle"])
            except BundleError as exc:
                raise CommandError(str(exc)) from None
        from reconciliation.demo import build_demo_bundle

        return build_demo_bundle(seed=options["seed"], orders=options["orders"])
