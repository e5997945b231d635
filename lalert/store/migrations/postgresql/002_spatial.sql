-- 002: spatial tables and views a GIS opens as they are (EPSG:4326, typed columns, GiST).
-- Written by the applier (alerts, area_shapes) and at start (areas, facilities, hotspots);
-- everything here is derived from the journal and the imported geodata, so `lalert replay`
-- and a restart rebuild it.

CREATE EXTENSION IF NOT EXISTS postgis;

-- the shapes alerts are drawn with, stored once however many versions name them
CREATE TABLE area_shapes (
  key TEXT PRIMARY KEY,
  scheme TEXT NOT NULL,
  code TEXT,
  name TEXT,
  own BOOLEAN NOT NULL,
  geom geometry(MultiPolygon, 4326) NOT NULL
);
CREATE INDEX area_shapes_geom ON area_shapes USING GIST (geom);
COMMENT ON TABLE area_shapes IS 'Every shape an alert version was drawn with, stored once: the gazetteer''s resolved (simplified) polygon of a code, or a shape the message carried itself.';
COMMENT ON COLUMN area_shapes.key IS 'scheme|code for a gazetteer shape; own|<alert id>|<n> for a shape from the message.';
COMMENT ON COLUMN area_shapes.scheme IS 'Code table of the area (lalert.vocab.AREA_SCHEMES).';
COMMENT ON COLUMN area_shapes.code IS 'Area code in that table (NULL for an unnamed message shape).';
COMMENT ON COLUMN area_shapes.name IS 'Area name as first seen.';
COMMENT ON COLUMN area_shapes.own IS 'True when the message carried this shape (CAP polygon/circle), false for the gazetteer''s.';
COMMENT ON COLUMN area_shapes.geom IS 'Area polygon(s), EPSG:4326.';

-- every alert version the applier saw
CREATE TABLE alerts (
  id TEXT PRIMARY KEY,
  message_id BIGINT,
  event_key TEXT NOT NULL,
  format TEXT NOT NULL,
  info_type TEXT NOT NULL,
  kind TEXT NOT NULL,
  title TEXT NOT NULL,
  level SMALLINT,
  severity TEXT NOT NULL,
  status TEXT NOT NULL,
  drill BOOLEAN NOT NULL,
  issued_at TIMESTAMPTZ,
  valid_until TIMESTAMPTZ,
  publisher TEXT,
  headline TEXT,
  hazard_tags TEXT[] NOT NULL DEFAULT '{}',
  area_schemes TEXT[] NOT NULL DEFAULT '{}',
  area_codes TEXT[] NOT NULL DEFAULT '{}',
  area_names TEXT[] NOT NULL DEFAULT '{}',
  area_statuses TEXT[] NOT NULL DEFAULT '{}',
  area_shapes TEXT[] NOT NULL DEFAULT '{}',
  active_shapes TEXT[] NOT NULL DEFAULT '{}',
  bbox geometry(Polygon, 4326),
  model JSONB NOT NULL
);
CREATE INDEX alerts_event ON alerts(event_key);
CREATE INDEX alerts_bbox ON alerts USING GIST (bbox);
COMMENT ON TABLE alerts IS 'Every alert version lalert applied (real and drill; see the drill column). Areas are in the alert_areas view; what is in force now is alerts_in_force / drill_alerts_in_force.';
COMMENT ON COLUMN alerts.id IS 'Alert id (CAP identifier, JMA message id): one per version.';
COMMENT ON COLUMN alerts.message_id IS 'Journal message (messages.id) it came in; NULL for an expiry.';
COMMENT ON COLUMN alerts.event_key IS 'Event the version belongs to (format|event id): the lifecycle key, active.key.';
COMMENT ON COLUMN alerts.format IS 'Source format: cap, jmaxml or commons.';
COMMENT ON COLUMN alerts.info_type IS 'issue, update, cancel …';
COMMENT ON COLUMN alerts.kind IS 'Kind of information (lalert.vocab).';
COMMENT ON COLUMN alerts.title IS 'Title of the message.';
COMMENT ON COLUMN alerts.level IS '警戒レベル 1-5 when the message implies one.';
COMMENT ON COLUMN alerts.severity IS 'CAP severity (Extreme, Severe, Moderate, Minor, Unknown).';
COMMENT ON COLUMN alerts.status IS 'actual, exercise, test, …';
COMMENT ON COLUMN alerts.drill IS 'True unless status is actual: drills never appear in alerts_in_force.';
COMMENT ON COLUMN alerts.issued_at IS 'When the publisher issued it.';
COMMENT ON COLUMN alerts.valid_until IS 'When it stops being in force unless updated (NULL: until lifted).';
COMMENT ON COLUMN alerts.publisher IS 'Issuing office.';
COMMENT ON COLUMN alerts.headline IS 'Headline text.';
COMMENT ON COLUMN alerts.hazard_tags IS 'Hazards it concerns (flood, landslide, …).';
COMMENT ON COLUMN alerts.area_schemes IS 'Code table of each named area, in message order.';
COMMENT ON COLUMN alerts.area_codes IS 'Code of each named area, in message order.';
COMMENT ON COLUMN alerts.area_names IS 'Name of each named area, in message order.';
COMMENT ON COLUMN alerts.area_statuses IS 'Status of each named area: active, lifted, none or scope (lalert.model.Area).';
COMMENT ON COLUMN alerts.area_shapes IS 'area_shapes.key of each named area (NULL when unresolved).';
COMMENT ON COLUMN alerts.active_shapes IS 'area_shapes.key of the areas where something is in force (Alert.active_areas).';
COMMENT ON COLUMN alerts.bbox IS 'Bounding box of the in-force footprint, EPSG:4326.';
COMMENT ON COLUMN alerts.model IS 'The parsed alert in lalert''s public JSON form (Alert.to_dict; its "schema" key names the version).';

