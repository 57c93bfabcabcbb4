"""The job engine, one module per step of a job's life, each importing only the steps before it.

    ledger    credits: reserve at create, settle on success, release on failure or cancel
    states    the state machine: `transition`, `fail`, `needs_attention`, `record_event`
    leases    how long each step may hold its job (settings), backoff
    dispatch  hand a claimed step to a django-q2 task (submit or render)
    create    validate a request and store the job in draft
    actions   what creators do to a job: cancel, resubmit, mark failed, rerun, retry
    results   turn a finished file into a stored `Video` and mark the job succeeded
    request   build the provider's `SubmitRequest` from a job's rows and files
    render    local-engine jobs: rendered inside a django-q2 task
    submit    send a draft to its provider, at most once
    poll      ask a gateway how a job is doing and act on the answer (collect, fail, time out)
    sweep     one pass over the database: every due job gets its next step
    scheduler the loop `manage.py worker` runs: heartbeat, sweep passes, poll threads

Every status change goes through `states.transition`: a conditional UPDATE on the
expected status plus a `JobEvent`, in one transaction. Nothing here imports views,
forms or `studio.tasks`; tasks are named by their dotted path.
"""
