"""docker-compose.yml, the Dockerfile, .env.example and docs/deployment.md agree with the code.

No Docker engine runs here, so the files are parsed: every service and health check is there,
every command they run exists in this project, and every variable they (or the docs) name is
one the settings read — and the other way round.
"""

import fnmatch
import functools
import importlib
import json
import re
import shlex
from pathlib import Path

import pytest
import yaml
from django.conf import settings

from tests.support import REPO_ROOT

COMPOSE = yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text())
SERVICES: dict = COMPOSE["services"]
DOCKERFILE = (REPO_ROOT / "Dockerfile").read_text()
ENV_EXAMPLE = (REPO_ROOT / ".env.example").read_text()
DOCS = (REPO_ROOT / "docs" / "deployment.md").read_text()
UNMASK_SERVICES = ("web", "worker")  # built from our Dockerfile
ONE_SHOTS = ("createbucket",)
COMPOSE_ONLY_HEADER = "# --- docker compose only"
# Variables of the interpreter and tools, not of Unmask, that the Dockerfile may set.
PROCESS_VARIABLES = {
    "PATH", "PYTHONPATH", "PYTHONUNBUFFERED", "PYTHONDONTWRITEBYTECODE",
    "DJANGO_SETTINGS_MODULE", "PIP_NO_CACHE_DIR", "PIP_DISABLE_PIP_VERSION_CHECK",
}  # fmt: skip


def settings_variables() -> set[str]:
    """Every variable platform/unmask/settings.py reads through the env_* readers."""
    source = (REPO_ROOT / "platform" / "unmask" / "settings.py").read_text()
    return set(re.findall(r"\benv_[a-z]+\(\s*\"([A-Z][A-Z0-9_]*)\"", source))


def env_example_variables() -> tuple[set[str], set[str]]:
    """(variables for Unmask, variables only docker-compose.yml uses) in .env.example."""
    unmask, compose_only = ENV_EXAMPLE.split(COMPOSE_ONLY_HEADER, 1)
    names = re.compile(r"^([A-Z][A-Z0-9_]*)=", re.MULTILINE)
    return set(names.findall(unmask)), set(names.findall(compose_only))


def docs_table(heading: str, nth: int = 0) -> set[str]:
    """Variable names in the first column of the nth table under a docs heading."""
    section = DOCS.split(f"## {heading}", 1)[1].split("\n## ", 1)[0]
    tables = re.split(r"\n(?!\|)[^\n]*\n(?=\|)", section)
    tables = [t for t in tables if "\n|" in "\n" + t]
    rows = [line for line in tables[nth].splitlines() if line.startswith("| `")]
    return {re.match(r"\| `([A-Z0-9_]+)`", row).group(1) for row in rows}


def third_party_container_variables() -> set[str]:
    """Environment keys of images we do not build (postgres, minio, mc): their own business."""
    return {
        key
        for name, service in SERVICES.items()
        if name not in UNMASK_SERVICES
        for key in (service.get("environment") or {})
    }


def dockerfile_args() -> set[str]:
    return set(re.findall(r"^ARG ([A-Z_]+)", DOCKERFILE, re.MULTILINE))


def dockerfile_env_keys() -> set[str]:
    blocks = re.findall(r"^ENV ((?:.*\\\n)*.*)$", DOCKERFILE, re.MULTILINE)
    return {key for block in blocks for key in re.findall(r"([A-Z_][A-Z0-9_]*)=", block)}


def command_of(value: str | list[str]) -> list[str]:
    return shlex.split(value) if isinstance(value, str) else [str(part) for part in value]


def shell_commands(argv: list[str]) -> list[list[str]]:
    """`sh -c "a && b"` split into its commands; any other argv is one command."""
    if argv[:2] in (["sh", "-c"], ["CMD-SHELL"]) or argv[0] == "CMD-SHELL":
        script = argv[-1]
        return [shlex.split(part) for part in re.split(r"&&|\|\||;|\|", script) if part.strip()]
    return [argv[1:] if argv[0] == "CMD" else argv]


@functools.cache
def manage_commands() -> frozenset[str]:
    """What `manage.py help --commands` lists, asked of the same Django in this process."""
    from django.core.management import get_commands

    return frozenset(get_commands())


@functools.cache
def celery_options(subcommand: str, action: str = "") -> frozenset[str]:
    """Options of `celery SUBCOMMAND` (for `inspect`, ACTION must be one it knows)."""
    import celery.worker.control  # registers the remote-control actions
    from celery.bin.celery import celery
    from celery.bin.control import _get_commands_of_type

    assert subcommand in celery.commands, f"celery has no command {subcommand!r}"
    if subcommand == "inspect":
        assert action in _get_commands_of_type("inspect"), f"celery inspect has no {action!r}"
    params = celery.commands[subcommand].params
    return frozenset(opt for param in params for opt in param.opts + param.secondary_opts)


