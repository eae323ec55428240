"""State diagrams drawn from the machines' own tables, so docs cannot drift from the code.

``python -m dmcs.state_machines.diagrams > docs/state_machines.md`` regenerates the page.
"""

from __future__ import annotations

from dmcs.state_machines.summary_state import STATE_COMMANDS, TRANSITIONS, State


def summary_state_mermaid() -> str:
    """The CSC summary state machine as a Mermaid state diagram."""
    lines = ["stateDiagram-v2", f"    [*] --> {State.STANDBY.name}"]
    for trigger, src, dst in TRANSITIONS:
        label = trigger if trigger in STATE_COMMANDS else f"{trigger} (internal)"
        lines.append(f"    {src.name} --> {dst.name}: {label}")
    lines.append(f"    {State.OFFLINE.name} --> [*]")
    return "\n".join(lines)


def state_machines_page() -> str:
    """The whole docs/state_machines.md page."""
    rows = "\n".join(f"| {s.name} | {s.value} |" for s in State)
    table = "\n".join(
        f"| `{trigger}` | {src.name} | {dst.name} |" for trigger, src, dst in TRANSITIONS
    )
    return f"""# State machines

Generated from `dmcs/state_machines/` by `python -m dmcs.state_machines.diagrams`;
a test fails if this page and the code disagree.

## CSC summary state

Every CSC starts in STANDBY (or the state `dmcs run --state` asks for). A state command not
allowed in the current state is answered CMD_FAILED with "`<command>` not allowed in state
`<STATE>`", and the state does not change. `fault` is entered by the CSC itself (or the Test
CSC's `fault` command) and publishes `errorCode`; `standby` recovers from it.

```mermaid
{summary_state_mermaid()}
```

| state | summaryState value |
| --- | --- |
{rows}

| command | from | to |
| --- | --- | --- |
{table}
"""


if __name__ == "__main__":
    print(state_machines_page(), end="")
