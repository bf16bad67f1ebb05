#!/usr/bin/env python3
"""check_monitoring.py passes the shipped files and fails each kind of mistake.

  check_monitoring_test.py DOCS RULES DASHBOARD
(the same arguments as check_monitoring.py; the files are copied and spoilt
in a scratch directory, never changed in place)
"""
import json
import os
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
CHECKER = os.path.join(HERE, "check_monitoring.py")
DOCS, RULES, DASHBOARD = (sys.argv[1:4] if len(sys.argv) >= 4 else
                          [os.path.join(HERE, "..", "..", p) for p in
                           ("docs/metrics.md", "packaging/prometheus/vnc-hooks-manager.rules.yml",
                            "packaging/grafana/vnc-hooks-manager.json")])


def read(path):
    with open(path, encoding="utf-8") as file:
        return file.read()


class CheckMonitoringTest(unittest.TestCase):
    def setUp(self):
        self.scratch = tempfile.TemporaryDirectory()
        self.addCleanup(self.scratch.cleanup)

    def run_checker(self, docs=None, rules=None, dashboard=None):
        paths = []
        for name, text, original in (("metrics.md", docs, DOCS), ("rules.yml", rules, RULES),
                                     ("dashboard.json", dashboard, DASHBOARD)):
            path = os.path.join(self.scratch.name, name)
            with open(path, "w", encoding="utf-8") as file:
                file.write(read(original) if text is None else text)
            paths.append(path)
        return subprocess.run([sys.executable, CHECKER, *paths], capture_output=True, text=True)

    def assert_fails(self, expected_text, **spoilt):
        result = self.run_checker(**spoilt)
        self.assertEqual(result.returncode, 1, result.stdout + result.stderr)
        self.assertIn(expected_text, result.stderr)

    def test_shipped_files_pass(self):
        result = self.run_checker()
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("every metric is one of the", result.stdout)

    def test_misspelt_metric_in_dashboard_fails(self):
        text = read(DASHBOARD).replace("vnc_hooks_manager_hook_queue_depth", "vnc_hooks_manager_hook_queue_dept", 1)
        self.assert_fails("unknown metric(s) vnc_hooks_manager_hook_queue_dept", dashboard=text)

    def test_misspelt_metric_in_variable_fails(self):
        text = read(DASHBOARD).replace("label_values(vnc_hooks_manager_build_info", "label_values(vnc_hooks_manager_buildinfo")
        self.assert_fails("unknown metric(s) vnc_hooks_manager_buildinfo", dashboard=text)

    def test_misspelt_metric_in_alert_rules_fails(self):
        text = read(RULES).replace("vnc_hooks_manager_bans_total", "vnc_hooks_manager_ban_total", 1)
        self.assert_fails("unknown metric(s) vnc_hooks_manager_ban_total", rules=text)

    def test_metric_missing_from_docs_fails(self):
        text = "\n".join(line for line in read(DOCS).split("\n") if "`vnc_hooks_manager_hook_runs_total`" not in line)
        self.assert_fails("unknown metric(s) vnc_hooks_manager_hook_runs_total", docs=text)

    def test_query_syntax_error_fails(self):
        dashboard = json.loads(read(DASHBOARD))
        panel = next(p for p in dashboard["panels"] if p.get("targets"))
        panel["targets"][0]["expr"] = "sum(rate(vnc_hooks_manager_sessions_total[5m])"
        self.assert_fails("promtool rejects a dashboard query", dashboard=json.dumps(dashboard))

    def test_rules_syntax_error_fails(self):
        text = read(RULES).replace("> 0.2", "> > 0.2", 1)
        self.assert_fails("promtool check rules", rules=text)

    def test_panel_without_datasource_or_queries_fails(self):
        dashboard = json.loads(read(DASHBOARD))
        panels = [p for p in dashboard["panels"] if p.get("targets")]
        del panels[0]["datasource"]
        panels[1]["targets"] = []
        text = json.dumps(dashboard)
        self.assert_fails(f"panel {panels[0]['title']!r}: no data source", dashboard=text)
        self.assert_fails(f"panel {panels[1]['title']!r}: no queries", dashboard=text)

    def test_invalid_json_fails(self):
        self.assert_fails("not valid JSON", dashboard=read(DASHBOARD)[:-3])


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1], verbosity=1)
