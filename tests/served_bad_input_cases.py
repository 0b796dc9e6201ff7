"""Bad requests to a served model (issue 11.2, served part): tests/test_serving.py asserts them
and ``benchmarks/served_bad_input.py`` writes benchmarks/results/bad_input_served.md.

Each case is a request body built from good rows (``dataframe_split``) and what must come back:
``error`` (a 4xx whose answer matches ``expect``), ``warn`` (200, the documented fallback, with a
``BadInputWarning`` matching ``expect`` in the server's log) or ``ok`` (200). A 200 must carry one
prediction per row, and rows the case did not touch must equal the good answer: never a silent
wrong answer, never a 5xx.
"""

from __future__ import annotations

import copy
import json
import re
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass

JSON = "application/json"


@dataclass
class ServedCase:
    name: str
    description: str
    expected: str  # "error", "warn" or "ok"
    expect: str  # regex on the error answer, or on the server log for "warn"
    body: Callable[[dict, str, str], bytes]  # (good split, numeric column, category column)
    content_type: str = JSON
    changed_rows: tuple = (0,)  # rows whose answer may differ from the good one


def _split_body(change: Callable[[dict, int, int], None]) -> Callable[[dict, str, str], bytes]:
    def build(split: dict, num: str, cat: str) -> bytes:
        s = copy.deepcopy(split)
        change(s, s["columns"].index(num), s["columns"].index(cat))
        return json.dumps({"dataframe_split": s}, allow_nan=True).encode()

    return build


def _set(column: str, value) -> Callable[[dict, str, str], bytes]:
    def change(s: dict, num: int, cat: int) -> None:
        s["data"][0][num if column == "num" else cat] = value

    return _split_body(change)


def _drop_num(s: dict, num: int, cat: int) -> None:
    s["columns"].pop(num)
    for row in s["data"]:
        row.pop(num)


def _extra(s: dict, num: int, cat: int) -> None:
    s["columns"].append("not_a_feature")
    for row in s["data"]:
        row.append(1.0)


def _null_column(s: dict, num: int, cat: int) -> None:
    for row in s["data"]:
        row[num] = None


def _raw(text: str) -> Callable[[dict, str, str], bytes]:
    return lambda split, num, cat: text.encode()


CASES = [
    ServedCase("clean", "the good rows (reference)", "ok", "", _split_body(lambda s, n, c: None), changed_rows=()),
    ServedCase("nan", "null in a numeric column", "ok", "", _set("num", None)),
    ServedCase("null_column", "a numeric column entirely null", "ok", "", _split_body(_null_column), changed_rows=(0, 1, 2, 3, 4)),
    ServedCase("null_category", "null in a categorical column", "ok", "", _set("cat", None)),
    ServedCase("inf", "Infinity in a numeric column", "error", r"infinity in columns \['{num}'\]", _set("num", float("inf"))),
    ServedCase("minus_inf", "-Infinity in a numeric column", "error", r"infinity in columns \['{num}'\]", _set("num", float("-inf"))),
    ServedCase("huge", "1e300 in a numeric column", "warn", r"columns \['{num}'\]: 1 value\(s\) far outside the training range", _set("num", 1e300)),
    ServedCase("text_in_numeric", "a string in a numeric column", "error", r"Failed to convert column {num} to type 'float64'.*oops", _set("num", "oops")),
    ServedCase("missing_column", "a column missing", "error", r"missing inputs \['{num}'\]", _split_body(_drop_num)),
    ServedCase("extra_column", "a column the model does not know", "ok", "", _split_body(_extra), changed_rows=()),
    ServedCase("unseen_category", "a category never seen in fit", "warn", r"column '{cat}' has categories not seen in fit \['zz-new'\]", _set("cat", "zz-new")),
    ServedCase("number_as_category", "a number in a categorical column", "warn", r"column '{cat}' has categories not seen in fit \['12345'\]", _set("cat", 12345)),
    ServedCase("zero_rows", "no rows", "ok", "", _split_body(lambda s, n, c: s.update(data=[])), changed_rows=()),
    ServedCase("long_row", "a row with one value too many", "error", r"columns passed|columns.*data had", _split_body(lambda s, n, c: s["data"][0].append(1.0))),
    # MLflow/pandas pad a short row with null: imputed like a missing value, not refused (a
    # value missing mid-row would shift the others: nothing after MLflow's parsing can tell).
    ServedCase("short_row", "a row with one value too few (read as a trailing null)", "ok", "", _split_body(lambda s, n, c: s["data"][0].pop())),
    ServedCase("empty_body", "an empty body", "error", r"valid JSON", _raw("")),
    ServedCase("broken_json", "JSON cut short", "error", r"valid JSON", _raw('{"dataframe_split": {"columns": [')),
    ServedCase("json_list", "a JSON list instead of an object", "error", r"must be a JSON dictionary", _raw("[1, 2, 3]")),
    ServedCase("wrong_key", "an object without dataframe_split/records/instances/inputs", "error", r"dataframe_split", _raw('{"rows": [[1, 2]]}')),
    ServedCase("not_utf8", "bytes that are not UTF-8", "error", r"JSON|UTF-8|utf-8", lambda split, num, cat: b"\xff\xfe\x00junk"),
    ServedCase("wrong_content_type", "Content-Type text/plain", "error", r"content types", _split_body(lambda s, n, c: None), content_type="text/plain"),
]  # fmt: skip


def post(url: str, body: bytes, content_type: str = JSON, timeout: float = 60) -> tuple[int, str]:
    """(HTTP status, answer text) of a POST to ``url``/invocations."""
    request = urllib.request.Request(
        f"{url}/invocations", data=body, headers={"Content-Type": content_type}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as r:
            return r.status, r.read().decode(errors="replace")
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode(errors="replace")


def run_cases(url: str, split: dict, num: str, cat: str, log: Callable[[], str]) -> list[dict]:
    """Send every case; one row per case: what came back and whether it is acceptable."""
    status, answer = post(url, _split_body(lambda s, n, c: None)(split, num, cat))
    assert status == 200, answer
    good = json.loads(answer)["predictions"]
    rows = []
    for case in CASES:
        status, answer = post(url, case.body(split, num, cat), case.content_type)
        pattern = case.expect.format(num=re.escape(num), cat=re.escape(cat))
        if case.expected == "error":
            passed = 400 <= status < 500 and re.search(pattern, answer, re.S) is not None
            got, message = "error", _message(answer)
        else:
            predictions = json.loads(answer)["predictions"] if status == 200 else None
            n_rows = 0 if case.name == "zero_rows" else len(good)
            passed = predictions is not None and len(predictions) == n_rows
            if passed and case.name != "zero_rows":
                same = [i for i in range(n_rows) if i not in case.changed_rows]
                passed = all(predictions[i] == good[i] for i in same)
            message = ""
            if case.expected == "warn":
                found = re.search(pattern, log())
                passed = passed and found is not None
                message = found.group(0) if found else ""
            got = case.expected if passed else f"HTTP {status}"
        rows.append(
            {
                "case": case.name,
                "input": case.description,
                "status": status,
                "got": got,
                "expected": case.expected,
                "passed": passed,
                "message": message,
            }
        )
    return rows


def _message(answer: str) -> str:
    """The useful part of MLflow's error answer (after its 'Error:'), on one line."""
    try:
        text = json.loads(answer).get("message", answer)
    except ValueError:
        text = answer
    text = text.split("\nError: ", 1)[-1]  # after MLflow's "Failed to predict data '...'"
    text = " ".join(text.split())
    return text if len(text) <= 200 else f"{text[:90]} ... {text[-100:]}"
