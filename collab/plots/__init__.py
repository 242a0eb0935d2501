"""Figure builders: plain data in, `plotly.graph_objects.Figure` out. One module per area."""
