"""Deprecated: the CLI's shared plumbing, split by concern in 0.2.

Import from the module that holds each name now (this one goes away in 0.3):
:mod:`collective.cli.options` (CliState, the option set), :mod:`collective.cli.connect`
(the connection), :mod:`collective.cli.output` (JSON and tables), :mod:`collective.cli.failure`
(errors and exit codes), :mod:`collective.cli.params` (parameter types),
:mod:`collective.cli.inflight` (transactions in flight) and :mod:`collective.cli.files`.
"""

from __future__ import annotations

from collective._moved import warn_deprecated
from collective.cli.connect import open_client, refuse_embedded
from collective.cli.failure import error_document, fail, readable, report_error_json
from collective.cli.files import exists, read_text, write_text
from collective.cli.inflight import IN_FLIGHT, InFlight, in_flight, watch
from collective.cli.options import (
    MANIFEST_ENV,
    CliState,
    F,
    category_option,
    client_command,
    custom_term_option,
    pass_state,
    purpose_option,
)
from collective.cli.output import (
    JSON_MODE,
    JSON_WRITTEN,
    console,
    emit_json,
    print_fields,
    print_table,
    report,
    to_jsonable,
    tx_line,
    wants_json,
    when,
)
from collective.cli.params import (
    BLOCK_NUMBER,
    DURATION,
    EXPIRY,
    POLICY_VERSION,
    TEXT,
    Duration,
    Expiry,
    NulFreePath,
    Utf8Text,
    parse_duration,
    strict_text,
)

make_client = open_client  # its 0.1 name

warn_deprecated(
    "collective.cli.common is split by concern: import each name from collective.cli.options, "
    ".connect, .output, .failure, .params, .inflight or .files",
    "collective.cli.common",
)

__all__ = [
    "BLOCK_NUMBER",
    "DURATION",
    "EXPIRY",
    "IN_FLIGHT",
    "JSON_MODE",
    "JSON_WRITTEN",
    "MANIFEST_ENV",
    "POLICY_VERSION",
    "TEXT",
    "CliState",
    "Duration",
    "Expiry",
    "F",
    "InFlight",
    "NulFreePath",
    "Utf8Text",
    "category_option",
    "client_command",
    "console",
    "custom_term_option",
    "emit_json",
    "error_document",
    "exists",
    "fail",
    "in_flight",
    "make_client",
    "parse_duration",
    "pass_state",
    "print_fields",
    "print_table",
    "purpose_option",
    "read_text",
    "readable",
    "refuse_embedded",
    "report",
    "report_error_json",
    "strict_text",
    "to_jsonable",
    "tx_line",
    "wants_json",
    "watch",
    "when",
    "write_text",
]
