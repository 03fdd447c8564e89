-- Run once by the postgres image on an empty volume: one database per service.
CREATE DATABASE justnet_gateway OWNER justnet;
CREATE DATABASE justnet_directory OWNER justnet;
CREATE DATABASE justnet_requests OWNER justnet;
CREATE DATABASE justnet_events OWNER justnet;
CREATE DATABASE justnet_federation OWNER justnet;
