"""kubectl's exec credential helper: ``python -m dss_gke.credential --cache-file F [--key-file K]``
prints an ExecCredential with an access token from the plugin's credential chain."""

import argparse
import json
import sys

from dss_gke import GkeError, _native


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dss_gke.credential", description=__doc__)
    parser.add_argument("--cache-file", required=True, help="token cache (written 0600)")
    parser.add_argument("--key-file", help="service-account key file; default: ADC chain")
    args = parser.parse_args(argv)
    try:
        credential = _native.exec_credential(args.cache_file, args.key_file)
    except GkeError as e:
        print(f"dss_gke.credential: {e}", file=sys.stderr)
        return 1
    json.dump(credential, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
