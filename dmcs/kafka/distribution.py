"""Where Apache Kafka's jars and a Java runtime are on this machine.

`make kafka-dist` fetches the broker's jars with Maven (kafka/pom.xml) into the checkout's
`var/kafka/jars`, once; nothing is downloaded at run time. Everything that launches a node
asks :func:`find_distribution` first, so a missing piece is one line saying how to get it.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

#: The checkout this package runs from (an editable install): var/kafka/jars lives there.
CHECKOUT = Path(__file__).resolve().parents[2]
DEFAULT_JARS_DIR = CHECKOUT / "var" / "kafka" / "jars"
#: The broker's own jar (its version is in the name).
BROKER_JAR_GLOB = "kafka_2.13-*.jar"
#: Written by `make kafka-dist` once Maven fetched every jar (a partial fetch has none).
FETCHED_STAMP = ".fetched"


class KafkaDistributionError(RuntimeError):
    """Java or Kafka's jars are missing; the message says how to get them."""


@dataclass(frozen=True)
class KafkaDistribution:
    """A Java runtime and a folder of Kafka's jars: enough to run a KRaft node."""

    java: Path
    jars_dir: Path

    @property
    def classpath(self) -> str:
        """Every jar of the folder, as the JVM expands a `dir/*` entry."""
        return str(self.jars_dir / "*")

    @property
    def version(self) -> str:
        """Kafka's version, from the broker jar's name (`kafka_2.13-4.4.0.jar` → 4.4.0)."""
        jar = next(self.jars_dir.glob(BROKER_JAR_GLOB))
        return jar.stem.split("-", 1)[1]

    def java_command(self, main_class: str, *args: str, jvm_options: tuple[str, ...] = ()
                     ) -> list[str]:
        """The command line that runs `main_class` of Kafka's jars."""
        return [str(self.java), *jvm_options, "-cp", self.classpath, main_class, *args]


def find_distribution(jars_dir: Path | None = None) -> KafkaDistribution:
    """Java and the jars, or KafkaDistributionError naming what is missing and the fix."""
    jars = jars_dir or DEFAULT_JARS_DIR
    java = shutil.which("java")
    if java is None:
        raise KafkaDistributionError(
            "no Java runtime: java is not on the PATH; "
            "Kafka needs Java 17 or newer (Debian: apt-get install openjdk-17-jre-headless)")
    if not (jars / FETCHED_STAMP).exists() or not any(jars.glob(BROKER_JAR_GLOB)):
        raise KafkaDistributionError(
            f"Apache Kafka's jars are not in {jars}; run `make kafka-dist` to fetch them")
    return KafkaDistribution(Path(java), jars)


def kafka_available(jars_dir: Path | None = None) -> bool:
    """True when a node can be launched here (Java and the jars are present)."""
    try:
        find_distribution(jars_dir)
    except KafkaDistributionError:
        return False
    return True
