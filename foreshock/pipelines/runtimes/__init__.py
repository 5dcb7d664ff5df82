"""The runtimes: embedded (a replay), live (Prometheus), distributed (Kafka), one series."""
