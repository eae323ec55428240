"""MTCamera: the main camera's image cycle, as the observatory names it.

Its topics are in `MTCamera.yaml` beside this module.
"""

from dmcs.sal.interface_file import load_interface

MT_CAMERA = load_interface("MTCamera")

#: The events of one image, in the order the camera publishes them.
IMAGE_EVENTS = ("startIntegration", "startReadout", "endReadout", "endOfImageTelemetry")
