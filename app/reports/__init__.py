"""The DMARC reports window (Tools › DMARC reports…), in four modules:

- ``window.py``: ``ReportsWindow`` (the domain and period, the tabs, a view put on screen a step per turn of
  the event loop, names looked up, export, the mailbox watch) and the worker jobs it runs on its store;
- ``chart.py``: ``DailyChart``, daily volume and DMARC pass rate drawn with QPainter;
- ``tables.py``: ``RowsModel``/``make_table`` and the columns of the senders, services, unknown senders and
  TLS tables;
- ``importer.py``: ``ImportPanel``, the import job and the card with its progress and result;

and ``fmt.py``, how they write numbers. Nothing here opens the report store: the worker does (docs/WORKER.md).
"""

from __future__ import annotations

from .window import ReportsWindow

__all__ = ["ReportsWindow"]
