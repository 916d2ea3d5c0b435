"""Where a comparison's or a sweep's trainings run: this server (the default) or Ray.

One choice per session, shared by the Compare and Trade-offs pages. The Ray address
starts from ``MTL_RAY_ADDRESS`` (then ``RAY_ADDRESS``): set it where the app is
started to point every session at a cluster; empty, a Ray runtime starts on this
server. A Ray job waits for its tasks rather than computing, so it does not take one
of the server's job slots (Ray queues the trainings itself)."""

from __future__ import annotations

import os
from dataclasses import dataclass

import streamlit as st

from mtl.backends import Backend, backend_missing, get_backend
from mtl.jobs import JobSlots
from pages._present import advanced
from pages._state import UI, ui_default

CHOICE, ADDRESS = f"{UI}backend.choice", f"{UI}backend.address"
LABELS = {"local": "This server (one model after another)", "ray": "Ray (one task per model, in parallel)"}
#: Ray jobs only wait on the cluster: enough slots that they never queue behind each other.
RAY_SLOTS = JobSlots(64)


@dataclass(frozen=True)
class BackendChoice:
    """The choice made on the page: ``name`` and, for Ray, the cluster's ``address``
    (``None``: a runtime on this server); ``problem`` says why it cannot run here."""

    name: str
    address: str | None = None
    problem: str | None = None

    def make(self) -> Backend:
        """The backend (called in the job's thread: joining Ray can take seconds)."""
        return get_backend(self.name) if self.name == "local" else get_backend("ray", address=self.address)

    @property
    def slots(self) -> JobSlots | None:
        return RAY_SLOTS if self.name == "ray" else None

    def describe(self) -> str:
        if self.name == "local":
            return "this server"
        return f"the Ray cluster at {self.address}" if self.address else "a Ray runtime on this server"


def backend_choice(name: str) -> BackendChoice:
    """The backend widgets (hidden while presenting; ``name``: unique on the page):
    the choice, the Ray address, and how to install Ray when it is missing."""
    default_address = os.environ.get("MTL_RAY_ADDRESS") or os.environ.get("RAY_ADDRESS") or ""
    with advanced(f"backend-{name}"):
        choice = st.radio("Run the trainings on", list(LABELS), format_func=LABELS.get, horizontal=True,
                          key=ui_default(CHOICE, "local"),
                          help="Ray trains the models as parallel Ray tasks, one CPU each, on a Ray runtime started "
                               "on this server or on the cluster at the address below. The numbers are the same as "
                               "on this server for the same seeds.")
        if choice != "ray":
            return BackendChoice("local")
        missing = backend_missing("ray")
        if missing:
            st.warning(f"{missing}, then restart the app.", icon=":material/warning:")
            return BackendChoice("ray", problem=f"{missing}, then restart the app (or run on this server).")
        address = st.text_input("Ray cluster address", key=ui_default(ADDRESS, default_address),
                                placeholder="empty: a Ray runtime on this server",
                                help="ray://HEAD:10001 (Ray Client) or HEAD:6379; set MTL_RAY_ADDRESS where the app "
                                     "starts to make it every session's default. The cluster's nodes need the "
                                     "project's dependencies.").strip()
        return BackendChoice("ray", address or None)
