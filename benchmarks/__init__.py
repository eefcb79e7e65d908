"""Benchmarks: ``python -m benchmarks`` runs every module here that defines ``run()``.

Each ``run()`` prints its own measurements and returns them as a dict; ratios are computed
within one run on one machine, so they compare like with like. Tests never assert timings.
"""
