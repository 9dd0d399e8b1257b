-- Seed §1.1: extensions. The runner picks this flavour only when timescaledb is installable and
-- listed in shared_preload_libraries (CREATE EXTENSION fails otherwise).
CREATE EXTENSION IF NOT EXISTS timescaledb;
CREATE EXTENSION IF NOT EXISTS "uuid-ossp";
