"""The dependency graph: backends (networkx, Neo4j) and the root-cause algorithms on them."""
