"""`dataiku.core.intercom`: calls from a component's process to DSS's backend.

`backend_json_call(path, data)` posts `data` form-encoded to the backend's internal API, as DSS's
package does, and returns the decoded JSON answer (an exception with the backend's message when
it refuses). Dataiku's cluster plugins call `plugins/get-resolved-settings` with it."""

import json
import os
import urllib.error
import urllib.parse
import urllib.request


def backend_json_call(path, data=None, err_msg=None, **kwargs):
    url = f"{os.environ['DKU_HARNESS_BACKEND_URL']}/dip/api/tintercom/{path}"
    body = urllib.parse.urlencode(data or {}).encode()
    request = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={
            "X-DKU-APITicket": os.environ["DKU_HARNESS_TICKET"],
            "Content-Type": "application/x-www-form-urlencoded",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:
            return json.loads(answer.read())
    except urllib.error.HTTPError as e:
        try:
            detail = json.loads(e.read()).get("message", "")
        except ValueError:
            detail = ""
        raise Exception(f"{err_msg or 'Backend call failed'}: {e.code} {detail}") from None