def makefile_targets() -> set[str]:
    makefile = (REPO_ROOT / "Makefile").read_text()
    return set(re.findall(r"^([A-Za-z][\w.-]*)\s*:(?!=)", makefile, re.MULTILINE))


def check_command(argv: list[str]) -> None:
    """Fail unless this command line names something that exists in the project."""
    program = Path(argv[0]).name
    if program.startswith("python") and argv[1:2] == ["manage.py"]:
        assert argv[2] in manage_commands(), f"manage.py has no command {argv[2]!r}: {argv}"
    elif program.startswith("python"):
        assert (REPO_ROOT / argv[1]).is_file(), f"{argv[1]} does not exist: {argv}"
    elif program == "daphne":
        module, _, attribute = argv[-1].partition(":")
        assert callable(getattr(importlib.import_module(module), attribute)), argv
    elif program == "celery":
        assert argv[1:3] == ["-A", "unmask"], argv
        options = celery_options(*(argv[3:5] if argv[3] == "inspect" else argv[3:4]))
        for option in (token for token in argv[4:] if token.startswith("-")):
            assert option in options, f"celery {argv[3]} has no option {option}"
    elif program in {"exec", "mc", "redis-server", "redis-cli", "pg_isready", "sh"}:
        return  # programs of the third-party images
    else:
        raise AssertionError(f"unknown program in compose/Dockerfile: {argv}")


# --- compose: services, health, dependencies, volumes ------------------------------------------


def test_every_service_is_there_and_long_running_ones_have_health_checks():
    assert set(SERVICES) == {"web", "worker", "postgres", "redis", "minio", "createbucket"}
    for name, service in SERVICES.items():
        if name in ONE_SHOTS:
            assert service["restart"] == "no"
            continue
        test = service.get("healthcheck", {}).get("test")
        assert test and test[0] in {"CMD", "CMD-SHELL"}, f"{name} has no health check"


def test_services_wait_for_healthy_dependencies():
    for name, service in SERVICES.items():
        for target, rule in (service.get("depends_on") or {}).items():
            assert target in SERVICES, f"{name} depends on unknown {target}"
            wanted = "service_completed_successfully" if target in ONE_SHOTS else "service_healthy"
            assert rule["condition"] == wanted, f"{name} -> {target}: {rule}"
    assert SERVICES["web"]["depends_on"].keys() >= {"postgres", "redis", "minio", "createbucket"}
    # Workers start after web, which applies the migrations.
    assert "web" in SERVICES["worker"]["depends_on"]


def test_named_volumes_are_declared_and_hold_every_store():
    declared = set(COMPOSE["volumes"])
    used = {
        mount.split(":", 1)[0]
        for service in SERVICES.values()
        for mount in service.get("volumes", [])
        if not mount.startswith((".", "/"))
    }
    assert used == declared
    data_paths = {"postgres": "/var/lib/postgresql/data", "redis": "/data", "minio": "/data"}
    for name, path in data_paths.items():
        assert any(m.split(":")[1] == path for m in SERVICES[name]["volumes"]), name


def test_redis_keeps_an_append_only_file():
    command = command_of(SERVICES["redis"]["command"])
    assert command[command.index("--appendonly") + 1] == "yes"


def test_unmask_services_read_one_env_file():
    for name in UNMASK_SERVICES:
        assert SERVICES[name]["env_file"] == ".env", name
        assert SERVICES[name]["build"]["context"] == "."


# --- compose: commands exist and match the settings --------------------------------------------


def test_web_migrates_collects_static_then_serves_with_daphne():
    commands = shell_commands(command_of(SERVICES["web"]["command"]))
    assert [c[:3] for c in commands[:2]] == [
        ["python", "manage.py", "migrate"],
        ["python", "manage.py", "collectstatic"],
    ]
    assert commands[-1][:2] == ["exec", "daphne"]
    for command in commands:
        check_command(command[1:] if command[0] == "exec" else command)
    assert "whitenoise.middleware.WhiteNoiseMiddleware" in settings.MIDDLEWARE


