"""The portal: web pages for city officers and the province (contract §7), over the ingest API."""
