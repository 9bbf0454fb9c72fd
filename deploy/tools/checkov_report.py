"""Summarises a checkov JSON report (stdin) for scripts/check-deploy.sh: counts, every skipped check with its
reason, every failed check. Exit 1 on a failed check or on a check skipped without a reason."""
import json
import sys

label = sys.argv[1] if len(sys.argv) > 1 else "checkov"
data = json.load(sys.stdin)
reports = data if isinstance(data, list) else [data]
passed = failed = skipped = 0
for report in reports:
    summary = report.get("summary", {})
    passed += summary.get("passed", 0)
    failed += summary.get("failed", 0)
    skipped += summary.get("skipped", 0)
    results = report.get("results", {})
    for check in results.get("skipped_checks", []):
        reason = ((check.get("check_result") or {}).get("suppress_comment") or "").strip()
        print(f"    skipped {check['check_id']} ({check['resource']}): {reason or 'NO REASON GIVEN'}")
        if not reason:
            failed += 1
    for check in results.get("failed_checks", []):
        print(f"    FAILED {check['check_id']} {check['check_name']} ({check['resource']}, "
              f"{check['file_path']}:{check['file_line_range']})")
print(f"    {label}: {passed} passed, {failed} failed, {skipped} skipped")
sys.exit(1 if failed else 0)
