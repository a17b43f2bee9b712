"""Demo zones: RFC 1035 master files served on loopback by the app's demo mode (see demo.json)."""
