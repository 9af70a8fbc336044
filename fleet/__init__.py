"""The route planner: problems, travel matrices, solver adapters and an independent feasibility checker."""
