#!/usr/bin/env python3
"""Run scim2-tester's `check_server` against a live SCIM server and judge it strictly.

scim2-tester reports problems as results, not as an exit code, and when it cannot
read the discovery endpoints it quietly runs its discovery checks only. So this
script:

1. runs discovery itself and fails loudly unless it finds the User resource type
   (with the Enterprise User extension) and the Group resource type;
2. runs every check, the ones that create, modify and delete resources included;
3. prints every result and a `N passed, M failed` line;
4. exits non-zero unless every result is SUCCESS *and* each check produced as
   many results as scim2-tester produces for the discovered schemas.

The expected count mirrors scim2-tester 0.5.2 (see `expected_results`). When the
pinned version in ci/requirements.txt changes, re-derive it: a mismatch prints a
per-check table of expected and actual counts.

Usage: scim2_tester_check.py --base-url http://127.0.0.1:PORT/scim/v2 --token TOKEN
"""

from __future__ import annotations

import argparse
import collections
import sys
from collections.abc import Iterable
from inspect import isclass
from typing import Any

import httpx2
from scim2_client import SCIMClientException
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_models import ComplexAttribute
from scim2_models import Extension
from scim2_models import Mutability
from scim2_models import Path
from scim2_models import Required
from scim2_models import Returned
from scim2_models import SCIMException
from scim2_tester import CheckResult
from scim2_tester import Status
from scim2_tester import check_server
from scim2_tester.checkers.resource_query_attributes import _pick_attribute_names
from scim2_tester.utils import parametrize

USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE_SCHEMA = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"

# The mutabilities scim2-tester fills (filling.py) and the ones each PATCH check walks.
FILLED = [Mutability.read_write, Mutability.write_only, Mutability.immutable]
PATCH_ADD = FILLED
PATCH_REPLACE_REMOVE = [Mutability.read_write, Mutability.write_only]
SHOWN = (Returned.default, Returned.always)

# Each discovery check and how many results it yields on a conforming server
# (checker.py, checkers/service_provider_config.py, resource_types.py, schemas.py,
# misc.py). "rt" scales with the published resource types, "schema" with the schemas.
DISCOVERY_CHECKS = {
    "service_provider_config_endpoint": "1",
    "service_provider_config_endpoint_methods": "4",  # POST, PUT, PATCH, DELETE -> 405
    "query_all_resource_types": "1",
    "query_resource_type_by_id": "rt",
    "resource_types_schema_validation": "rt",
    "access_invalid_resource_type": "1",
    "resource_types_endpoint_methods": "4",
    "query_all_schemas": "1",
    "access_schema_by_id": "schema",  # one per schema, or one SUCCESS when there is none
    "access_invalid_schema": "1",
    "schemas_endpoint_methods": "4",
    "random_url": "1",
}


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", required=True, help="SCIM base URL, e.g. http://127.0.0.1:8080/scim/v2")
    parser.add_argument("--token", required=True, help="bearer token sent with every request")
    parser.add_argument(
        "--expected-count",
        type=int,
        help="override the total number of results expected (default: derived from discovery)",
    )
    parser.add_argument("--timeout", type=float, default=30.0, help="HTTP timeout in seconds (default 30)")
    return parser.parse_args(argv)


def make_client(base_url: str, token: str, timeout: float) -> SyncSCIMClient:
    http = httpx2.Client(
        base_url=base_url.rstrip("/") + "/",
        headers={"Authorization": f"Bearer {token}"},
        timeout=timeout,
    )
    return SyncSCIMClient(http)


def die(message: str) -> None:
    print(f"FAIL: {message}")
    print("0 passed, 1 failed")
    sys.exit(1)


