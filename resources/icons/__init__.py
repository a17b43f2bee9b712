"""SVG icons (status badges, chevrons, copy, the app icon)."""
