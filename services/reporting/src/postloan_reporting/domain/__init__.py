"""Pure reporting logic: state intervals, KPIs, roll rates, vintages, collections (no I/O)."""
