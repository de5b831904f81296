#!/usr/bin/python3
"""scripts/lib/stack-render.py -- the YAML configuration of the native stack (scripts/stack),
rendered from the repository's own files by parsing them (PyYAML), never by editing text.

    stack-render.py prometheus SOURCE --scrape-interval D --eval-interval D
                    [--map HOST:PORT=ADDR]... [--file-sd NAME=FILE]... [--compose-only HOST]...
        prometheus/prometheus.yml (the compose configuration, the one source) -> the native
        prometheus.yml on stdout: the same jobs, rule files and alerting, with each compose
        address replaced by its native one (--map), DNS discovery of NAME replaced by the
        file_sd list FILE (--file-sd), and the jobs of compose-only services left out.
        A target that is neither mapped nor compose-only is an error: a job added to the
        compose configuration must be given its native address, not silently dropped.

    stack-render.py rules MAX SOURCE
        a rule file with every `for:` longer than MAX (a Prometheus duration) set to MAX,
        on stdout (STACK_ALERT_FAST=1).

    stack-render.py alertmanager-fast < IN > OUT
        an Alertmanager configuration with every group_wait 1s and group_interval 2s
        (STACK_ALERT_FAST=1); everything else as it was.

Comments of the source do not survive (the output says where it comes from); the values do.
"""

import argparse
import re
import sys

import yaml

# The directory compose mounts prometheus/ at: rule_files under it become relative to the
# rendered file, next to which scripts/stack copies the rules.
COMPOSE_CONFIG_DIR = "/etc/prometheus/"

DURATION = re.compile(r"^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$")
UNITS = (31_536_000, 604_800, 86_400, 3_600, 60, 1, 0.001)


def fail(message):
    print(f"stack-render: {message}", file=sys.stderr)
    sys.exit(1)


def seconds(duration):
    """A Prometheus duration (`1h30m`, `5s`, `0s`) in seconds; None when it is not one."""
    text = str(duration).strip()
    match = DURATION.match(text)
    if not text or not match or not any(match.groups()):
        return None
    return sum(int(n) * unit for n, unit in zip(match.groups(), UNITS) if n)


class Dumper(yaml.SafeDumper):
    """Block style, keys in source order, multi-line strings (PromQL, templates) as `|`."""


def _str(dumper, value):
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


Dumper.add_representer(str, _str)


def dump(doc, header):
    sys.stdout.write(header)
    yaml.dump(doc, sys.stdout, Dumper=Dumper, sort_keys=False, default_flow_style=False,
              allow_unicode=True, width=100)


def load(path):
    try:
        with open(path, encoding="utf-8") as f:
            return yaml.safe_load(f)
    except (OSError, yaml.YAMLError) as e:
        fail(f"{path}: {e}")


def pairs(values, what):
    out = {}
    for value in values:
        key, sep, target = value.partition("=")
        if not sep or not key or not target:
            fail(f"{what} needs KEY=VALUE, got {value!r}")
        out[key] = target
    return out


