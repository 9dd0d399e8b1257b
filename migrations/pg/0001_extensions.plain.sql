-- Seed §1.1 without TimescaleDB: uuid-ossp provides uuid_generate_v4() for events_generic.id
-- (a trusted extension since PostgreSQL 13: a database owner may create it).
CREATE EXTENSION IF NOT EXISTS "uuid-ossp";
