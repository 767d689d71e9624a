"""Grade on submit: a service that grades each submission as it arrives and feeds it back.

    service.py   the loop: the inbound folder read, each submission collected, graded on the
                 cluster, recorded and fed back (`Service`)
    fair.py      the queue: one submission per student at a time, the latest taken
    journal.py   every step of every submission, so that nothing is lost or done twice
    deliver.py   the feedback made and released through nbgrader
    policy.py    GradeOnSubmit: the attempt limit, the cooldown, what shows before the due date
    status.py    the service's own log and status file, and `watch --status`

The command is `python -m instructor watch` (instructor/commands/watch.py).
"""
