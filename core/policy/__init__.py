"""Judging a domain's checks: the bulk-sender checklist, compliance profiles, the audit report, what changed
since the last run, and the pipeline that puts them together (``pipeline.check_and_judge``)."""
