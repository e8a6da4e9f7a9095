"""Renderers of the management report: HTML (inline SVG), PDF (reportlab), XLSX (openpyxl)."""
