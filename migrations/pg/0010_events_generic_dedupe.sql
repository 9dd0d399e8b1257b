-- Exactly once for business events (docs/events.md#exactly-once): every event carries an id, given
-- by its producer or derived from its content, and a row whose (id, ts) is already stored is
-- skipped rather than refused, so a client retry or a replay from another delivery is harmless.
-- A BEFORE ROW trigger, because COPY (the sink's fast path) has no ON CONFLICT; the lookup uses
-- the primary key. Two transactions inserting the same id at once: the second waits on the key and
-- fails with a unique violation, and the sink's retry then skips the row.
CREATE OR REPLACE FUNCTION thermocline_skip_stored_event() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM events_generic WHERE id = NEW.id AND ts = NEW.ts) THEN
    RETURN NULL;
  END IF;
  RETURN NEW;
END
$$;
DROP TRIGGER IF EXISTS events_generic_skip_stored ON events_generic;
CREATE TRIGGER events_generic_skip_stored BEFORE INSERT ON events_generic
  FOR EACH ROW EXECUTE FUNCTION thermocline_skip_stored_event();
