"""Widgets of the dashboard: line charts, the stage timeline, weight bars, figures, the board."""
