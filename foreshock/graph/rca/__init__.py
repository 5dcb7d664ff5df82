"""Root-cause analysis on the graph: incident grouping and candidate ranking."""
