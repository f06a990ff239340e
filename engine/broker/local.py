"""A real single-node Apache Kafka (KRaft) run from the official jars.

``KafkaDist`` fetches ``org.apache.kafka:kafka_2.13`` and a log4j backend from
Maven Central with Maven, once, into a cache outside the repository.
``LocalBroker`` formats KRaft storage, starts one combined broker+controller
bound to loopback, waits until it really serves clients (log line, TCP
connect, a metadata round trip), and stops only the pid it started:
SIGTERM for a controlled shutdown, SIGKILL after 30 s.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import os
import random
import signal
import socket
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from engine.errors import BrokerError

if TYPE_CHECKING:
    from engine.settings import Settings

_POM = """<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>ssa.local</groupId><artifactId>kafka-dist</artifactId><version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId>
      <version>{version}</version></dependency>
    <dependency><groupId>org.slf4j</groupId><artifactId>slf4j-reload4j</artifactId>
      <version>1.7.36</version></dependency>
    <dependency><groupId>ch.qos.reload4j</groupId><artifactId>reload4j</artifactId>
      <version>1.2.25</version></dependency>
  </dependencies>
</project>
"""

_LOG4J = """log4j.rootLogger=INFO, stdout
log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka=INFO
log4j.logger.org.apache.kafka=INFO
log4j.logger.state.change.logger=WARN
log4j.logger.kafka.log.LogCleaner=WARN
"""

_JVM_OPTS = [
    "-server",
    "-XX:+UseG1GC",
    "-XX:MaxGCPauseMillis=20",
    "-XX:InitiatingHeapOccupancyPercent=35",
    "-Djava.awt.headless=true",
]

READY_LINE = "Kafka Server started"


@dataclass(frozen=True)
class KafkaDist:
    """The broker's jars for one Kafka version, cached under ``home``."""

    version: str
    home: Path

    @property
    def libs(self) -> Path:
        return self.home / self.version / "libs"

    def ready(self) -> bool:
        return (self.home / self.version / ".complete").exists()

    def ensure(self) -> Path:
        """Fetch the jars with Maven unless cached; safe to call from several processes."""
        if self.ready():
            return self.libs
        base = self.home / self.version
        base.mkdir(parents=True, exist_ok=True)
        with open(base / ".lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if self.ready():
                return self.libs
            pom = base / "pom.xml"
            pom.write_text(_POM.format(version=self.version))
            cmd = [
                "mvn", "-q", "-B", "-f", str(pom), "dependency:copy-dependencies",
                f"-DoutputDirectory={self.libs}", "-DincludeScope=runtime",
            ]  # fmt: skip
            try:
                proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900)  # noqa: S603
            except FileNotFoundError:
                raise BrokerError(
                    "Maven (mvn) is not installed; it fetches the Kafka jars"
                ) from None
            if proc.returncode != 0:
                tail = (proc.stdout + proc.stderr).strip().splitlines()[-15:]
                raise BrokerError(
                    f"fetching Kafka {self.version} with Maven failed:\n" + "\n".join(tail)
                )
            if not any(self.libs.glob("kafka_2.13-*.jar")):
                raise BrokerError(f"Maven finished but no kafka_2.13 jar is in {self.libs}")
            (base / ".complete").write_text("ok\n")
        return self.libs