def discover(client: SyncSCIMClient) -> None:
    """Read the discovery endpoints and insist on User + Enterprise User and Group."""
    try:
        client.discover()
    except (SCIMClientException, SCIMException) as exc:
        source = getattr(exc, "source", None)  # the HTTP response, when there was one
        request = getattr(source, "request", None)
        where = f"{request.method} {request.url}: " if request is not None else ""
        body = getattr(source, "text", "")
        die(f"discovery failed: {where}{exc} {exc.__cause__ or ''}\n{body[:2000]}")
    except Exception as exc:  # the service description could not be composed
        die(f"discovery failed: {type(exc).__name__}: {exc}")

    provider = client.provider
    if provider.config is None:
        die("GET /ServiceProviderConfig gave nothing: scim2-tester would run discovery checks only")

    by_name = {str(rt.name): rt for rt in provider.resource_types}
    print(f"Discovered resource types: {', '.join(sorted(by_name)) or '(none)'}")
    print(f"Discovered schemas: {', '.join(str(m.__schema__) for m in provider.models)}")

    user = by_name.get("User")
    group = by_name.get("Group")
    if user is None or str(user.schema_) != USER_SCHEMA:
        die(f"no resource type named User with schema {USER_SCHEMA}")
    if group is None or str(group.schema_) != GROUP_SCHEMA:
        die(f"no resource type named Group with schema {GROUP_SCHEMA}")

    extensions = {str(ext.schema_): ext for ext in user.schema_extensions or []}
    if ENTERPRISE_SCHEMA not in extensions:
        die(f"the User resource type does not declare the extension {ENTERPRISE_SCHEMA}")
    if extensions[ENTERPRISE_SCHEMA].required:
        die("the Enterprise User extension is declared required: scim2-tester creates users without it")
    if ENTERPRISE_SCHEMA not in provider.model_for(user).get_extension_models():
        die("the Enterprise User schema is not published on /Schemas")

    patch = provider.config.patch
    if patch is None or not patch.supported:
        print("WARNING: ServiceProviderConfig says PATCH is unsupported: the PATCH checks will be SKIPPED")


def paths(model: type, **filters: Any) -> list[Path]:
    return list(parametrize(Path, model).iter_paths(include_subattributes=False, **filters))


def shows_up(model: type, field: str) -> bool:
    """Whether scim2-tester fills this field and a conforming server returns it by default."""
    if model.get_field_annotation(field, Returned) not in SHOWN:
        return False
    if model.get_field_annotation(field, Mutability) not in FILLED:
        return False
    root = model.get_field_root_type(field)
    if isclass(root) and issubclass(root, ComplexAttribute):
        return any(shows_up(root, sub) for sub in root.model_fields)
    return True


def removable_with_value(path: Path) -> bool:
    """check_remove_attribute silently skips paths the created resource came back without.

    It creates the resource with every writable attribute filled, then removes each
    attribute that has a value in the server's creation response: write-only
    (password) and `returned: never/request` attributes are never in it.
    """
    binding = path.resolve()
    if binding is None:  # a bare extension URN: the whole extension object
        extension = path.model
        assert isclass(extension) and issubclass(extension, Extension), str(path)
        return any(shows_up(extension, field) for field in extension.model_fields if field != "schemas")
    return shows_up(binding.target_model, binding.target_field_name)


def per_resource_type(model: type) -> dict[str, int]:
    """How many results each CRUD/PATCH check yields for one resource type (checkers/resource.py)."""
    included, excluded = _pick_attribute_names(model)
    # Each attribute check yields one result per picked name (attributes=, excludedAttributes=),
    # or one SKIPPED result when the model has no suitable attribute.
    attribute_checks = max((included is not None) + (excluded is not None), 1)

    add = paths(model, required=[Required.false], mutability=PATCH_ADD)
    replace = paths(model, mutability=PATCH_REPLACE_REMOVE)
    remove = paths(model, required=[Required.false], mutability=PATCH_REPLACE_REMOVE)
    return {
        "object_creation": 1,
        "object_query": 1,
        "object_query_without_id": 1,
        "object_query_with_attributes": attribute_checks,
        "object_list_with_attributes": attribute_checks,
        "search_with_attributes": attribute_checks,
        "object_replacement": 1,
        "object_deletion": 1,
        # One result per top-level attribute (extension URNs and extension attributes
        # included), or a single SKIPPED result when there is none.
        "check_add_attribute": max(len(add), 1),
        "check_replace_attribute": max(len(replace), 1),
        "check_remove_attribute": sum(map(removable_with_value, remove)) if remove else 1,
    }


