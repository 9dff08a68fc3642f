"""Command line: ``python -m dss_gke COMMAND``; ``python -m dss_gke --help`` lists the commands."""

import argparse
import json
import logging
import sys

import dss_gke


def main(argv: "list[str] | None" = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dss_gke", description=__doc__)
    parser.add_argument("--log-level", default="WARNING", help="DEBUG, INFO, WARNING or ERROR")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("version", help="print the plugin version")
    env = commands.add_parser("env", help="check the DSS host: build, GCE metadata server")
    env.add_argument("--metadata-host", help="host[:port] of the metadata server")
    env.add_argument("--timeout", type=float, default=2.0, help="seconds per request")
    plan = commands.add_parser("plan", help="print the create request of a cluster configuration")
    plan.add_argument("--config", required=True, help="JSON file: the cluster's config")
    plan.add_argument("--plugin-config", help="JSON file: the plugin's settings")
    plan.add_argument("--cluster-id", default="dss-cluster", help="DSS cluster id (default name)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(levelname)s %(name)s: %(message)s")

    try:
        if args.command == "version":
            print(dss_gke.__version__)
        elif args.command == "env":
            report = dss_gke.environment_report(args.metadata_host, args.timeout)
            print(json.dumps(report.to_dict(), indent=2))
        elif args.command == "plan":
            with open(args.config) as f:
                config = json.load(f)
            plugin_config = {}
            if args.plugin_config:
                with open(args.plugin_config) as f:
                    plugin_config = json.load(f)
            plan = dss_gke.plan_cluster(config, plugin_config, args.cluster_id)
            print(json.dumps(plan, indent=2))
    except dss_gke.GkeError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