#: Ports handed out by ``free_port``: below Linux's ephemeral range (32768+),
#: so an outgoing connection cannot take the port between choosing and binding it.
_FREE_PORTS = (20000, 32000)


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP and UDP port that was free a moment ago (for tests, demos, throwaway brokers)."""
    rng = random.SystemRandom()
    for _ in range(200):
        port = rng.randrange(*_FREE_PORTS)
        try:
            with socket.socket() as tcp, socket.socket(type=socket.SOCK_DGRAM) as udp:
                tcp.bind((host, port))
                udp.bind((host, port))
        except OSError:
            continue
        return port
    with socket.socket() as s:  # a crowded range: let the kernel choose
        s.bind((host, 0))
        return int(s.getsockname()[1])


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=timeout):
        return True
    return False


@dataclass
class LocalBroker:
    """One combined broker+controller on loopback, with its data in ``state_dir``."""

    dist: KafkaDist
    state_dir: Path
    host: str = "127.0.0.1"
    port: int = 19092
    controller_port: int = 19093
    heap: str = "512m"

    @classmethod
    def on_free_ports(
        cls, settings: Settings, state_dir: Path, heap: str = "512m"
    ) -> LocalBroker:
        """A throwaway broker of the configured Kafka version on free loopback ports
        (tests, benchmarks), its data in ``state_dir``."""
        return cls(
            dist=KafkaDist(settings.kafka.version, Path(settings.kafka.home)),
            state_dir=state_dir,
            port=free_port(),
            controller_port=free_port(),
            heap=heap,
        )

    @property
    def bootstrap(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def pid_file(self) -> Path:
        return self.state_dir / "kafka.pid"

    @property
    def log_file(self) -> Path:
        return self.state_dir / "kafka.log"

    @property
    def config_file(self) -> Path:
        return self.state_dir / "server.properties"

    # -- configuration ---------------------------------------------------

    def _write_config(self) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        props = {
            "process.roles": "broker,controller",
            "node.id": "1",
            "controller.quorum.voters": f"1@{self.host}:{self.controller_port}",
            "listeners": f"PLAINTEXT://{self.host}:{self.port},"
            f"CONTROLLER://{self.host}:{self.controller_port}",
            "advertised.listeners": f"PLAINTEXT://{self.host}:{self.port}",
            "inter.broker.listener.name": "PLAINTEXT",
            "controller.listener.names": "CONTROLLER",
            "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
            "log.dirs": str(self.state_dir / "data"),
            "offsets.topic.replication.factor": "1",
            "offsets.topic.num.partitions": "6",
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            "min.insync.replicas": "1",
            "group.initial.rebalance.delay.ms": "0",
            "num.network.threads": "2",
            "num.io.threads": "2",
            "num.partitions": "1",
            "auto.create.topics.enable": "false",
            "log.cleaner.dedupe.buffer.size": str(16 << 20),
        }
        self.config_file.write_text("".join(f"{k}={v}\n" for k, v in props.items()))
        (self.state_dir / "log4j.properties").write_text(_LOG4J)

    def _java(self, main: str, *args: str) -> list[str]:
        return [
            "java", f"-Xms{self.heap}", f"-Xmx{self.heap}", *_JVM_OPTS,
            f"-Dlog4j.configuration=file:{self.state_dir / 'log4j.properties'}",
            "-cp", f"{self.dist.libs}/*", main, *args,
        ]  # fmt: skip

    def _format(self) -> None:
        if (self.state_dir / "data" / "meta.properties").exists():
            return
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
        cmd = self._java(
            "kafka.tools.StorageTool", "format", "-t", cluster_id, "-c", str(self.config_file), "-g"
        )
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)  # noqa: S603
        if proc.returncode != 0:
            raise BrokerError(f"formatting KRaft storage failed: {proc.stderr.strip()[-2000:]}")

    # -- lifecycle --------------------------------------------------------

    def pid(self) -> int | None:
        """The pid of the broker this object started, if that process still runs."""
        try:
            pid = int(self.pid_file.read_text().strip())
        except (FileNotFoundError, ValueError):
            return None
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
        except OSError:
            return None
        # Only our broker: the pid must still be a kafka.Kafka running our config.
        if "kafka.Kafka" in cmdline and str(self.config_file) in cmdline:
            return pid
        return None

    def start(self, timeout: float = 90.0) -> None:
        """Start the broker (if not running) and wait until it serves clients."""
        if self.pid() is not None:
            self.wait_ready(timeout)
            return
        for p in (self.port, self.controller_port):
            if port_open(self.host, p):
                raise BrokerError(f"port {self.host}:{p} is already in use by another process")
        self.dist.ensure()
        self._write_config()
        self._format()
        log = open(self.log_file, "ab")
        proc = subprocess.Popen(  # noqa: S603
            self._java("kafka.Kafka", str(self.config_file)),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        log.close()
        self.pid_file.write_text(f"{proc.pid}\n")
        self._proc = proc
        try:
            self.wait_ready(timeout)
        except BrokerError:
            self.stop()
            raise

    def wait_ready(self, timeout: float = 90.0) -> None:
        """Readiness: the log line, a TCP connect, then a real metadata round trip."""
        deadline = time.monotonic() + timeout
        stage = "log line"
        while time.monotonic() < deadline:
            proc = getattr(self, "_proc", None)
            if proc is not None and proc.poll() is not None:
                raise BrokerError(f"broker exited with code {proc.returncode}: {self._log_tail()}")
            if stage == "log line" and READY_LINE in self._log_tail(200_000):
                stage = "tcp"
            if stage == "tcp" and port_open(self.host, self.port):
                stage = "round trip"
            if stage == "round trip":
                try:
                    describe_cluster(self.bootstrap, timeout=5.0)
                    return
                except BrokerError:
                    pass
            time.sleep(0.2)
        raise BrokerError(
            f"broker not ready after {timeout:.0f}s (waiting for {stage}): {self._log_tail()}"
        )

    def stop(self, timeout: float = 30.0) -> bool:
        """Controlled shutdown of our pid; SIGKILL if it outlives ``timeout``."""
        pid = self.pid()
        if pid is None:
            self.pid_file.unlink(missing_ok=True)
            return False
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and _alive(pid):
            _reap(pid)
            time.sleep(0.1)
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)
            while _alive(pid):
                _reap(pid)
                time.sleep(0.05)
        self.pid_file.unlink(missing_ok=True)
        return True

    def _log_tail(self, limit: int = 1500) -> str:
        try:
            with open(self.log_file, "rb") as f:
                f.seek(0, os.SEEK_END)
                f.seek(max(0, f.tell() - limit))
                return f.read().decode(errors="replace")
        except FileNotFoundError:
            return ""


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _reap(pid: int) -> None:
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


def describe_cluster(bootstrap: str, timeout: float = 10.0) -> dict[str, object]:
    """One admin round trip: cluster id, brokers and topic count, or ``BrokerError``."""
    from kafka.admin import KafkaAdminClient
    from kafka.errors import KafkaError

    # Fail fast when nothing listens: the client would retry bootstrap for 30 s.
    first = bootstrap.split(",")[0].rsplit(":", 1)
    if len(first) == 2 and first[1].isdigit() and not port_open(first[0], int(first[1]), 2.0):
        raise BrokerError(f"nothing accepts connections at {bootstrap}")
    try:
        admin = KafkaAdminClient(
            bootstrap_servers=bootstrap,
            request_timeout_ms=int(timeout * 1000),
            client_id="ssa-status",
        )
    except (KafkaError, OSError, ValueError) as e:
        raise BrokerError(f"cannot reach Kafka at {bootstrap}: {e}") from None
    try:
        info = admin.describe_cluster()
        topics = admin.list_topics()
        return {
            "cluster_id": info.get("cluster_id"),
            "brokers": len(info.get("brokers", [])),
            "controller": info.get("controller_id"),
            "topics": len([t for t in topics if not t.startswith("__")]),
        }
    except (KafkaError, OSError) as e:
        raise BrokerError(f"Kafka at {bootstrap} did not answer: {e}") from None
    finally:
        admin.close()
