"""Simulators of the systems' APIs, served on loopback over a world (see server.py for the API).

`start_simulator(kind, world, **faults)` starts one; `manage.py simulate KIND ...` serves them from
the command line. Each system's simulator lives in `connectors/simulators/<kind>.py`.
"""

from connectors.simulators.server import (
    Faults,
    HttpError,
    SimRequest,
    SimResponse,
    Simulator,
    SimulatorApp,
    json_response,
    load_simulators,
    page_window,
    register,
    route,
    simulator_class,
    start_simulator,
    text_response,
    xml_response,
)

__all__ = [
    "Faults",
    "HttpError",
    "SimRequest",
    "SimResponse",
    "Simulator",
    "SimulatorApp",
    "json_response",
    "load_simulators",
    "page_window",
    "register",
    "route",
    "simulator_class",
    "start_simulator",
    "text_response",
    "xml_response",
]