def expected_results(client: SyncSCIMClient) -> dict[tuple[str | None, str], int]:
    """Results per (resource type, check title) that scim2-tester 0.5.2 yields on a conforming server."""
    provider = client.provider
    scale = {
        "1": 1,
        "4": 4,
        "rt": len(provider.resource_types),
        # One model per schema published on /Schemas (ScimProvider.from_discovery).
        "schema": max(len(provider.models), 1),
    }
    expected = {(None, title): scale[kind] for title, kind in DISCOVERY_CHECKS.items()}
    for resource_type in provider.resource_types:
        model = provider.model_for(resource_type)
        for title, count in per_resource_type(model).items():
            expected[(str(resource_type.name), title)] = count
    return expected


def indent(text: str, prefix: str = "      ") -> str:
    return "\n".join(prefix + line for line in text.splitlines())


def print_results(results: Iterable[CheckResult]) -> None:
    for result in results:
        where = result.resource_type or "-"
        first_line = (result.reason or "").split("\n", 1)[0]
        print(f"{result.status.name:<9} {where:<6} {result.title}: {first_line}")
        if result.status != Status.SUCCESS:
            if result.reason and "\n" in result.reason:
                print(indent(result.reason))
            if result.data is not None:
                print(indent(repr(result.data)[:2000]))


def compare_counts(expected: dict, actual: dict) -> list[str]:
    rows = []
    for key in sorted(set(expected) | set(actual), key=lambda k: (k[0] or "", k[1])):
        want, got = expected.get(key, 0), actual.get(key, 0)
        if want != got:
            rows.append(f"  {key[0] or '-':<6} {key[1]:<42} expected {want:>3}, got {got:>3}")
    return rows


def main(argv: list[str]) -> int:
    args = parse_args(argv)

    print("==> Discovery")
    probe = make_client(args.base_url, args.token, args.timeout)
    discover(probe)
    expected = expected_results(probe)
    expected_total = sum(expected.values())
    for name in sorted({key[0] for key in expected if key[0]}):
        print(f"Expected results for {name}: {sum(v for k, v in expected.items() if k[0] == name)}")
    print(f"Expected results in total: {expected_total}")
    if args.expected_count is not None:
        print(f"Expected count overridden on the command line: {args.expected_count}")
        expected_total = args.expected_count

    print("\n==> scim2-tester check_server (every check, including those that write)")
    # A fresh client, so check_server reads and composes the discovery itself.
    client = make_client(args.base_url, args.token, args.timeout)
    results = check_server(client, include_tags=None, exclude_tags=None, resource_types=None)
    print_results(results)

    passed = sum(result.status == Status.SUCCESS for result in results)
    # Results that never came (a run cut short after discovery) count as failures too.
    missing = max(expected_total - len(results), 0)
    failed = len(results) - passed + missing
    actual = collections.Counter((result.resource_type, result.title) for result in results)

    problems = []
    statuses = collections.Counter(r.status.name for r in results if r.status != Status.SUCCESS)
    if statuses:
        problems.append(f"{sum(statuses.values())} result(s) are not SUCCESS: {dict(statuses)}")
    if not any(key[0] == "User" for key in actual) or not any(key[0] == "Group" for key in actual):
        problems.append("no User or Group checks ran: scim2-tester stopped after discovery")
    if len(results) != expected_total:
        problems.append(f"expected {expected_total} results, got {len(results)}")
        if args.expected_count is None:
            problems.append("per-check counts that differ:\n" + "\n".join(compare_counts(expected, actual)))

    print()
    for problem in problems:
        print(f"FAIL: {problem}")
    if not problems:
        print(f"OK: all {len(results)} results are SUCCESS, as many as expected")
    print(f"{passed} passed, {failed} failed")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
