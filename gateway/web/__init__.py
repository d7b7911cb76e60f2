"""The web console's static files (HTML, CSS, JS modules), served by :mod:`gateway.web_routes`."""
