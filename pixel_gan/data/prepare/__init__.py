"""``pixel-gan data prepare|check``: scraped photos and pixel art -> a clean unpaired dataset.

Split by job: ``sources`` (listing, safe decoding), ``grid`` (cell size and native grid of pixel
art), ``dedup`` (exact and perceptual-hash duplicates), ``split`` (deterministic, grouped),
``pipeline`` (judging each file), ``report`` (report.md, contact sheet), ``build`` (writing the
folder whole), ``check`` (validating a folder), ``cli`` (the typer commands).
"""
