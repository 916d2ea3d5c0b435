"""Plotly figure builders, one module per concern: :mod:`~mtl.plots.data`,
:mod:`~mtl.plots.train`, :mod:`~mtl.plots.diagnostics`, :mod:`~mtl.plots.compare`,
:mod:`~mtl.plots.tradeoff`, :mod:`~mtl.plots.recommend`, all drawn in the shared
look of :mod:`~mtl.plots.style`.

Pure functions from library objects to :class:`plotly.graph_objects.Figure`, with no
user-interface imports, so the app, a notebook and the tests build the same figures.
"""