def test_worker_consumes_the_queue_the_settings_route_tasks_to():
    command = command_of(SERVICES["worker"]["command"])
    check_command(command)
    queue = command[command.index("-Q") + 1]
    assert queue == settings.CELERY_TASK_DEFAULT_QUEUE
    assert settings.CELERY_TASK_ROUTES["detection.*"]["queue"] == queue
    assert command[command.index("--concurrency") + 1] == "1"
    assert command[command.index("--prefetch-multiplier") + 1] == "1"
    # `-A unmask` finds the Celery app in unmask/celery.py, with our task registered on it.
    import unmask.analyses.tasks  # what autodiscovery imports in the worker  # noqa: F401
    from unmask.celery import app

    assert app.main == "unmask"
    assert "detection.run_analysis" in app.tasks
    assert app.amqp.router.route({}, "detection.run_analysis")["queue"].name == queue


def test_every_health_check_runs_something_that_exists():
    for name in UNMASK_SERVICES:
        for command in shell_commands(SERVICES[name]["healthcheck"]["test"]):
            check_command([c.replace("$$HOSTNAME", "x") for c in command])


def test_worker_reserves_a_gpu_and_scales():
    worker = SERVICES["worker"]
    devices = worker["deploy"]["resources"]["reservations"]["devices"]
    assert any(d["driver"] == "nvidia" and "gpu" in d["capabilities"] for d in devices)
    assert worker["environment"]["DETECTION_DEVICE"] == "cuda"
    # `--scale worker=N` needs replicas without fixed names or host ports.
    assert "container_name" not in worker
    assert "ports" not in worker


# --- variables: compose, .env.example, docs and settings agree ---------------------------------


def test_env_example_lists_exactly_what_the_settings_read():
    unmask, compose_only = env_example_variables()
    every = re.findall(r"^([A-Z][A-Z0-9_]*)=", ENV_EXAMPLE, re.MULTILINE)
    assert len(every) == len(set(every)), "a variable is listed twice in .env.example"
    read = settings_variables()
    assert read - unmask == set(), "read by settings but missing from .env.example"
    assert unmask - read == set(), "in .env.example but never read by settings"
    assert compose_only.isdisjoint(read)
    compose_text = (REPO_ROOT / "docker-compose.yml").read_text()
    for name in compose_only:
        assert "${" + name in compose_text, f"{name} is compose-only but compose never uses it"


def test_compose_names_only_variables_the_settings_read():
    read = settings_variables()
    _, compose_only = env_example_variables()
    text = (REPO_ROOT / "docker-compose.yml").read_text()
    interpolated = set(re.findall(r"\$\{([A-Z][A-Z0-9_]*)", text))
    assert interpolated - read - compose_only == set()
    for name in UNMASK_SERVICES:
        assert set(SERVICES[name]["environment"]) <= read, name
    assert dockerfile_env_keys() - PROCESS_VARIABLES <= read


def test_docs_table_matches_env_example_and_settings():
    unmask, compose_only = env_example_variables()
    assert docs_table("Environment variables", 0) == settings_variables() == unmask
    assert docs_table("Environment variables", 1) == compose_only


def test_every_variable_the_docs_name_is_read_by_the_settings():
    named = set(re.findall(r"(?<![A-Za-z0-9_/.-])([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)\b", DOCS))
    named |= {"DEBUG"} & set(re.findall(r"\b[A-Z]+\b", DOCS))
    allowed = (
        settings_variables()
        | env_example_variables()[1]
        | third_party_container_variables()
        | dockerfile_args()
        | {"NAME_FILE"}
    )
    assert named - allowed == set()


# --- docs: every command exists ----------------------------------------------------------------


def doc_command_lines() -> list[list[str]]:
    """Shell lines of fenced blocks and inline code in the docs and the README."""
    lines = []
    for text in (DOCS, (REPO_ROOT / "README.md").read_text()):
        for block in re.findall(r"```[a-z]*\n(.*?)```", text, re.DOTALL):
            lines += block.splitlines()
        lines += re.findall(r"`([^`\n]+)`", re.sub(r"```.*?```", "", text, flags=re.DOTALL))
    return [shlex.split(line.split(" #", 1)[0]) for line in lines if line.strip()]


def compose_service_of(args: list[str]) -> str | None:
    """The service a `docker compose exec|run|cp` command addresses."""
    sub, rest = args[0], args[1:]
    if sub == "cp":
        return next(a.split(":", 1)[0] for a in rest if ":" in a and not a.startswith("/"))
    takes_value = {"--entrypoint", "-v", "-e", "--volume", "--env", "-u", "--user", "-w"}
    skip = False
    for arg in rest:
        if skip:
            skip = False
        elif arg in takes_value:
            skip = True
        elif not arg.startswith("-"):
            return arg
    return None


