"""The nbgrader exchange, read safely: every student can write into its inbound folder.

inbound.py   scan (which folders of inbound are submissions), latest_per_student,
             collect (one submission copied: no link followed, nothing blocks, bounded
             cost, atomic)
collect.py   SafeCollect: `nbgrader collect` with those rules
             (c.ExchangeFactory.collect = "instructor.exchange.collect.SafeCollect")
"""
