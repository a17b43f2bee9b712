"""DNS: our own asyncio client over dnspython's wire format (``client``) and the loopback authoritative
server the tests, the demo and the self-test answer from (``server``)."""
