"""MTHeaderService: announces the header of each camera image.

Its topics are in `MTHeaderService.yaml` beside this module.
"""

from dmcs.sal.interface_file import load_interface

MT_HEADER_SERVICE = load_interface("MTHeaderService")
