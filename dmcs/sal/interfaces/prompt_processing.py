"""PromptProcessing: alert production for each visit as it is read out.

Its topics are in `PromptProcessing.yaml` beside this module.
"""

from dmcs.sal.interface_file import load_interface

PROMPT_PROCESSING = load_interface("PromptProcessing")
