"""Test: every field type, for tests and benchmarks.

Its topics are in `Test.yaml` beside this module.
"""

from dmcs.sal.interface_file import load_interface

TEST = load_interface("Test")

#: Length of every array of the `arrays` topics.
ARRAY_LENGTH = len(TEST.telemetry["arrays"]().model_dump()["int0"])
