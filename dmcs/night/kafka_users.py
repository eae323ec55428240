"""The users of a secure night (`dmcs night --secure`): one SCRAM user per service, each with
prefix ACLs, as the site gives each of its services a user of its own.

Every service reads every topic of the night (its commands, the Remotes it follows) and may
create them; it writes only its own topics (`lsst.<subname>.<Name>.*`: events, telemetry,
acks) and the command topics of the other components (`lsst.<subname>.<Other>.command_*`),
so no service can forge another's events or acks. Prompt processing also creates and writes
the alert stream (`lsst-alerts-v11.<subname>`, outside the subname's topics, as at the site).
The `dmcs night` process (the night script, the observer, the timed commands, the count of
alerts a broker reads) is the operator, `night`, writing anywhere under the subname and
reading the alert stream; the schema registry has its own user for `_schemas`.
"""

from __future__ import annotations

from collections.abc import Iterable

from dmcs.kafka import ServiceUser
from dmcs.sal.registry.log import SCHEMAS_TOPIC
from dmcs.services.prompt_processing.alert_stream import default_alert_topic

NIGHT_USER = "night"
REGISTRY_USER = "registry"
#: Components commanded in a night that run inside the `dmcs night` process, not as a CSC.
IN_PROCESS = ("Script",)
#: The service that writes the alert stream.
ALERT_PRODUCER = "PromptProcessing"


def user_name(component: str) -> str:
    """The SCRAM user of a component's processes: `Archiver` → `archiver`."""
    return component.lower()


def night_users(subname: str, components: Iterable[str]) -> tuple[ServiceUser, ...]:
    """A user per component (names without index), the night's own and the registry's."""
    names = sorted(set(components))
    everything = f"lsst.{subname}.*"
    alerts = default_alert_topic(subname)
    users = []
    for name in names:
        commands = [f"lsst.{subname}.{other}.command_*"
                    for other in (*names, *IN_PROCESS) if other != name]
        extra = [alerts] if name == ALERT_PRODUCER else []
        users.append(ServiceUser(user_name(name), reads=(everything,),
                                 writes=(f"lsst.{subname}.{name}.*", *commands, *extra),
                                 creates=(everything, *extra), groups=("*",)))
    users.append(ServiceUser(NIGHT_USER, reads=(everything, alerts), writes=(everything,),
                             creates=(everything,), groups=("*",)))
    users.append(ServiceUser(REGISTRY_USER, reads=(SCHEMAS_TOPIC,), writes=(SCHEMAS_TOPIC,),
                             creates=(SCHEMAS_TOPIC,), groups=("*",)))
    return tuple(users)
