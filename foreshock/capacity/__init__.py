"""The capacity planner's surface: forecasts of a replay, runway tables, plots and charts."""