-- the gazetteer as imported (lalert data import)
CREATE TABLE areas (
  scheme TEXT NOT NULL,
  code TEXT NOT NULL,
  name TEXT,
  parent TEXT,
  parent_name TEXT,
  geom geometry(MultiPolygon, 4326) NOT NULL,
  PRIMARY KEY (scheme, code)
);
CREATE INDEX areas_geom ON areas USING GIST (geom);
COMMENT ON TABLE areas IS 'Gazetteer polygons lalert resolves area codes with (the imported geodata, copied at start).';
COMMENT ON COLUMN areas.scheme IS 'Code table (lalert.vocab.AREA_SCHEMES).';
COMMENT ON COLUMN areas.code IS 'Code in that table.';
COMMENT ON COLUMN areas.name IS 'Area name.';
COMMENT ON COLUMN areas.parent IS 'Code of the enclosing area, when the source gives one.';
COMMENT ON COLUMN areas.parent_name IS 'Name of the enclosing area.';
COMMENT ON COLUMN areas.geom IS 'Polygon(s), EPSG:4326, at the imported detail.';

-- facilities replace 001's shelters (same rows, plus roles, address and hazard flags)
DROP TABLE IF EXISTS shelters;
CREATE TABLE facilities (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  kind TEXT,
  roles TEXT[] NOT NULL DEFAULT '{}',
  hazards TEXT[] NOT NULL DEFAULT '{}',
  flood BOOLEAN GENERATED ALWAYS AS ('flood' = ANY(hazards)) STORED,
  landslide BOOLEAN GENERATED ALWAYS AS ('landslide' = ANY(hazards)) STORED,
  storm_surge BOOLEAN GENERATED ALWAYS AS ('storm_surge' = ANY(hazards)) STORED,
  earthquake BOOLEAN GENERATED ALWAYS AS ('earthquake' = ANY(hazards)) STORED,
  tsunami BOOLEAN GENERATED ALWAYS AS ('tsunami' = ANY(hazards)) STORED,
  large_fire BOOLEAN GENERATED ALWAYS AS ('large_fire' = ANY(hazards)) STORED,
  inland_flood BOOLEAN GENERATED ALWAYS AS ('inland_flood' = ANY(hazards)) STORED,
  volcano BOOLEAN GENERATED ALWAYS AS ('volcano' = ANY(hazards)) STORED,
  municipality_code TEXT,
  address TEXT,
  capacity DOUBLE PRECISION,
  geom geometry(Point, 4326) NOT NULL
);
CREATE INDEX facilities_geom ON facilities USING GIST (geom);
CREATE INDEX facilities_geog ON facilities USING GIST ((geom::geography));
COMMENT ON TABLE facilities IS 'Evacuation facilities (指定緊急避難場所 / 指定避難所 / 福祉避難所), one row per place (lalert.geo.facilities).';
COMMENT ON COLUMN facilities.id IS 'Facility id (GSI 共通ID of its lead entry, or the source id).';
COMMENT ON COLUMN facilities.name IS 'Facility name.';
COMMENT ON COLUMN facilities.kind IS 'Source kind of the lead entry.';
COMMENT ON COLUMN facilities.roles IS 'emergency_site, shelter, welfare_shelter.';
COMMENT ON COLUMN facilities.hazards IS 'Hazards it is designated for as an emergency site (lalert.vocab.SHELTER_HAZARDS).';
COMMENT ON COLUMN facilities.flood IS 'Designated for 洪水.';
COMMENT ON COLUMN facilities.landslide IS 'Designated for 崖崩れ、土石流及び地滑り.';
COMMENT ON COLUMN facilities.storm_surge IS 'Designated for 高潮.';
COMMENT ON COLUMN facilities.earthquake IS 'Designated for 地震.';
COMMENT ON COLUMN facilities.tsunami IS 'Designated for 津波.';
COMMENT ON COLUMN facilities.large_fire IS 'Designated for 大規模な火事.';
COMMENT ON COLUMN facilities.inland_flood IS 'Designated for 内水氾濫.';
COMMENT ON COLUMN facilities.volcano IS 'Designated for 火山現象.';
COMMENT ON COLUMN facilities.municipality_code IS 'Municipality (JIS X 0402, 5 digits).';
COMMENT ON COLUMN facilities.address IS 'Address as published.';
COMMENT ON COLUMN facilities.capacity IS 'People it holds, when published.';
COMMENT ON COLUMN facilities.geom IS 'Location, EPSG:4326.';

