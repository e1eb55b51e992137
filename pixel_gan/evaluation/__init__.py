"""Evaluation of trained runs: metrics, classical baselines and an HTML/Markdown comparison report.

``python evaluate.py runs=...`` (see conf/evaluate.yaml) calls ``pipeline.run_evaluation``; the parts
are ``runs`` (finding run folders), ``metrics`` (scoring outputs), ``baselines`` and ``report``.
Nothing is imported here, so the light parts (``runs``, ``report``) load without the models.
"""
