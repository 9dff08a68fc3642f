"""Command line: ``python -m dss_gke COMMAND``; ``python -m dss_gke --help`` lists the commands."""

import argparse
import json
import logging
import os
import sys

import dss_gke


def main(argv: "list[str] | None" = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dss_gke", description=__doc__)
    parser.add_argument(
        "--log-level",
        default="WARNING",
        type=str.upper,
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help="DEBUG, INFO, WARNING or ERROR",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("version", help="print the plugin version")
    env = commands.add_parser("env", help="check the DSS host: build, GCE metadata server")
    env.add_argument("--metadata-host", help="host[:port] of the metadata server")
    env.add_argument("--timeout", type=float, default=2.0, help="seconds per request")
    plan = commands.add_parser("plan", help="print the create request of a cluster configuration")
    plan.add_argument("--config", required=True, help="JSON file: the cluster's config")
    plan.add_argument("--plugin-config", help="JSON file: the plugin's settings")
    plan.add_argument("--cluster-id", default="dss-cluster", help="DSS cluster id (default name)")
    push = commands.add_parser(
        "push", help="push an image to a registry (Artifact Registry, or any OCI registry)"
    )
    push.add_argument(
        "source", help="docker-daemon:NAME[:TAG], docker-archive:PATH or oci:DIR[:TAG]"
    )
    push.add_argument("destination", help="HOST/REPOSITORY[:TAG]")
    push.add_argument(
        "--creds",
        help="USER:PASSWORD for the registry (default: env REGISTRY_CREDS; for Artifact "
        "Registry hosts: oauth2accesstoken and a token of the credential chain)",
    )
    push.add_argument("--key", default="", help="service-account key (JSON text or file)")
    push.add_argument("--insecure", action="store_true", help="plain HTTP to a remote registry")
    push.add_argument(
        "--create-repository",
        action="store_true",
        help="create a missing Artifact Registry repository",
    )
    push.add_argument("--parallelism", type=int, default=6, help="blobs uploaded at once")
    push.add_argument("--docker-socket", default="/var/run/docker.sock")
    push.add_argument("--json", action="store_true", help="print the report as JSON")
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level, format="%(levelname)s %(name)s: %(message)s")

    try:
        if args.command == "version":
            print(dss_gke.__version__)
        elif args.command == "env":
            report = dss_gke.environment_report(args.metadata_host, args.timeout)
            print(json.dumps(report.to_dict(), indent=2))
        elif args.command == "plan":
            config = _read_json(args.config, "--config")
            plugin_config = (
                _read_json(args.plugin_config, "--plugin-config") if args.plugin_config else {}
            )
            plan = dss_gke.plan_cluster(config, plugin_config, args.cluster_id)
            print(json.dumps(plan, indent=2))
        elif args.command == "push":
            _push(args)
    except (dss_gke.GkeError, _BadFile) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


class _BadFile(Exception):
    pass


def _read_json(path: str, option: str) -> dict:
    """A JSON object from a file, or one clear line saying what is wrong with the file."""
    try:
        with open(path, encoding="utf-8") as f:
            value = json.load(f)
    except FileNotFoundError:
        raise _BadFile(f"{option} {path}: no such file") from None
    except IsADirectoryError:
        raise _BadFile(f"{option} {path}: is a directory, not a JSON file") from None
    except OSError as e:
        raise _BadFile(f"{option} {path}: cannot be read ({e.strerror})") from None
    except RecursionError:
        raise _BadFile(f"{option} {path}: nested too deeply to be a configuration") from None
    except ValueError as e:  # JSONDecodeError, UnicodeDecodeError
        raise _BadFile(f"{option} {path}: is not valid JSON ({e})") from None
    if not isinstance(value, dict):
        raise _BadFile(f'{option} {path}: must hold a JSON object, e.g. {{"mode": "standard"}}')
    return value


def _push(args: argparse.Namespace) -> None:
    creds = args.creds or os.environ.get("REGISTRY_CREDS")
    username = password = None
    if creds:
        username, _, password = creds.partition(":")
    report = dss_gke.push_image(
        args.source,
        args.destination,
        username=username,
        password=password,
        key=args.key,
        insecure=args.insecure,
        create_repository=args.create_repository,
        parallelism=args.parallelism,
        docker_socket=args.docker_socket,
    )
    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
    else:
        print(f"{report.to_dict()['destination']} {report.digest}")
        print(report.summary)


if __name__ == "__main__":
    sys.exit(main())
