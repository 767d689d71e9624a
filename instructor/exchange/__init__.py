"""The nbgrader exchange, made safe and read safely: every student can write into it.

Its command is `python -m instructor exchange init|check` (instructor/commands/exchange.py).

layout.py    the exchange's folders, their modes and owners, and why (Layout, Verdict)
check.py     who besides root and the instructor could subvert them (check), and the one
             command that fixes it (describe, advice)
make.py      the folders made or corrected (init), and require_safe (what `watch`,
             `release` and `lab instructor` call at start)
inbound.py   scan (which folders of inbound are submissions, and whose), latest_per_student,
             split_forged (folders in another student's name)
copier.py    collect (one submission copied: no link followed, nothing blocks, bounded cost,
             atomic)
forgeries.py the submissions refused as made in another student's name, for the class report
collect.py   SafeCollect: `nbgrader collect` with those rules
             (c.ExchangeFactory.collect = "instructor.exchange.collect.SafeCollect")
"""