def test_every_command_in_the_docs_exists():
    targets, checked = makefile_targets(), 0
    for argv in doc_command_lines():
        for i, word in enumerate(argv):
            if word == "make" and i + 1 < len(argv) and not argv[i + 1].startswith("-"):
                assert argv[i + 1] in targets, f"no make target {argv[i + 1]!r}: {argv}"
                checked += 1
            if word.endswith("manage.py") and i + 1 < len(argv):
                assert argv[i + 1] in manage_commands(), f"no manage.py {argv[i + 1]!r}: {argv}"
                checked += 1
            if word == "celery" and argv[i + 1 : i + 3] == ["-A", "unmask"]:
                check_command(argv[i:])
                checked += 1
            if word.startswith("--scale"):
                assert argv[i + 1].split("=")[0] in SERVICES
        if argv[:2] == ["docker", "compose"] and argv[2] in {"exec", "run", "cp"}:
            assert compose_service_of(argv[2:]) in SERVICES, argv
            checked += 1
    assert checked >= 15  # the docs really show commands (the parser found them)


# --- Dockerfile --------------------------------------------------------------------------------


def test_dockerfile_builds_cuda_or_cpu_torch_from_the_pinned_requirements():
    assert re.search(r"^FROM python:3\.12-slim", DOCKERFILE, re.MULTILINE)
    assert re.search(r"^ARG TORCH_VARIANT=cuda$", DOCKERFILE, re.MULTILINE)
    cpu_branch = re.search(r"^\s*cpu\)(.*?);;", DOCKERFILE, re.MULTILINE | re.DOTALL).group(1)
    assert "https://download.pytorch.org/whl/cpu" in cpu_branch
    cuda_branch = re.search(r"^\s*cuda\)(.*?);;", DOCKERFILE, re.MULTILINE | re.DOTALL).group(1)
    assert "--index-url" not in cuda_branch  # PyPI's Linux wheels are the CUDA ones
    pins = (REPO_ROOT / "requirements.txt").read_text()
    assert re.search(r"^torch==\S+$", pins, re.MULTILINE)
    assert re.search(r"^torchvision==\S+$", pins, re.MULTILINE)
    assert "pip install -r /tmp/requirements/requirements.txt" in DOCKERFILE
    assert "pip install --no-deps -r /tmp/requirements/requirements-nodeps.txt" in DOCKERFILE
    for copied in re.findall(r"^COPY (?!--)(.*) \S+$", DOCKERFILE, re.MULTILINE):
        for name in copied.split():
            assert name == "." or (REPO_ROOT / name).is_file(), name


def test_dockerfile_runs_as_a_user_with_ffmpeg_and_a_health_check():
    assert re.search(r"apt-get install .*\bffmpeg\b", DOCKERFILE)
    users = re.findall(r"^USER (\S+)", DOCKERFILE, re.MULTILINE)
    assert users and users[-1] not in {"root", "0"}
    health = re.search(r"^HEALTHCHECK [^\[]*?CMD (\[[^\]]*\])", DOCKERFILE, re.MULTILINE)
    check_command(json.loads(health.group(1)))
    check_command(json.loads(re.search(r"^CMD (\[.*\])$", DOCKERFILE, re.MULTILINE)[1]))
    # The image puts the repo root and platform/ on the path, as manage.py and pytest do.
    assert re.search(r"PYTHONPATH=/app:/app/platform\b", DOCKERFILE)
    assert re.search(r"^WORKDIR /app$", DOCKERFILE, re.MULTILINE)


@pytest.mark.parametrize(
    "path",
    [
        "manage.py",
        "platform/unmask/settings.py",
        "detection/pipeline.py",
        "detection/weights/default.pt",
        "templates",
        "static",
        "requirements.txt",
        "requirements-nodeps.txt",
        "scripts/healthcheck.py",
    ],
)
def test_dockerignore_keeps_what_the_image_runs(path):
    assert not dockerignored(path)


@pytest.mark.parametrize("path", [".venv", ".env", "var", ".git", "runs"])
def test_dockerignore_leaves_out_secrets_and_local_state(path):
    assert dockerignored(path)


def dockerignored(path: str) -> bool:
    """Docker's rule: the last matching pattern wins; `!` re-includes; a parent match counts."""
    ignored = False
    patterns = [
        line.strip()
        for line in (REPO_ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    parts = Path(path).parts
    candidates = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    for pattern in patterns:
        negate = pattern.startswith("!")
        glob = pattern.lstrip("!").removeprefix("**/")
        if any(fnmatch.fnmatch(c, glob) or fnmatch.fnmatch(Path(c).name, glob) for c in candidates):
            ignored = not negate
    return ignored
