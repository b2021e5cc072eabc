"""The mechanism comparison behind ``reports/mechanisms.md`` (issue 10, item 2), run by
``benchmarks/mechanisms_report.py``: ``design`` (what is compared), ``runs`` (playing it), ``tables`` (metric and scale
tables, the scale fits), ``plot`` (the figure), ``glossary`` (the fault report's numbers, the glossary table), ``prose``
(the generated reading) and ``report`` (all of it into the Markdown file)."""
