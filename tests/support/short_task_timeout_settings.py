"""Studio's settings with a cluster task timeout of two seconds (the timeout-trap test)."""

from config.settings import *  # noqa: F403
from config.settings import Q_CLUSTER

Q_CLUSTER = {**Q_CLUSTER, "timeout": 2, "retry": 4}
