"""Geo layer: gazetteer, shelters, hotspots and alert enrichment (pure), plus the
importers and store at its edge (``readers``, ``store``)."""

from lalert.geo.data import GeoData, build_geodata, demo_geodata
from lalert.geo.enrich import EnrichConfig, enrich
from lalert.geo.query import areas_at, hotspots_near, nearest_shelters
from lalert.geo.store import load_geodata

__all__ = ["GeoData", "build_geodata", "demo_geodata", "load_geodata", "EnrichConfig", "enrich",
           "areas_at", "hotspots_near", "nearest_shelters"]
