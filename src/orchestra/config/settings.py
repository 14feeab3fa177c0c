"""The settings model: every knob Orchestra reads, its type, default and meaning.

``Settings`` is the root; each ``[table]`` of ``orchestra.toml`` is one section
model. Build a ``Settings`` with :func:`orchestra.config.load_settings`, which
layers CLI flags over ``ORCHESTRA_*`` variables over ``orchestra.toml`` over
these defaults and records where each value came from. ``Settings(project_dir=...)``
alone gives the defaults (handy in tests); it never reads the environment.

Paths: a relative path, from any source, is relative to ``project_dir``. The
state paths (``log_file``, ``database.url``, ``workspaces.root``) default to
places under ``state_dir``, itself ``<project>/.orchestra`` by default.

Adding a setting: add a typed field with a default and an attribute docstring
to the right section, then a row to docs/configuration.md (a test checks every
key is documented). Sources and ``config show`` pick it up on their own.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR"]
LOG_LEVELS: tuple[str, ...] = ("DEBUG", "INFO", "WARNING", "ERROR")
Cap = Annotated[int, Field(ge=1)]
"""A concurrency limit: at least one at a time."""

_SECTION_CONFIG = ConfigDict(
    extra="forbid", frozen=True, use_attribute_docstrings=True, protected_namespaces=()
)


class DatabaseSettings(BaseModel):
    """``[database]``: where runs, steps and events are stored."""

    model_config = _SECTION_CONFIG

    url: str = "sqlite+aiosqlite:///.orchestra/orchestra.db"
    """SQLAlchemy async URL. Default: SQLite file ``<state_dir>/orchestra.db``. Use
    ``postgresql+asyncpg://user:pass@host/db`` for PostgreSQL. A relative SQLite path
    is relative to the project folder."""
    echo: bool = False
    """Log every SQL statement (SQLAlchemy ``echo``); for debugging only."""


class EngineSettings(BaseModel):
    """``[engine]``: how many steps run at once and how failures propagate."""

    model_config = _SECTION_CONFIG

    max_concurrency: int = Field(default=1024, ge=1)
    """Most steps in flight at the same time across all runs of this process. A step
    that waits on a model holds a coroutine, a few rows and a connection, not a CPU, so
    this cap only bounds memory and open sockets; what protects a GPU or a provider's
    rate limit is ``model_concurrency`` (and ``rpm``/``tpm`` in the model list). The
    default lets 200 concurrent runs with parallel steps proceed without queueing."""
    agent_concurrency: dict[str, Cap] = Field(default_factory=dict)
    """Per-agent cap, agent name -> most steps of that agent at once."""
    model_concurrency: dict[str, Cap] = Field(default_factory=dict)
    """Per-model cap, model alias -> most calls in flight to it at once: size it to
    what the server behind the alias serves at once (a GPU's parallel slots)."""
    lease_seconds: float = Field(default=30, gt=0)
    """How long a worker's claim on a step lasts without a heartbeat before another
    worker may take the step over."""
    executor: str = "local"
    """Which executor runs ready steps, by its ``orchestra.executors`` entry-point name:
    ``local`` runs them in this process; a plugin may add others."""
    default_on_failure: Literal["fail_fast", "continue"] = "fail_fast"
    """What a failed step does to its run when the workflow does not say:
    ``fail_fast`` cancels the rest, ``continue`` runs every step that does not depend
    on the failed one."""


class DistributedSettings(BaseModel):
    """``[distributed]``: hand steps to ``orchestra worker`` processes over Celery
    (docs/deployment.md). Unset ``broker_url``: steps run in-process."""

    model_config = _SECTION_CONFIG

    broker_url: str | None = None
    """Celery broker, e.g. ``redis://127.0.0.1:6379/0``. When set, ``orchestra run``
    and ``orchestra serve`` send each ready step to a worker instead of running it."""
    default_queue: str = "orchestra"
    """The queue of a step no route matches (every worker listens to it by default)."""
    routes: dict[str, str] = Field(default_factory=dict)
    """``"model:<alias>"`` or ``"agent:<name>"`` → queue; an agent route wins over a
    model route. A step goes only to the workers listening to its queue."""
    reconcile_seconds: float = Field(default=2.0, gt=0)
    """How often a driver re-checks in the store each step it handed out, and
    re-sends those whose message is gone (broker flushed, worker killed)."""
    visibility_timeout_seconds: float = Field(default=3600, gt=0)
    """Redis transport: how long an unacknowledged message waits before Redis
    delivers it again. Only a backstop: the reconciler re-sends sooner."""


class TasksSettings(BaseModel):
    """``[tasks]``: how queued tasks are given to agents (docs/tasks.md)."""

    model_config = _SECTION_CONFIG

    strategy: Literal["least_recent", "round_robin", "least_loaded", "weighted"] = "least_recent"
    """Which suited agent with room takes the next task: the one idle longest
    (``least_recent``), the next by name (``round_robin``), the one with the lowest
    share of its ``max_tasks`` in use (``least_loaded``), or at random in proportion to
    ``weight`` (``weighted``)."""
    dispatch: bool = True
    """Run the dispatcher inside ``orchestra serve``."""
    poll_seconds: float = Field(default=0.5, gt=0)
    """How often the dispatcher looks at the queue when nothing woke it earlier."""
    heartbeat_seconds: float = Field(default=5.0, gt=0)
    """How often a process says it is still working for the agents holding its tasks."""
    lapse_seconds: float = Field(default=20.0, gt=0)
    """After how long without a heartbeat an agent with tasks is taken as offline and
    its unfinished tasks are queued again."""
    error_after: int = Field(default=3, ge=1)
    """Tasks failed in a row after which an agent goes to ``error`` until resumed."""
    batch: int = Field(default=200, ge=1, le=10_000)
    """Most tasks assigned in one transaction."""
    venv: bool = True
    """Give each task's workspace its own Python virtual environment (``uv venv`` when
    uv is found, else ``python -m venv``) before its run starts."""


def _check_deployment(entry: dict[str, Any]) -> dict[str, Any]:
    """One LiteLLM ``model_list`` entry: ``model_name`` plus ``litellm_params`` with a
    ``model``. Other keys (``model_info``, ``tpm`` ...) pass through to LiteLLM."""
    name = entry.get("model_name")
    if not isinstance(name, str) or not name:
        raise ValueError("each entry needs a 'model_name' string: the alias agents use")
    params = entry.get("litellm_params")
    if not isinstance(params, dict) or not isinstance(params.get("model"), str):
        raise ValueError(
            "litellm_params needs a 'model' string, e.g. 'ollama/llama3' or 'openai/gpt-4o'"
        )
    return entry


ModelDeployment = Annotated[dict[str, Any], AfterValidator(_check_deployment)]
"""An entry of LiteLLM Router's ``model_list``, kept as the plain dict LiteLLM takes."""


class LocalModelSettings(BaseModel):
    """``[models.local]``: how the embedded llama.cpp model runs (alias ``local``)."""

    model_config = _SECTION_CONFIG

    model_path: Path | None = None
    """A GGUF file to load instead of the packaged Gemma 3 270M (relative to the project)."""
    n_ctx: int = Field(default=8192, ge=256)
    """Context window of each llama.cpp context, in tokens (prompt and answer)."""
    n_threads: int | None = Field(default=None, ge=1)
    """Threads of each context; unset shares the cores out between the contexts."""
    seed: int = 0
    """Sampling seed each context starts from."""
    parallel: int | None = Field(default=None, ge=1, le=16)
    """Calls served at once, one llama.cpp context each (each costs memory, see
    docs/models.md); unset is 2, or 1 on a one-core machine. A call that finds them all
    busy waits, and its step's log says so."""


class ComplexityRule(BaseModel):
    """One row of ``[[models.selection.complexity]]``: tasks of complexity ``min`` to
    ``max`` (inclusive) go to ``model``."""

    model_config = _SECTION_CONFIG

    min: int = Field(default=1, ge=1, le=10)
    max: int = Field(default=10, ge=1, le=10)
    model: str = Field(min_length=1)
    """An alias of the model list (``cheap``, ``strong``) or a LiteLLM model string."""

    @model_validator(mode="after")
    def _ordered(self) -> ComplexityRule:
        if self.min > self.max:
            raise ValueError(f"min ({self.min}) is above max ({self.max})")
        return self


class ModelSelection(BaseModel):
    """``[models.selection]``: which model a task's run uses (docs/models.md).

    ``agents`` (agent name → model) wins; else the first ``complexity`` rule holding
    the task's complexity, for agents whose ``model`` is ``default``; else the agent's
    own model."""

    model_config = _SECTION_CONFIG

    agents: dict[str, str] = Field(default_factory=dict)
    """Agent name → model alias, for every task that agent takes."""
    complexity: list[ComplexityRule] = Field(default_factory=list)
    """Complexity ranges → model aliases, first match wins (cheap for low, strong for high)."""


class ModelsSettings(BaseModel):
    """``[models]``: the LLM gateway (LiteLLM Router) configuration."""

    model_config = _SECTION_CONFIG

    default: str = "local"
    """Alias used by agents whose ``model`` is ``default``. ``local`` is the embedded model."""
    model_list: list[ModelDeployment] = Field(default_factory=list)
    """Deployments in LiteLLM Router ``model_list`` format, as plain dicts:
    ``model_name`` (the alias agents use; entries sharing one are load-balanced),
    ``litellm_params`` (``model`` required; ``api_base``, ``api_key`` - write
    ``os.environ/NAME`` to read it from the environment - ``rpm`` ...), optional
    ``model_info``. ``[[models.model_list]]`` tables in TOML."""
    router_settings: dict[str, Any] = Field(default_factory=dict)
    """Passed to ``litellm.Router`` as keyword arguments (routing_strategy, fallbacks ...)."""
    models_file: Path | None = None
    """Optional YAML file holding ``model_list`` and ``router_settings`` (LiteLLM's own
    config layout), for teams that already have one. Must exist when set."""
    cache: Literal["off", "memory", "disk", "redis"] = "disk"
    """Response cache for identical requests that ask for caching."""
    redis_url: str | None = None
    """Redis URL for ``cache = "redis"``."""
    num_retries: int = Field(default=1, ge=0)
    """Retries per call on retryable provider errors, before fallbacks."""
    timeout_s: float = Field(default=120, gt=0)
    """Seconds one model call may take."""
    stream: bool = True
    """Stream answers, so the live views show tokens as the model writes them
    (``token`` events); ``false`` waits for whole answers."""
    local: LocalModelSettings = Field(default_factory=LocalModelSettings)
    """The embedded model (``[models.local]``)."""
    selection: ModelSelection = Field(default_factory=ModelSelection)
    """Model selection rules for tasks: by agent and by task complexity."""

    @field_validator("models_file")
    @classmethod
    def _file_exists(cls, path: Path | None) -> Path | None:
        if path is not None and not path.is_file():
            raise ValueError(f"expected an existing YAML file; {path} does not exist")
        return path


class McpServerSettings(BaseModel):
    """One MCP server agents may use: started as a subprocess (``command``) or reached
    over HTTP (``url``), never both."""

    model_config = _SECTION_CONFIG

    name: str = Field(min_length=1)
    """Name tools are listed under (``<name>.<tool>``)."""
    command: list[str] | None = None
    """Argv of a stdio server, e.g. ``["uvx", "mcp-server-git"]``."""
    url: str | list[str] | None = None
    """URL of a streamable-HTTP server, or a list of endpoints of the same server."""
    balance: Literal["round-robin", "least-loaded", "weighted"] = "round-robin"
    """How a call picks one of several ``url`` endpoints."""
    weights: list[float] = Field(default_factory=list)
    """For ``balance = "weighted"``: one positive weight per URL."""
    env: dict[str, str] = Field(default_factory=dict)
    """Extra environment variables for a stdio server."""

    @model_validator(mode="after")
    def _one_transport(self) -> McpServerSettings:
        if (self.command is None) == (self.url is None):
            raise ValueError("set exactly one of 'command' (stdio server) or 'url' (HTTP server)")
        return self


class ToolAccessRule(BaseModel):
    """One layer of ``[tools.access]``: tool name patterns allowed (empty: all) and denied."""

    model_config = _SECTION_CONFIG

    allow: list[str] = Field(default_factory=list)
    """Only tools matching one of these (globs such as ``files.*``); empty allows all."""
    deny: list[str] = Field(default_factory=list)
    """Tools matching one of these are refused, whatever ``allow`` says."""


class ToolAccessSettings(ToolAccessRule):
    """``[tools.access]``: who may call which tool (docs/tools.md "Access control")."""

    agents: dict[str, ToolAccessRule] = Field(default_factory=dict)
    """Per agent name: a layer applied to that agent's steps."""
    roles: dict[str, ToolAccessRule] = Field(default_factory=dict)
    """Per API role (viewer, operator, admin): a layer applied to API callers."""


class ToolsSettings(BaseModel):
    """``[tools]``: limits and permissions of the built-in tools."""

    model_config = _SECTION_CONFIG

    output_limit_chars: int = Field(default=16_000, ge=200)
    """A tool result longer than this is truncated before the model sees it."""
    shell_allowlist: list[str] = Field(
        default_factory=lambda: [
            "ls",
            "cat",
            "echo",
            "grep",
            "wc",
            "head",
            "tail",
            "git",
        ]
    )
    """Programs the shell tool may start. Interpreters and launchers (``python3``, ``sh``,
    ``env``, ``curl``, …) are refused even if listed: code runs in the ``python`` tool."""
    shell_timeout_s: float = Field(default=30, gt=0)
    """Wall-clock seconds a shell or python tool call may take."""
    cpu_seconds: int = Field(default=30, ge=1)
    """CPU-time limit (RLIMIT_CPU) of a tool subprocess."""
    memory_mb: int = Field(default=1024, ge=64)
    """Address-space limit (RLIMIT_AS) of a tool subprocess, in MiB."""
    file_size_mb: int = Field(default=64, ge=1)
    """Largest file a tool subprocess may write (RLIMIT_FSIZE), in MiB."""
    max_processes: int = Field(default=64, ge=4)
    """Most processes a tool subprocess may fork (RLIMIT_NPROC)."""
    allow_private_network: bool = False
    """Let web tools reach private, loopback and link-local addresses."""
    http_max_bytes: int = Field(default=2_000_000, ge=1024)
    """Largest HTTP response body a web tool reads."""
    http_timeout_s: float = Field(default=20, gt=0)
    """Seconds one HTTP request of a web tool may take."""
    python_packages_allowlist: list[str] = Field(default_factory=list)
    """Packages agents may install into a workspace virtual environment."""
    venv_max_mb: float = Field(default=500.0, gt=0)
    """Largest a workspace's virtual environment may grow (MB); an install past it is
    undone and refused."""
    mcp_servers: list[McpServerSettings] = Field(default_factory=list)
    """MCP servers whose tools agents may use (``[[tools.mcp_servers]]`` tables)."""
    access: ToolAccessSettings = Field(default_factory=ToolAccessSettings)
    """Which agents and API roles may call which tools."""


class MessagingPermission(BaseModel):
    """What one agent may do on the message bus (``[messaging.permissions.<agent>]``)."""

    model_config = _SECTION_CONFIG

    publish: list[str] = Field(default_factory=lambda: ["#"])
    """Topic patterns the agent may publish to (``@<agent>`` for direct messages to an
    agent, ``@*`` for direct to any and broadcast)."""
    subscribe: list[str] = Field(default_factory=lambda: ["#"])
    """Topic patterns the agent may subscribe to (a pattern must lie inside one of these)."""


class MessagingSettings(BaseModel):
    """``[messaging]``: the message bus between agents (docs/messaging.md)."""

    model_config = _SECTION_CONFIG

    backend: Literal["auto", "database", "redis"] = "auto"
    """Where messages live: ``database`` (the project database), ``redis`` (Redis Streams
    with consumer groups, needs ``redis_url``), ``auto``: Redis when ``redis_url`` is set."""
    redis_url: str | None = None
    """Redis URL for the Redis Streams backend, e.g. ``redis://127.0.0.1:6379/0``."""
    prefix: str = "orchestra"
    """Prefix of every Redis key the bus writes, so projects can share one Redis."""
    max_body_bytes: int = Field(default=262_144, ge=256)
    """Largest stored body (after compression); bigger messages are refused."""
    compress_above_bytes: int = Field(default=8192, ge=0)
    """Bodies whose JSON is larger than this are stored gzip-compressed."""
    visibility_s: float = Field(default=30.0, gt=0)
    """Seconds a delivered message may stay unacknowledged before it is redelivered."""
    max_deliveries: int = Field(default=5, ge=1, le=1000)
    """Deliveries without an ack after which a message goes to the dead-letter queue."""
    backoff_base_s: float = Field(default=1.0, ge=0)
    """First delay after a negative acknowledgement; doubles with each attempt."""
    backoff_max_s: float = Field(default=60.0, ge=0)
    """Longest delay between redeliveries after negative acknowledgements."""
    poll_s: float = Field(default=0.05, gt=0)
    """How often a waiting database consumer looks for messages published by other processes."""
    retention_s: float = Field(default=86_400.0, gt=0)
    """How long delivered messages stay in the history (``messages tail``, replay to new
    subscriptions)."""
    permissions: dict[str, MessagingPermission] = Field(default_factory=dict)
    """Agent name → what it may publish and subscribe to; agents not listed get
    ``default_publish`` / ``default_subscribe``."""
    default_publish: list[str] = Field(default_factory=lambda: ["#", "@*"])
    """Publish patterns of agents without their own entry in ``permissions``."""
    default_subscribe: list[str] = Field(default_factory=lambda: ["#"])
    """Subscribe patterns of agents without their own entry in ``permissions``."""
    task_topic: str | None = None
    """A topic whose messages become tasks (body: title, description, …) in
    ``orchestra serve``; None turns that off."""


class ServerSettings(BaseModel):
    """``[server]``: the HTTP API and web UI."""

    model_config = _SECTION_CONFIG

    host: str = "127.0.0.1"
    """Interface to listen on. Anything but loopback exposes the API to the network."""
    port: int = Field(default=8765, ge=1, le=65535)
    """TCP port to listen on."""
    cors_origins: list[str] = Field(default_factory=list)
    """Browser origins allowed to call the API (CORS), e.g. ``http://localhost:5173``."""
    insecure_local: bool = False
    """Accept requests without a token from the local machine. For development only."""
    rate_limit: str = "600/minute"
    """Requests one API key may make, as ``N/second|minute|hour`` (moving window)."""
    max_body_bytes: int = Field(default=1_000_000, ge=1024)
    """Largest request body accepted; bigger ones get 413."""
    ws_max_message_bytes: int = Field(default=65_536, ge=1024)
    """Largest message a WebSocket client may send; bigger ones close it with 1009."""
    ws_origins: list[str] = Field(default_factory=list)
    """Browser origins (``https://ops.example.com``) allowed to open the WebSocket besides
    the server's own and localhost's; ``"*"`` allows any. Others are closed with 4403."""
    shutdown_grace_s: float = Field(default=10, ge=0)
    """On shutdown, seconds to let runs in flight finish before they are detached (left
    resumable for the next start)."""


class WorkspacesSettings(BaseModel):
    """``[workspaces]``: the folders agents' tools work in."""

    model_config = _SECTION_CONFIG

    root: Path = Path(".orchestra/workspaces")
    """Parent folder of every agent workspace. Default: ``<state_dir>/workspaces``."""
    venv: bool = False
    """Give each workspace its own Python virtual environment."""
    upload_max_mb: float = Field(default=25.0, gt=0, le=4096)
    """Largest file ``PUT /api/v1/workspaces/...`` accepts (the body limit does not apply there)."""
    upload_types: tuple[str, ...] = (
        "txt", "md", "csv", "tsv", "json", "jsonl", "yaml", "yml", "toml", "xml", "html",
        "py", "js", "ts", "sql", "log", "pdf", "png", "jpg", "jpeg", "gif", "webp",
        "xlsx", "docx", "pptx", "zip",
    )  # fmt: skip
    """File extensions that may be uploaded; the content must match the type (see docs/api.md)."""


class DefinitionsSettings(BaseModel):
    """``[definitions]``: where agent, skill and workflow files may come from."""

    model_config = _SECTION_CONFIG

    allow_paths: list[Path] = Field(default_factory=list)
    """Folders outside the project (relative to it, or absolute) that agent and skill
    links may point into. Everything else outside the project folder is refused."""


_SQLITE_URL = re.compile(r"^(sqlite(?:\+\w+)?:///)([^?]*)(.*)$")


class Settings(BaseSettings):
    """All of Orchestra's settings for one project folder.

    Immutable; derive a variant with ``settings.model_copy(update=...)``.
    """

    model_config = SettingsConfigDict(
        extra="forbid", frozen=True, use_attribute_docstrings=True, protected_namespaces=()
    )

    project_dir: Path
    """The project folder (holding orchestra.toml). Set by the loader, not by a file."""
    log_level: LogLevel = "INFO"
    """Lowest level logged, to the console and the file. Case-insensitive."""
    log_file: Path = Path(".orchestra/logs/orchestra.jsonl")
    """JSON-lines log file, rotated by size. Default: ``<state_dir>/logs/orchestra.jsonl``."""
    log_file_max_bytes: int = Field(default=10_000_000, ge=1024)
    """Size at which the log file is rotated."""
    log_file_backups: int = Field(default=5, ge=0)
    """How many rotated log files are kept (``orchestra.jsonl.1`` ...)."""
    state_dir: Path = Path(".orchestra")
    """Folder for Orchestra's own state (database, logs, workspaces)."""
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    engine: EngineSettings = Field(default_factory=EngineSettings)
    distributed: DistributedSettings = Field(default_factory=DistributedSettings)
    tasks: TasksSettings = Field(default_factory=TasksSettings)
    models: ModelsSettings = Field(default_factory=ModelsSettings)
    tools: ToolsSettings = Field(default_factory=ToolsSettings)
    server: ServerSettings = Field(default_factory=ServerSettings)
    workspaces: WorkspacesSettings = Field(default_factory=WorkspacesSettings)
    definitions: DefinitionsSettings = Field(default_factory=DefinitionsSettings)
    messaging: MessagingSettings = Field(default_factory=MessagingSettings)
    plugins: dict[str, dict[str, Any]] = Field(default_factory=dict)
    """Plugin name → its ``[plugins.<name>]`` table, which the plugin validates itself."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Only explicit values: the loader layers file, environment and flags itself
        (with provenance), so constructing ``Settings`` never reads ambient state."""
        return (init_settings,)

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_level(cls, value: object) -> object:
        return value.strip().upper() if isinstance(value, str) else value

    @model_validator(mode="before")
    @classmethod
    def _place_paths(cls, data: object) -> object:
        """Make every path absolute (relative to ``project_dir``) and derive the state
        paths from ``state_dir`` when they were not given."""
        if not isinstance(data, dict) or not isinstance(data.get("project_dir"), str | Path):
            return data
        project = Path(data["project_dir"])
        data = dict(data)
        data["project_dir"] = project

        def place(value: object) -> object:
            if isinstance(value, str | Path):
                path = Path(value).expanduser()
                return path if path.is_absolute() else project / path
            return value

        state = place(data.get("state_dir", ".orchestra"))
        data["state_dir"] = state
        base = state if isinstance(state, Path) else project / ".orchestra"
        data["log_file"] = place(data.get("log_file", base / "logs" / "orchestra.jsonl"))

        database = _section(data, "database")
        if database is not None:
            url = database.get("url", f"sqlite+aiosqlite:///{base / 'orchestra.db'}")
            database["url"] = _place_sqlite(url, project)
        workspaces = _section(data, "workspaces")
        if workspaces is not None:
            workspaces["root"] = place(workspaces.get("root", base / "workspaces"))
        models = _section(data, "models")
        if models is not None and models.get("models_file") is not None:
            models["models_file"] = place(models["models_file"])
        local = _section(models, "local") if models is not None else None
        if local is not None and local.get("model_path") is not None:
            local["model_path"] = place(local["model_path"])
        return data


def _section(data: dict[str, Any], name: str) -> dict[str, Any] | None:
    """A writable copy of section ``name`` in ``data`` (created when absent), or None
    when the caller passed something other than a mapping (validation reports it)."""
    section = data.get(name, {})
    if not isinstance(section, dict):
        return None
    section = dict(section)
    data[name] = section
    return section


def _place_sqlite(url: object, project: Path) -> object:
    """Anchor a relative SQLite file path in ``url`` at the project folder."""
    if not isinstance(url, str):
        return url
    match = _SQLITE_URL.match(url)
    if match is None:
        return url
    prefix, path, rest = match.groups()
    if not path or path == ":memory:" or path.startswith("/") or path.startswith("file:"):
        return url
    return f"{prefix}{project / path}{rest}"
