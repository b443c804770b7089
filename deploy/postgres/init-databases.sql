-- One database per service: no service reads another's (see DESIGN.md). The postgres image runs
-- this once, when its data volume is first initialised (`docker compose down -v` starts over).
CREATE DATABASE vitrina_identity;
CREATE DATABASE vitrina_catalog;
CREATE DATABASE vitrina_orders;
CREATE DATABASE vitrina_billing;
CREATE DATABASE vitrina_integrations;
