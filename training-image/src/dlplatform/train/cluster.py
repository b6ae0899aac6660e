"""Which hosts take part, from SageMaker's resourceconfig.json, and the environment overrides for placement."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from ..errors import ConfigurationError

MASTER_ADDR_ENV = "SM_MASTER_ADDR"
MASTER_PORT_ENV = "SM_MASTER_PORT"
PROCESSES_PER_HOST_ENV = "SM_PROCESSES_PER_HOST"
LOCAL_RANK_ENV = "DLPLATFORM_LOCAL_RANK"  # set by the launcher for the worker processes it starts
DEFAULT_MASTER_PORT = 29500


@dataclass(frozen=True)
class ResourceConfig:
    """The parts of resourceconfig.json that matter here."""

    current_host: str
    hosts: tuple[str, ...]
    network_interface: str | None = None
    # e.g. ml.p3.2xlarge; SageMaker writes it into resourceconfig.json of every training job, see
    # https://docs.aws.amazon.com/sagemaker/latest/dg/your-algorithms-training-algo-running-container.html#your-algorithms-training-algo-running-container-dist-training
    current_instance_type: str | None = None

    @classmethod
    def load(cls, path: Path) -> ResourceConfig:
        """A missing file (a local run) means one host, algo-1."""
        if not path.exists():
            return cls("algo-1", ("algo-1",))
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            config = cls(
                current_host=str(raw["current_host"]),
                hosts=tuple(str(host) for host in raw["hosts"]),
                network_interface=raw.get("network_interface_name"),
                current_instance_type=str(raw["current_instance_type"]) if raw.get("current_instance_type") else None,
            )
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise ConfigurationError(f"Cannot read {path}: {error!r}") from None
        if config.current_host not in config.hosts:
            raise ConfigurationError(f"{path}: current_host {config.current_host} is not in hosts {list(config.hosts)}")
        return config

    @property
    def host_index(self) -> int:
        return self.hosts.index(self.current_host)


def positive_int_env(env: Mapping[str, str], name: str, default: int) -> int:
    text = env.get(name, "").strip()
    if not text:
        return default
    if not text.isdigit() or int(text) < 1:
        raise ConfigurationError(f"Environment variable {name}={text!r} must be a whole number of at least 1")
    return int(text)


def master_address(resources: ResourceConfig, env: Mapping[str, str]) -> tuple[str, int]:
    """hosts[0] (127.0.0.1 for a single host), unless SM_MASTER_ADDR / SM_MASTER_PORT override it."""
    default = resources.hosts[0] if len(resources.hosts) > 1 else "127.0.0.1"
    return env.get(MASTER_ADDR_ENV, "").strip() or default, positive_int_env(env, MASTER_PORT_ENV, DEFAULT_MASTER_PORT)
