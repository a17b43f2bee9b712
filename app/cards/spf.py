"""The SPF card's own section: the include tree with each branch's lookups, and the record's terms."""

from __future__ import annotations

from typing import Any, cast

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView, QHeaderView, QTreeWidget, QTreeWidgetItem, QWidget,
)

from inboxready.core.checks.spf import SpfDetail, SpfNodeDetail
from inboxready.core.model import CheckResult

from ..widgets import (
    FittedTree, fit_height, tip,
)

from .common import _label, _section, _text, later


SPF_OWN_TERMS = ("a", "mx", "ptr", "exists")


def _own_terms(record: str) -> list[str]:
    """The terms of an SPF record that cost a lookup of their own (not include/redirect), for a label."""
    out: list[str] = []
    for token in record.split()[1:]:
        name = token.lstrip("+-~?").split(":", 1)[0].split("/", 1)[0].lower()
        if name in SPF_OWN_TERMS and name not in out:
            out.append(name)
    return out


def spf_section(card: Any, r: CheckResult) -> QWidget | None:
    if not r.detail:  # stopped before it could look (the card shows why)
        return None
    d = cast(SpfDetail, r.detail)  # the SPF check's shape (tests/core/checks/test_detail_shapes.py)
    tree = d["tree"]
    box, lay = _section(card, "Include tree and DNS lookups")
    limit, lookups, voids = d["lookup_limit"], d["lookups"], d["void_lookups"]
    over = lookups > limit
    text = (f"Uses {lookups} of the {limit} DNS lookups SPF allows"
            + (" — over the limit, so receivers treat the record as broken." if over else "."))
    if voids:
        text += f" {voids} lookup{'s' if voids != 1 else ''} found nothing (at most 2 are allowed)."
    lay.addWidget(_label(box, text, "", selectable=True))
    for copy in d.get("flattened", []):
        state = {True: "it matches what the include lists today", False: "the include has changed since (see below)",
                 None: "we couldn't compare it with the include this time"}[copy["current"]]
        lay.addWidget(_label(box, f"{_text(copy['host'])} is a copy of the addresses 'include:"
                                  f"{_text(copy['include'])}' lists: {state}.", "Muted", selectable=True))
    if tree:
        later(box, lambda: lay.addWidget(_include_tree(box, tree)))  # the tree on the next turn
    return box


def _include_tree(box: QWidget, tree: SpfNodeDetail) -> QWidget:
    """The include tree, each branch with the DNS lookups it costs."""
    view = FittedTree(box)
    view.setColumnCount(4)
    view.setHeaderLabels(["Domain", "Reached by", "Lookups", "Problem"])
    view.headerItem().setToolTip(2, "The DNS lookups this branch costs out of the limit of 10: the "
                                    "include itself and everything below it. The rows under your record "
                                    "add up to its total.")
    view.headerItem().setTextAlignment(2, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    view.setAccessibleName("SPF include tree with the DNS lookups of each branch")
    view.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
    view.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    view.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    view.setTextElideMode(Qt.TextElideMode.ElideRight)  # a narrow card keeps a name's start (tooltip: all)
    view.setRootIsDecorated(True)
    view.setUniformRowHeights(True)
    view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)

    def add_node(node: SpfNodeDetail, parent: QTreeWidget | QTreeWidgetItem, depth: int) -> None:
        if depth > 12:
            return
        mechanism = _text(node["mechanism"])
        how = mechanism.split(":", 1)[0].split("=", 1)[0] if mechanism else "your record"
        item = QTreeWidgetItem([_text(node["domain"]), how, str(node["branch"]), _text(node["error"])])
        rec = _text(node["record"])
        item.setToolTip(0, tip(rec or _text(node["domain"])))
        if mechanism:
            item.setToolTip(1, tip(mechanism))
        if node["error"]:
            item.setToolTip(3, tip(_text(node["error"])))
        item.setTextAlignment(2, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if isinstance(parent, QTreeWidget):
            parent.addTopLevelItem(item)
        else:
            parent.addChild(item)
        children = node["children"]
        own = node["total"] - sum(c["branch"] for c in children)
        if children and own > 0:  # the record's own a/mx/ptr/exists terms: with them the rows add up
            terms = ", ".join(_own_terms(rec)) or "other terms"
            mine = QTreeWidgetItem([terms, "this record's own terms", str(own), ""])
            mine.setToolTip(0, tip(f"Terms of {_text(node['domain'])}'s own record that need a DNS "
                                   "lookup each"))
            mine.setTextAlignment(2, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            item.addChild(mine)
        for child in children:
            add_node(child, item, depth + 1)

    add_node(tree, view, 0)
    view.expandAll()
    header = view.header()
    header.setStretchLastSection(False)
    header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
    header.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)  # fitted to the card's width on resize
    view.fit_columns()
    fit_height(view)
    return view
