"""Runs the SCIM compliance checker scim2-tester (PyPI) against a live
sladesk and prints its report, one line per check; exits 1 if any check
found an error (a MUST of RFC 7643/7644 broken) or a critical fault.

    python3 scim_check.py BASE_URL TOKEN
"""
import sys

import httpx2 as httpx
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_tester import Status, check_server

base, token = sys.argv[1:3]
client = httpx.Client(base_url=f"{base}/scim/v2", headers={"Authorization": f"Bearer {token}"}, timeout=30)
scim = SyncSCIMClient(client)
results = check_server(scim, raise_exceptions=False)
bad = 0
for r in results:
    print(f"{r.status.name:10} {r.resource_type or '-':6} {r.title}: {r.reason or ''}".rstrip())
    if r.status in (Status.ERROR, Status.CRITICAL):
        bad += 1
print(f"scim2-tester: {len(results)} checks, {bad} errors")
sys.exit(1 if bad else 0)
