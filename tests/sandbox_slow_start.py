"""Imported by a sandbox worker before its first job (test_sandbox): a slow start."""

import time

time.sleep(2)
