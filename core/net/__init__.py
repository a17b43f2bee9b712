"""Network access beyond DNS that several checks share: a small verified HTTPS GET (``https``)."""
