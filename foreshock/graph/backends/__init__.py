"""Graph backends behind one protocol: in memory (networkx) and Neo4j (with incident history)."""
