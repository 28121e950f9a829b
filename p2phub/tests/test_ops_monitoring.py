"""The shipped Prometheus rules and Grafana dashboard: well-formed, about our metric names, and
(when promtool is installed, as .ci/run does) checked and unit-tested by promtool itself."""

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from p2phub import metrics

OPS = Path(__file__).resolve().parents[2] / "ops"
RULES = OPS / "prometheus" / "alerts.yml"
NAMES = {
    "referral_processed_total", "referral_failed_total", "referral_processing_seconds_bucket",
    "commission_distributed_total", "commission_amount_usd_sum", "notification_sent_total",
    "notification_failed_total", "payments_total",
}


def _metric_names(expr: str) -> set[str]:
    return {name for name in re.findall(r"[a-z_]+_(?:total|bucket|sum|count)\b", expr)}


def test_alert_rules_are_the_three_roadmap_alerts_on_our_metric_names():
    rules = yaml.safe_load(RULES.read_text())["groups"][0]["rules"]
    assert [rule["alert"] for rule in rules] == ["ReferralFailures", "NoCommissionForAnHour", "NotificationFailureRate"]
    for rule in rules:
        assert rule["expr"] and rule["labels"]["severity"] and rule["annotations"]["summary"]
        assert _metric_names(rule["expr"]) <= NAMES, rule["alert"]
    assert "[5m])) > 5" in rules[0]["expr"]
    assert "[1h])) == 0" in rules[1]["expr"]
    assert "> 0.10 *" in rules[2]["expr"]


def test_grafana_dashboard_panels_query_only_exposed_metrics():
    dashboard = json.loads((OPS / "grafana" / "p2phub.json").read_text())
    exprs = [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]
    used = set().union(*(_metric_names(e) for e in exprs))
    assert used == NAMES
    exposed = {m.name for m in metrics.REGISTRY.collect()}
    assert {name.rsplit("_", 1)[0] for name in used} <= exposed  # family names: no _total / _bucket / _sum


@pytest.mark.skipif(not shutil.which("promtool"), reason="SKIPPED: promtool not installed (apt-get install prometheus)")
def test_promtool_checks_and_unit_tests_the_rules():
    subprocess.run(["promtool", "check", "rules", str(RULES)], check=True, capture_output=True)
    subprocess.run(["promtool", "test", "rules", "alerts_test.yml"], cwd=RULES.parent, check=True, capture_output=True)
