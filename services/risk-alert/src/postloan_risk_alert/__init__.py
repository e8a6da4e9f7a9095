"""risk-alert (风险预警): behavioural scores, classification, IFRS 9, early-warning rules and alerts."""

import os

# Scoring works on tall, narrow matrices where OpenBLAS threads only contend with each other
# (and with the API and consumer on the same cores); one thread is markedly faster here.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