def render_prometheus(args):
    doc = load(args.source)
    addresses = pairs(args.map, "--map")
    file_sd = pairs(args.file_sd, "--file-sd")
    compose_only = set(args.compose_only)

    def native(target, where):
        if target in addresses:
            return addresses[target]
        if target.rsplit(":", 1)[0] in compose_only:
            return None
        fail(f"{args.source}: {where} names {target}, which has no native counterpart: give "
             "it one in scripts/stack (generate_prometheus, --map), or call it compose-only")

    glob = doc.setdefault("global", {})
    glob["scrape_interval"] = args.scrape_interval
    glob["evaluation_interval"] = args.eval_interval
    labels = glob.setdefault("external_labels", {})
    labels["stack"] = "native"

    doc["rule_files"] = [
        path[len(COMPOSE_CONFIG_DIR):] if path.startswith(COMPOSE_CONFIG_DIR) else path
        for path in doc.get("rule_files", [])
    ]

    for manager in (doc.get("alerting") or {}).get("alertmanagers", []):
        for static in manager.get("static_configs", []):
            static["targets"] = [native(t, "alerting") for t in static.get("targets", [])]
            if None in static["targets"]:
                fail(f"{args.source}: an Alertmanager of the alerting section is compose-only")

    jobs, left_out = [], []
    for job in doc.get("scrape_configs", []):
        name = job.get("job_name", "?")
        discovery = [k for k in job if k.endswith("_sd_configs")]
        if discovery and discovery != ["dns_sd_configs"]:
            fail(f"{args.source}: job {name}: {', '.join(discovery)} has no native counterpart")
        if "dns_sd_configs" in job:
            names = [n for sd in job.pop("dns_sd_configs") for n in sd.get("names", [])]
            unknown = [n for n in names if n not in file_sd]
            if unknown:
                fail(f"{args.source}: job {name}: DNS name(s) {unknown} have no --file-sd list")
            job["file_sd_configs"] = [{"files": [file_sd[n] for n in names],
                                       "refresh_interval": "5s"}]
            # The file_sd targets carry a `replica` label, the name the replicas also export
            # in shortener_build_info{replica}: keep theirs instead of exported_replica.
            job["honor_labels"] = True
        kept_statics = []
        for static in job.get("static_configs", []):
            mapped = [native(t, f"job {name}") for t in static.get("targets", [])]
            if any(t is None for t in mapped) and not all(t is None for t in mapped):
                fail(f"{args.source}: job {name} mixes compose-only and native targets")
            if mapped and all(t is None for t in mapped):
                continue
            static["targets"] = mapped
            kept_statics.append(static)
        if "static_configs" in job:
            if not kept_statics:
                left_out.append(name)
                continue
            job["static_configs"] = kept_statics
        jobs.append(job)
    doc["scrape_configs"] = jobs

    dump(doc, f"# Generated by scripts/stack from {args.source} (the compose configuration):\n"
              "# the same jobs and rules, targets on this machine's local ports. Left out\n"
              f"# (compose-only): {', '.join(left_out) or 'nothing'}. Edit the source, not this.\n")


def render_rules(args):
    limit = seconds(args.max)
    if limit is None:
        fail(f"MAX {args.max!r} is not a Prometheus duration")
    doc = load(args.source) or {}
    shortened = 0
    for group in doc.get("groups") or []:
        for rule in group.get("rules") or []:
            if "for" not in rule:
                continue
            value = seconds(rule["for"])
            if value is None:
                fail(f"{args.source}: rule {rule.get('alert', '?')}: for: {rule['for']!r}")
            if value > limit:
                rule["for"] = args.max
                shortened += 1
    dump(doc, f"# Generated by scripts/stack from {args.source} with STACK_ALERT_FAST=1:\n"
              f"# every `for:` longer than {args.max} cut to {args.max} ({shortened} here).\n")


def render_alertmanager_fast(_args):
    doc = yaml.safe_load(sys.stdin)

    def walk(node):
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "group_wait":
                    node[key] = "1s"
                elif key == "group_interval":
                    node[key] = "2s"
                else:
                    walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(doc)
    dump(doc, "# Rendered by alertmanager/render-config.sh, then STACK_ALERT_FAST=1 (scripts/stack):\n"
              "# every group_wait 1s, every group_interval 2s.\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    prom = sub.add_parser("prometheus")
    prom.add_argument("source")
    prom.add_argument("--scrape-interval", required=True)
    prom.add_argument("--eval-interval", required=True)
    prom.add_argument("--map", action="append", default=[])
    prom.add_argument("--file-sd", action="append", default=[])
    prom.add_argument("--compose-only", action="append", default=[])
    prom.set_defaults(run=render_prometheus)
    rules = sub.add_parser("rules")
    rules.add_argument("max")
    rules.add_argument("source")
    rules.set_defaults(run=render_rules)
    fast = sub.add_parser("alertmanager-fast")
    fast.set_defaults(run=render_alertmanager_fast)
    args = parser.parse_args()
    for value in (getattr(args, "scrape_interval", "1s"), getattr(args, "eval_interval", "1s")):
        if seconds(value) is None:
            fail(f"{value!r} is not a Prometheus duration")
    args.run(args)


if __name__ == "__main__":
    main()