CREATE TABLE hotspots (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  ssid TEXT,
  provider TEXT,
  address TEXT,
  municipality_code TEXT,
  shelter_id TEXT,
  geom geometry(Point, 4326) NOT NULL
);
CREATE INDEX hotspots_geom ON hotspots USING GIST (geom);
COMMENT ON TABLE hotspots IS 'Public Wi-Fi hotspots (00000JAPAN and others) from the imported geodata.';
COMMENT ON COLUMN hotspots.id IS 'Hotspot id from the source.';
COMMENT ON COLUMN hotspots.name IS 'Place name.';
COMMENT ON COLUMN hotspots.ssid IS 'SSID.';
COMMENT ON COLUMN hotspots.provider IS 'Operator.';
COMMENT ON COLUMN hotspots.address IS 'Address as published.';
COMMENT ON COLUMN hotspots.municipality_code IS 'Municipality (JIS X 0402).';
COMMENT ON COLUMN hotspots.shelter_id IS 'Nearest facility (facilities.id) it serves, if any.';
COMMENT ON COLUMN hotspots.geom IS 'Location, EPSG:4326.';

-- every area of every version (one row per named area; geometry where it resolved)
CREATE VIEW alert_areas AS
SELECT a.id AS alert_id, u.n::integer AS n, u.scheme, u.code, u.name, u.status,
       s.geom::geometry(MultiPolygon, 4326) AS geom
FROM alerts a
CROSS JOIN LATERAL unnest(a.area_schemes, a.area_codes, a.area_names, a.area_statuses,
                          a.area_shapes) WITH ORDINALITY AS u(scheme, code, name, status, shape, n)
