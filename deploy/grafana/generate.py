#!/usr/bin/env python3
"""Writes deploy/grafana/regionctl-fleet.json, the Grafana dashboard for a regionctl fleet.

The dashboard is generated so that its panels stay short to review and consistent (one
datasource variable, one `region` variable, the same units); edit this file and run it,
do not edit the JSON by hand. `scripts/lint-deploy.sh` checks that the committed JSON is
what this script writes and that every series it queries is documented in
docs/OPERATIONS.md.
"""
import json
import pathlib

OUT = pathlib.Path(__file__).with_name("regionctl-fleet.json")
SEL = 'region=~"$region"'


def panel(pid, title, exprs, x, y, w=12, h=8, unit="short", kind="timeseries", desc=""):
    """One panel; `exprs` is a list of (PromQL, legend)."""
    return {
        "id": pid,
        "type": kind,
        "title": title,
        "description": desc,
        "datasource": {"type": "prometheus", "uid": "${datasource}"},
        "gridPos": {"x": x, "y": y, "w": w, "h": h},
        "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
        "options": {"legend": {"displayMode": "table", "placement": "bottom"}},
        "targets": [
            {"refId": chr(ord("A") + i), "expr": e, "legendFormat": legend}
            for i, (e, legend) in enumerate(exprs)
        ],
    }


def panels():
    rows = [
        ("Controllers acting (quorum)", [(f"regionctl_quorum{{{SEL}}}", "{{region}}"),
                                         ("sum(regionctl_quorum)", "acting")],
         "short", "1 when the controller's last pass could act; the fleet needs a majority."),
        ("Passes per minute", [(f"rate(regionctl_passes_total{{{SEL}}}[5m]) * 60", "{{region}}")],
         "short", "About 60 / tick_secs; more when alarm events wake the loop."),
        ("Decisions by outcome (per pass)",
         [(f"sum by (region, status) (rate(regionctl_decisions_total{{{SEL}}}[5m]) * 60)",
           "{{region}} {{status}}")],
         "short", "waiting / failed / awaiting-approval are counted every pass they last."),
        ("Holds and alerts active", [(f"regionctl_alerts_active{{{SEL}}}", "{{region}}")],
         "short", "Planner alerts (holds, partial moves, guard), standing down, rejected reloads."),
        ("Steps planned by kind",
         [(f"sum by (region, kind) (rate(regionctl_steps_total{{{SEL}}}[5m]) * 60)",
           "{{region}} {{kind}}")],
         "short", "Non-zero: the plan differs from the live state."),
        ("Pass duration (p50, p99)",
         [(f"histogram_quantile(0.5, sum by (region, le) (rate(regionctl_reconcile_seconds_bucket{{{SEL}}}[5m])))",
           "p50 {{region}}"),
          (f"histogram_quantile(0.99, sum by (region, le) (rate(regionctl_reconcile_seconds_bucket{{{SEL}}}[5m])))",
           "p99 {{region}}")],
         "s", "A pass slower than half a tick risks heartbeats older than their TTL."),
        ("AWS read failures per minute",
         [(f"rate(regionctl_aws_read_failures_total{{{SEL}}}[5m]) * 60", "{{region}}")],
         "short", "CloudWatch, Route 53, ECS, ALB and journal reads that failed."),
        ("Journal items not believed",
         [(f"sum by (region, kind, reason) (increase(regionctl_journal_items_rejected_total{{{SEL}}}[10m]))",
           "{{region}} {{kind}} {{reason}}")],
         "short", "Forged items, peers with bad clocks, writers of another version."),
        ("Pass phases (p99)",
         [(f"histogram_quantile(0.99, sum by (phase, le) (rate(regionctl_pass_phase_seconds_bucket{{{SEL}}}[5m])))",
           "{{phase}}")],
         "s", "Where a pass spends its time: coordinate, observe, live, evaluate, plan, decide, record."),
        ("AWS API calls per second, by operation",
         [(f"sum by (service, operation) (rate(regionctl_aws_api_calls_total{{{SEL}}}[5m]))",
           "{{service}} {{operation}}")],
         "reqps", "Summed over the fleet: compare with the account quotas (DescribeAlarms ~9/s, "
         "Route 53 5/s per account, shared with every other tool)."),
        ("Policy reloads",
         [(f"sum by (region, result) (increase(regionctl_policy_reloads_total{{{SEL}}}[1h]))",
           "{{region}} {{result}}")],
         "short", "A rejected reload keeps the last good bundle running."),
    ]
    out = []
    for i, (title, exprs, unit, desc) in enumerate(rows):
        out.append(panel(i + 1, title, exprs, x=(i % 2) * 12, y=(i // 2) * 8, unit=unit, desc=desc))
    return out


def dashboard():
    return {
        "uid": "regionctl-fleet",
        "title": "regionctl fleet",
        "tags": ["regionctl"],
        "timezone": "utc",
        "schemaVersion": 39,
        "version": 1,
        "refresh": "30s",
        "time": {"from": "now-6h", "to": "now"},
        "templating": {
            "list": [
                {"name": "datasource", "type": "datasource", "query": "prometheus",
                 "label": "Prometheus"},
                {"name": "region", "type": "query", "label": "Controller region",
                 "datasource": {"type": "prometheus", "uid": "${datasource}"},
                 "query": "label_values(regionctl_passes_total, region)",
                 "includeAll": True, "multi": True, "allValue": ".*",
                 "current": {"text": "All", "value": "$__all"}, "refresh": 2},
            ]
        },
        "panels": panels(),
    }


if __name__ == "__main__":
    OUT.write_text(json.dumps(dashboard(), indent=2) + "\n")
