"""The archiving sample app: the spec's Ruby sample and OpenTok.js browser sample, ported.

A small FastAPI app that talks to an Archivist server only over HTTP, through the official
``opentok`` SDK, exactly as a customer's app would. It imports nothing else of ``archivist``
except :mod:`archivist.logs`. ``archivist serve`` embeds it at ``/`` of the server (see
:func:`embedded_routes`); ``archivist sample`` runs it alone against ``API_URL``.
"""

from archivist.sample.app import SampleApp, create_sample_app, embedded_routes
from archivist.sample.config import SampleConfig, SampleConfigError

__all__ = ["SampleApp", "SampleConfig", "SampleConfigError", "create_sample_app", "embedded_routes"]