LEFT JOIN area_shapes s ON s.key = u.shape;
COMMENT ON VIEW alert_areas IS 'Every area every alert version names, with its status and shape (real and drill: see alerts.drill).';
COMMENT ON COLUMN alert_areas.alert_id IS 'alerts.id.';
COMMENT ON COLUMN alert_areas.n IS 'Position in the message (1-based).';
COMMENT ON COLUMN alert_areas.scheme IS 'Code table.';
COMMENT ON COLUMN alert_areas.code IS 'Area code.';
COMMENT ON COLUMN alert_areas.name IS 'Area name.';
COMMENT ON COLUMN alert_areas.status IS 'active (in force here), lifted, none or scope (coverage only, never drawn).';
COMMENT ON COLUMN alert_areas.geom IS 'Area polygon(s), EPSG:4326; NULL when the code did not resolve.';

-- alerts in force: the version active names for each event (the applier's current state)
CREATE VIEW alerts_in_force AS
SELECT f.id, f.event_key, f.kind, f.title, f.level, f.severity, f.status, f.info_type,
       f.issued_at, f.valid_until, f.publisher, f.headline, f.hazard_tags, f.seq,
       (SELECT ST_Multi(ST_CollectionExtract(ST_Union(s.geom), 3))
          FROM area_shapes s WHERE s.key = ANY(f.active_shapes))
         ::geometry(MultiPolygon, 4326) AS footprint
FROM (SELECT v.seq, a.* FROM active v JOIN alerts a ON a.id = v.alert_id) f WHERE NOT f.drill;

CREATE VIEW drill_alerts_in_force AS
SELECT f.id, f.event_key, f.kind, f.title, f.level, f.severity, f.status, f.info_type,
       f.issued_at, f.valid_until, f.publisher, f.headline, f.hazard_tags, f.seq,
       (SELECT ST_Multi(ST_CollectionExtract(ST_Union(s.geom), 3))
          FROM area_shapes s WHERE s.key = ANY(f.active_shapes))
         ::geometry(MultiPolygon, 4326) AS footprint
FROM (SELECT v.seq, a.* FROM active v JOIN alerts a ON a.id = v.alert_id) f WHERE f.drill;

CREATE VIEW alerts_in_force_areas AS
SELECT f.id AS alert_id, f.kind, f.title, f.level, f.issued_at, f.valid_until,
       a.n, a.scheme, a.code, a.name, a.status, a.geom
FROM (SELECT v.seq, a.* FROM active v JOIN alerts a ON a.id = v.alert_id) f JOIN alert_areas a ON a.alert_id = f.id
WHERE NOT f.drill AND a.status = 'active' AND f.info_type <> 'cancel';

CREATE VIEW drill_alerts_in_force_areas AS
SELECT f.id AS alert_id, f.kind, f.title, f.level, f.issued_at, f.valid_until,
       a.n, a.scheme, a.code, a.name, a.status, a.geom
FROM (SELECT v.seq, a.* FROM active v JOIN alerts a ON a.id = v.alert_id) f JOIN alert_areas a ON a.alert_id = f.id
WHERE f.drill AND a.status = 'active' AND f.info_type <> 'cancel';

-- the latest report per facility among real alerts in force (lalert.geo.reports.ShelterBoard)
CREATE VIEW facility_state AS
SELECT DISTINCT ON (r.key)
       r.key, r.facility_id, r.name, r.state, r.crowding, r.head_count, r.capacity,
       r.checked_at, r.issued_at, r.publisher, r.alert_id,
       coalesce(fac.geom, CASE WHEN r.lon IS NOT NULL AND r.lat IS NOT NULL
                              THEN ST_SetSRID(ST_MakePoint(r.lon, r.lat), 4326) END)
         ::geometry(Point, 4326) AS geom
FROM (
  SELECT coalesce(s->'registry'->>'id', s->>'code',
                  'report:' || coalesce(s->>'area_code', '') || ':' || (s->>'name')) AS key,
         s->'registry'->>'id' AS facility_id, s->>'name' AS name,
         coalesce(s->>'state', 'unknown') AS state, s->>'crowding' AS crowding,
         (s->>'head_count')::integer AS head_count, (s->>'capacity')::integer AS capacity,
         coalesce(s->>'checked_at', s->>'changed_at') AS checked_at,
         f.issued_at, f.publisher, f.id AS alert_id,
         (s->>'lat')::double precision AS lat, (s->>'lon')::double precision AS lon
  FROM (SELECT v.seq, a.* FROM active v JOIN alerts a ON a.id = v.alert_id) f CROSS JOIN LATERAL jsonb_array_elements(f.model->'shelters') AS s
  WHERE NOT f.drill
) r LEFT JOIN facilities fac ON fac.id = r.facility_id
ORDER BY r.key, r.issued_at DESC NULLS LAST, r.checked_at DESC NULLS LAST;

-- comments on the views (GIS tools show them as layer and field descriptions)
COMMENT ON VIEW alerts_in_force IS 'One row per real alert in force, footprint as MultiPolygon (drills: drill_alerts_in_force).';
COMMENT ON COLUMN alerts_in_force.id IS 'alerts.id of the version in force.';
COMMENT ON COLUMN alerts_in_force.event_key IS 'Event (lifecycle key).';
COMMENT ON COLUMN alerts_in_force.kind IS 'Kind of information.';
COMMENT ON COLUMN alerts_in_force.title IS 'Title of the message.';
COMMENT ON COLUMN alerts_in_force.level IS '警戒レベル 1-5, when implied.';
COMMENT ON COLUMN alerts_in_force.severity IS 'CAP severity.';
COMMENT ON COLUMN alerts_in_force.status IS 'actual, exercise, test …';
COMMENT ON COLUMN alerts_in_force.info_type IS 'issue, update …';
COMMENT ON COLUMN alerts_in_force.issued_at IS 'When issued.';
COMMENT ON COLUMN alerts_in_force.valid_until IS 'In force until (NULL: until lifted).';
COMMENT ON COLUMN alerts_in_force.publisher IS 'Issuing office.';
COMMENT ON COLUMN alerts_in_force.headline IS 'Headline text.';
COMMENT ON COLUMN alerts_in_force.hazard_tags IS 'Hazards it concerns.';
COMMENT ON COLUMN alerts_in_force.seq IS 'Change number that put this version in force.';
COMMENT ON COLUMN alerts_in_force.footprint IS 'Union of the areas where something is in force (active areas only), EPSG:4326.';
COMMENT ON VIEW drill_alerts_in_force IS 'One row per drill / exercise / test alert in force (never real).';
COMMENT ON COLUMN drill_alerts_in_force.id IS 'alerts.id of the version in force.';
COMMENT ON COLUMN drill_alerts_in_force.event_key IS 'Event (lifecycle key).';
COMMENT ON COLUMN drill_alerts_in_force.kind IS 'Kind of information.';
COMMENT ON COLUMN drill_alerts_in_force.title IS 'Title of the message.';
COMMENT ON COLUMN drill_alerts_in_force.level IS '警戒レベル 1-5, when implied.';
COMMENT ON COLUMN drill_alerts_in_force.severity IS 'CAP severity.';
COMMENT ON COLUMN drill_alerts_in_force.status IS 'actual, exercise, test …';
COMMENT ON COLUMN drill_alerts_in_force.info_type IS 'issue, update …';
COMMENT ON COLUMN drill_alerts_in_force.issued_at IS 'When issued.';
COMMENT ON COLUMN drill_alerts_in_force.valid_until IS 'In force until (NULL: until lifted).';
COMMENT ON COLUMN drill_alerts_in_force.publisher IS 'Issuing office.';
COMMENT ON COLUMN drill_alerts_in_force.headline IS 'Headline text.';
COMMENT ON COLUMN drill_alerts_in_force.hazard_tags IS 'Hazards it concerns.';
COMMENT ON COLUMN drill_alerts_in_force.seq IS 'Change number that put this version in force.';
COMMENT ON COLUMN drill_alerts_in_force.footprint IS 'Union of the areas where something is in force (active areas only), EPSG:4326.';
COMMENT ON VIEW alerts_in_force_areas IS 'One row per area where a real alert in force is in force.';
COMMENT ON COLUMN alerts_in_force_areas.alert_id IS 'alerts.id of the version in force.';
COMMENT ON COLUMN alerts_in_force_areas.kind IS 'Kind of information.';
COMMENT ON COLUMN alerts_in_force_areas.title IS 'Title of the message.';
COMMENT ON COLUMN alerts_in_force_areas.level IS '警戒レベル 1-5, when implied.';
COMMENT ON COLUMN alerts_in_force_areas.issued_at IS 'When issued.';
COMMENT ON COLUMN alerts_in_force_areas.valid_until IS 'In force until (NULL: until lifted).';
COMMENT ON COLUMN alerts_in_force_areas.n IS 'Position in the message (1-based).';
COMMENT ON COLUMN alerts_in_force_areas.scheme IS 'Code table.';
COMMENT ON COLUMN alerts_in_force_areas.code IS 'Area code.';
COMMENT ON COLUMN alerts_in_force_areas.name IS 'Area name.';
COMMENT ON COLUMN alerts_in_force_areas.status IS 'Always active here (lifted / none / scope areas are left out).';
COMMENT ON COLUMN alerts_in_force_areas.geom IS 'Area polygon(s), EPSG:4326.';
COMMENT ON VIEW drill_alerts_in_force_areas IS 'One row per area where a drill alert in force is in force.';
COMMENT ON COLUMN drill_alerts_in_force_areas.alert_id IS 'alerts.id of the version in force.';
COMMENT ON COLUMN drill_alerts_in_force_areas.kind IS 'Kind of information.';
COMMENT ON COLUMN drill_alerts_in_force_areas.title IS 'Title of the message.';
COMMENT ON COLUMN drill_alerts_in_force_areas.level IS '警戒レベル 1-5, when implied.';
COMMENT ON COLUMN drill_alerts_in_force_areas.issued_at IS 'When issued.';
COMMENT ON COLUMN drill_alerts_in_force_areas.valid_until IS 'In force until (NULL: until lifted).';
COMMENT ON COLUMN drill_alerts_in_force_areas.n IS 'Position in the message (1-based).';
COMMENT ON COLUMN drill_alerts_in_force_areas.scheme IS 'Code table.';
COMMENT ON COLUMN drill_alerts_in_force_areas.code IS 'Area code.';
COMMENT ON COLUMN drill_alerts_in_force_areas.name IS 'Area name.';
COMMENT ON COLUMN drill_alerts_in_force_areas.status IS 'Always active here (lifted / none / scope areas are left out).';
COMMENT ON COLUMN drill_alerts_in_force_areas.geom IS 'Area polygon(s), EPSG:4326.';
COMMENT ON VIEW facility_state IS 'Latest reported state and crowding per facility among real alerts in force.';
COMMENT ON COLUMN facility_state.key IS 'Facility id, or report:<municipality>:<name> for a report matching no facility.';
COMMENT ON COLUMN facility_state.facility_id IS 'facilities.id (NULL when the report matched none).';
COMMENT ON COLUMN facility_state.name IS 'Shelter name as reported.';
COMMENT ON COLUMN facility_state.state IS 'open, closed, unopened, permanent or unknown.';
COMMENT ON COLUMN facility_state.crowding IS 'crowded, full … when reported.';
COMMENT ON COLUMN facility_state.head_count IS 'People there at the report.';
COMMENT ON COLUMN facility_state.capacity IS 'Capacity as reported.';
COMMENT ON COLUMN facility_state.checked_at IS 'When the state was checked.';
COMMENT ON COLUMN facility_state.issued_at IS 'When the report (alert) was issued.';
COMMENT ON COLUMN facility_state.publisher IS 'Who reported it.';
COMMENT ON COLUMN facility_state.alert_id IS 'alerts.id of the report.';
COMMENT ON COLUMN facility_state.geom IS 'Facility location (or the reported point), EPSG:4326.';
