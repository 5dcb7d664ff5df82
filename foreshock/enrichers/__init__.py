"""Report building: the narrator, and the stores reports go to."""
