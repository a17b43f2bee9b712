"""Bundled data: icons, styles and the demo zones."""
