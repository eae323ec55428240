"""`dmcs night` end to end: broker, every CSC as a process, the night script, the report.

Order: a private broker (unless `--broker`), site configs under `<root>/config`, every CSC
as its own supervised `dmcs run` process, the `night` script (which enables the DMCS, and
through it every service), then everything walked to OFFLINE, processes and broker stopped,
the archive audited and the report written. SIGINT stops the script and still runs the
whole way down, so the report is written and nothing is left running.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import time
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from rich.console import Console
from rich.live import Live

from dmcs.csc.registry import COMPONENTS, get_interface
from dmcs.kafka.node_config import replication_factor
from dmcs.night.alert_count import alerts_consumed
from dmcs.night.cluster_watch import ClusterWatch
from dmcs.night.efd import EFD_WRITER, efd_url, write_efd_report
from dmcs.night.kafka_users import NIGHT_USER, REGISTRY_USER, night_users, user_name
from dmcs.night.live import render
from dmcs.night.metrics import MetricsPorts, check_dashboards, dashboards_line, local_prometheus
from dmcs.night.observer import NightObserver
from dmcs.night.options import NightOptions
from dmcs.night.report import NightReport, build_report
from dmcs.night.site import NICENESS, SERVICES, SIMULATORS, write_night_configs
from dmcs.night.supervisor import Supervisor
from dmcs.ocs import BUSY_ATTEMPTS, OcsError, walk_to_state
from dmcs.payloads.repository import OutputRepository
from dmcs.sal.broker import private_kafka, start_private_broker
from dmcs.sal.config import BROKER_ENV, BROKER_KIND_ENV, REGISTRY_ENV, REPLICATION_ENV, SUBNAME_ENV
from dmcs.sal.domain import Domain
from dmcs.sal.registry.process import start_private_registry
from dmcs.sal.remote import Remote
from dmcs.scripts.base_script import BaseScript
from dmcs.scripts.night import NightScript
from dmcs.scripts.runner import run_script
from dmcs.services.prompt_processing.alert_stream import default_alert_topic
from dmcs.settings import settings
from dmcs.state_machines.summary_state import State

if TYPE_CHECKING:
    from dmcs.kafka import KafkaCluster
    from dmcs.services.archiver.audit import Audit

log = logging.getLogger(__name__)

NIGHT_SCRIPT_INDEX = 1
STARTUP_TIMEOUT_S = 120.0
SHUTDOWN_TIMEOUT_S = 120.0
LIVE_REFRESH_S = 0.5
TEARDOWN_TIMEOUT_S = 10.0


class NightError(RuntimeError):
    """The night could not be run; the text says what and where to look."""


def parse_label(label: str) -> tuple[str, int]:
    name, _, index = label.partition(":")
    return name, int(index) if index else 0


class Night:
    """One night; `supervisor`, `observer` and `script` are there for drills and tests.

    `cluster`: a Kafka cluster someone else runs (a test's), used and watched as the night's
    own `--brokers N` cluster would be, and left running afterwards.
    """

    def __init__(self, options: NightOptions, console: Console | None = None,
                 cluster: KafkaCluster | None = None) -> None:
        self.options = options
        self.console = console or Console(highlight=False)
        self.interrupted: asyncio.Future[str] | None = None
        self.supervisor: Supervisor | None = None
        self.observer: NightObserver | None = None
        self.script: BaseScript | None = None
        self.domain: Domain | None = None
        #: With `--brokers N`: the night's own cluster, and what the night saw of it.
        self.cluster = cluster
        self.cluster_watch: ClusterWatch | None = None
        self.remotes: dict[str, Remote] = {}
        self.metrics = MetricsPorts(options.root.resolve())
        self.prometheus: str | None = None
        self.started = time.monotonic()
        self.wall_started = time.time()

    def interrupt(self, why: str = "interrupted") -> None:
        """Stop the night (what SIGINT does): the script stops, everything comes down."""
        if self.interrupted is not None and not self.interrupted.done():
            self.interrupted.set_result(why)

    async def run(self, install_signal_handlers: bool = False) -> NightReport:
        options = self.options
        root = options.root.resolve()
        root.mkdir(parents=True, exist_ok=True)
        self.interrupted = asyncio.get_running_loop().create_future()
        if install_signal_handlers:
            for sig in (signal.SIGINT, signal.SIGTERM):
                asyncio.get_running_loop().add_signal_handler(sig, self.interrupt, sig.name)
        components = [c for c in (*SIMULATORS, *SERVICES) if _runnable(parse_label(c)[0])]
        missing = [c for c in (*SIMULATORS, *SERVICES) if c not in components]
        if missing:
            self.step(f"[yellow]not available yet, running without:[/] {', '.join(missing)}")
        with contextlib.ExitStack() as stack:
            efd = stack.enter_context(efd_url(options.efd, root, local=options.local_efd))
            if efd is not None and _runnable(EFD_WRITER):
                self.step(f"EFD (InfluxDB) at {efd}")
            else:
                efd = None
            self.prometheus = stack.enter_context(local_prometheus(root, wanted=efd is not None))
            if self.prometheus is not None:
                self.step(f"Prometheus at {self.prometheus}, scraping the CSCs listed in "
                          f"{self.metrics.config.sd_dir}")
            config_root = write_night_configs(options, components, efd_url=efd)
            await self._prerender(config_root)
            bootstrap = options.broker
            kind = settings().sal().broker_kind
            replication = settings().sal().replication_factor
            if self.cluster is not None:
                bootstrap, kind = self.cluster.bootstrap_servers, "kafka"
                replication = replication_factor(self.cluster.size)
            elif bootstrap is None and (options.brokers > 1 or options.secure):
                subname = settings().sal(None, options.subname).subname
                users = (night_users(subname, [parse_label(c)[0] for c in components]
                                     + ["DMCS", EFD_WRITER]) if options.secure else None)
                self.cluster, broker = stack.enter_context(
                    private_kafka(root, options.brokers, users=users))
                replication = replication_factor(options.brokers)
                bootstrap, kind = broker.bootstrap_servers, broker.kind
                secured = (f"; SASL/SCRAM-SHA-512, {len(users)} users with prefix ACLs"
                           if users else "")
                self.step(f"private Kafka cluster on {bootstrap} (pids "
                          f"{', '.join(str(n.pid) for n in self.cluster.nodes)}; "
                          f"{broker.what}; every topic {replication} copies{secured})")
            elif bootstrap is None:
                broker = stack.enter_context(start_private_broker(root))
                bootstrap, kind = broker.bootstrap_servers, broker.kind
                self.step(f"private broker on {bootstrap} (pid {broker.pid}; {broker.what})")
            sal_env = {BROKER_ENV: bootstrap, BROKER_KIND_ENV: kind,
                       REPLICATION_ENV: str(replication)}
            registry = options.registry
            if registry is None:
                own = stack.enter_context(start_private_registry(
                    bootstrap, root, {**os.environ, **sal_env, **self._login(REGISTRY_USER)}))
                registry = own.url
                self.step(f"schema registry at {registry} (pid {own.pid})")
            config = replace(settings().sal(bootstrap, options.subname, registry),
                             broker_kind=kind, replication_factor=replication)
            if self._secure:
                assert self.cluster is not None
                config = replace(config, security=self.cluster.client_options(NIGHT_USER))
            self.step(f"topics lsst.{config.subname}.* on {bootstrap}, schemas in {registry}")
            env = {**os.environ, **sal_env, SUBNAME_ENV: config.subname, REGISTRY_ENV: registry,
                   "DMCS_HOME": str(root / "home")}
            domain = self.domain = Domain(config)
            await domain.start()
            try:
                if self.cluster is not None:
                    self.cluster_watch = ClusterWatch(domain, bootstrap, self.cluster.size,
                                                      config.security)
                    await self.cluster_watch.start()
                return await self._night(domain, env, config_root, [*components, "DMCS"], efd)
            finally:
                if self.cluster_watch is not None:
                    await _bounded("closing the cluster watch", self.cluster_watch.close())
                await _bounded("closing the Kafka connection", domain.close())

    @property
    def _secure(self) -> bool:
        return self.cluster is not None and self.cluster.security is not None

    def _login(self, user: str) -> dict[str, str]:
        """`user`'s LSST_KAFKA_SECURITY_* settings on a secure cluster, else nothing."""
        if not self._secure:
            return {}
        assert self.cluster is not None
        return self.cluster.client_env(user)

    def _env(self, env: dict[str, str], component: str) -> dict[str, str] | None:
        """A CSC's environment: the night's, with its own Kafka user on a secure cluster."""
        return {**env, **self._login(user_name(component))} if self._secure else None

    async def _prerender(self, config_root: Path) -> None:
        """The camera's pixels for every visit, rendered before anything starts (or found in
        the render cache from an earlier night), so no readout renders inside the night."""
        from dmcs.sims.camera_render import prerender_site

        self.step("rendering the camera's pixels before the night (niced, every core)")
        rendering = await asyncio.to_thread(
            prerender_site, config_root, range(1, self.options.visits + 1))
        self.step(rendering.line())

    async def _night(self, domain: Domain, env: dict[str, str], config_root: Path,
                     components: list[str], efd: str | None) -> NightReport:
        options = self.options
        supervisor = self.supervisor = Supervisor(env, options.root.resolve() / "logs")
        observer = self.observer = NightObserver(domain, ccds=len(options.detectors))
        await observer.start()
        script_state, script_reason = "NOT RUN", ""
        try:
            for label in components:
                name, index = parse_label(label)
                await supervisor.add(name, index, "--config-dir", str(config_root),
                                     *self.metrics.args(name, index), env=self._env(env, name),
                                     niceness=NICENESS.get(name, 0))
            if efd is not None:
                await supervisor.add(EFD_WRITER, 0, "--config-dir", str(config_root),
                                     "--state", "ENABLED", *self.metrics.args(EFD_WRITER, 0),
                                     env=self._env(env, EFD_WRITER),
                                     niceness=NICENESS[EFD_WRITER])
                components = [EFD_WRITER, *components]
            self.step(f"{len(components)} CSC processes started (subname {domain.subname}); "
                      f"logs in {options.root / 'logs'}")
            if await self._started(domain, components):
                if self.cluster_watch is not None:
                    await self.cluster_watch.start_probe()
                self.step(f"night script Script:{NIGHT_SCRIPT_INDEX}: pause with `dmcs command "
                          f"Script:{NIGHT_SCRIPT_INDEX} pause --subname {domain.subname} "
                          f"--broker {domain.bootstrap_servers}`")
                script = await self._with_live_table(self._run_script(domain))
                script_state, script_reason = script.state.name, script.reason
                self.step(f"night script ended {script_state}: {script_reason}")
        finally:
            if self.cluster_watch is not None:
                await _bounded("stopping the timed commands", self.cluster_watch.stop_probe())
            try:
                await self._shutdown(components)
            finally:
                await supervisor.stop_all()
                await _bounded("closing the observer", observer.close())
        efd_report, dashboards = "", {}
        if efd is not None:
            efd_report = await write_efd_report(
                efd, self.prometheus, options.root.resolve() / "efd-report.html",
                start=self.wall_started)
        if efd is not None and self.prometheus is not None:
            dashboards = await check_dashboards(efd, self.prometheus, start=self.wall_started)
            self.step(f"dashboards: {dashboards_line(dashboards)}")
        topic = default_alert_topic(domain.subname)
        consumed = await alerts_consumed(domain, topic)
        self.step(f"a broker's consumer read {consumed} alerts from {topic}")
        return build_report(
            observer, self._audit(), restarts=supervisor.restarts(), script_state=script_state,
            script_reason=script_reason, interrupted=self._was_interrupted(),
            elapsed_s=time.monotonic() - self.started, root=options.root,
            efd_report=efd_report, dashboards=dashboards, butler_repo=self._butler_repo(),
            prompt_products=self._prompt_products(), alerts_consumed=consumed,
            alert_topic=topic, apdb_url=self._apdb_url(),
            cluster=self.cluster_watch.summary() if self.cluster_watch is not None else None)

    async def _run_script(self, domain: Domain) -> BaseScript:
        options = self.options
        config = {"visits": options.visits, "cadence": options.cadence,
                  "lead_time": options.lead_time, "calibrations": options.calibrations > 0}
        assert self.interrupted is not None

        def keep(script: BaseScript) -> None:
            self.script = script
            if not options.live:
                script.log.setLevel(logging.INFO)
                script.log.propagate = False
                script.log.addHandler(_StepEcho(self))

        return await run_script(domain, NightScript, NIGHT_SCRIPT_INDEX, yaml.safe_dump(config),
                                stop_requested=self.interrupted, on_start=keep)

    async def _started(self, domain: Domain, components: list[str]) -> bool:
        """Every CSC announced itself, unless interrupted first (or one never did: said)."""
        try:
            return await self._unless_interrupted(self._wait_alive(domain, components))
        except NightError as err:
            self.step(f"[red]{err}[/]")
            return False

    async def _wait_alive(self, domain: Domain, components: list[str]) -> None:
        """Every CSC process has announced itself (first heartbeat).

        The Remotes opened here stay open until the night is down and are the ones the
        shutdown commands through: no reader has to start on a busy broker at the end.
        """
        async def alive(label: str) -> None:
            name, index = parse_label(label)
            remote = Remote(domain, get_interface(name), index, include=["summaryState"])
            await remote.start()
            self.remotes[label] = remote
            await remote.evt("heartbeat").aget(timeout=STARTUP_TIMEOUT_S)

        waits = {label: asyncio.ensure_future(alive(label)) for label in components}
        _, pending = await asyncio.wait(waits.values(), timeout=STARTUP_TIMEOUT_S)
        for task in pending:
            task.cancel()
        late = [label for label, task in waits.items() if task in pending or task.exception()]
        if late:
            raise NightError(f"not heard from within {STARTUP_TIMEOUT_S:g} s: "
                             f"{', '.join(late)} (see their logs in {self.options.root}/logs)")
        self.step("every CSC is up (STANDBY)")

    async def _unless_interrupted(self, work: Any) -> bool:
        """Run `work` unless interrupted first; True if it finished."""
        assert self.interrupted is not None
        task = asyncio.ensure_future(work)
        await asyncio.wait([task, self.interrupted], return_when=asyncio.FIRST_COMPLETED)
        if not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            return False
        task.result()
        return True

    async def _with_live_table(self, work: Any) -> Any:
        if not self.options.live:
            return await work
        assert self.supervisor is not None and self.observer is not None
        with Live(self._render(), console=self.console, refresh_per_second=2,
                  transient=False) as live:
            task = asyncio.ensure_future(work)
            while not task.done():
                await asyncio.wait([task], timeout=LIVE_REFRESH_S)
                live.update(self._render())
            return task.result()

    def _render(self) -> Any:
        assert self.supervisor is not None and self.observer is not None
        script = self.script
        line = (f"{script.state.name} at {script.last_checkpoint or '-'}" if script is not None
                else "starting")
        return render(self.observer, self.supervisor, line, time.monotonic() - self.started,
                      own_states=self._own_states())

    def _own_states(self) -> dict[str, int]:
        """Each CSC's summary state as it last published it (read by the night's Remotes)."""
        said = {label: remote.evt("summaryState").get() for label, remote in self.remotes.items()}
        return {label: sample.summaryState for label, sample in said.items() if sample}

    async def _shutdown(self, components: list[str]) -> None:
        """DMCS to STANDBY (services follow), then every CSC to OFFLINE, in reverse order."""
        assert self.supervisor is not None
        self.step("bringing everything down to OFFLINE")
        await _quietly("DMCS standby", self._walk("DMCS", State.STANDBY))
        for label in reversed(components):
            await self.supervisor.release(label)
            await _quietly(f"{label} offline", self._walk(label, State.OFFLINE))
            if not await self.supervisor.wait_exited(label, 15.0):
                log.warning("%s did not exit after exitControl", label)
        for label, remote in self.remotes.items():
            await _bounded(f"closing the {label} remote", remote.close())

    async def _walk(self, label: str, target: State) -> None:
        """Walk to `target`; tried again from the state then read if a command lost a race
        (e.g. with a walk the stopped night script had in flight)."""
        remote = self.remotes.get(label)
        if remote is None:
            raise ValueError(f"{label} was never heard from; not walked to {target.name}")
        await walk_to_state(remote, target, timeout=SHUTDOWN_TIMEOUT_S, attempts=BUSY_ATTEMPTS)

    def _butler_repo(self) -> str:
        """The archive's Butler repository, once the Archiver has created it."""
        archive_root = self.options.root.resolve() / "data" / "archive"
        return str(archive_root) if (archive_root / "butler.yaml").exists() else ""

    def _prompt_products(self) -> dict[str, int]:
        repo = self._butler_repo()
        if not repo:
            return {}
        from lsst.daf.butler import Butler

        from dmcs.butler.prompt_products import products_in

        return products_in(Butler.from_config(repo))

    def _apdb_url(self) -> str:
        """Prompt processing's APDB (in its work_dir's outputs, as `write_night_configs` sets)."""
        outputs = self.options.root.resolve() / "data" / "prompt_processing" / "outputs"
        return OutputRepository(outputs).default_apdb_url()

    def _audit(self) -> Audit | None:
        repo = self._butler_repo()
        if not repo:
            return None
        from lsst.daf.butler import Butler

        from dmcs.services.archiver.audit import audit_archive

        return audit_archive(Butler.from_config(repo), Path(repo))

    def _was_interrupted(self) -> bool:
        return self.interrupted is not None and self.interrupted.done()

    def step(self, text: str) -> None:
        self.console.print(f"[bold cyan]{time.monotonic() - self.started:6.1f} s[/]  {text}")


async def _quietly(what: str, work: Any) -> None:
    """Shutdown goes on whatever one component does; say what went wrong."""
    try:
        await asyncio.wait_for(work, SHUTDOWN_TIMEOUT_S)
    except (OcsError, TimeoutError, ValueError) as err:
        log.warning("%s: %s", what, err)


async def _bounded(what: str, work: Any) -> None:
    """Teardown that must not keep the report from being written: bounded, and said."""
    try:
        await asyncio.wait_for(work, TEARDOWN_TIMEOUT_S)
    except TimeoutError:
        log.warning("%s took more than %.0f s; going on", what, TEARDOWN_TIMEOUT_S)


def _runnable(name: str) -> bool:
    """The component is registered and its CSC module imports (a service not yet built, or
    broken, is left out of the night and named, rather than failing the night)."""
    if name not in COMPONENTS:
        return False
    try:
        get_interface(name)
    except ImportError as err:
        log.warning("%s cannot be run: %s", name, err)
        return False
    return True


class _StepEcho(logging.Handler):
    """Without the live table, the night script's steps are printed as they happen."""

    def __init__(self, night: Night) -> None:
        super().__init__(logging.INFO)
        self.night = night

    def emit(self, record: logging.LogRecord) -> None:
        self.night.step(f"night script: {record.getMessage()}")
