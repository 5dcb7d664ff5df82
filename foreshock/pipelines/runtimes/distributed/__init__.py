"""The distributed runtime: partition drivers, Faust agents, publishing, cluster helpers."""
