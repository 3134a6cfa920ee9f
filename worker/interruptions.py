"""Why a job stopped before it finished training, as exceptions raised at a batch boundary."""


class JobInterrupted(Exception):
    """Training stopped early on purpose; the worker loop decides what becomes of the job."""


class JobCancelled(JobInterrupted):
    """A user cancelled the job."""


class WorkerStopping(JobInterrupted):
    """The worker was asked to stop (SIGTERM); the job goes back to the queue."""


class JobLost(JobInterrupted):
    """Another worker has taken the job over (this one's heartbeat lapsed)."""


class TrainingDiverged(Exception):
    """The loss became NaN or infinite: the job fails rather than train on garbage."""
