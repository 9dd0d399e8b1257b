-- DESIGN §1: the postgres sink's exactly-once ledger. A batch's COPYs and its (sink, seq) row
-- commit in one transaction; a replayed batch already present here is acknowledged without writing.
CREATE TABLE IF NOT EXISTS thermocline_batches (
  sink          TEXT NOT NULL,
  seq           BIGINT NOT NULL,
  committed_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
  PRIMARY KEY (sink, seq)
);
