"""The file:DIR source: reading CSV, JSON Lines and Parquet, and reporting bad input."""

from __future__ import annotations

import os
import shutil
import tempfile
from datetime import date
from pathlib import Path

import duckdb
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.core.catalog import load_catalog
from engine.core.errors import DataError, Diagnostic, UsageError
from engine.data.sources import parse_source
from engine.data.sources.files import MAX_PROBLEMS_PER_FILE, FileSource, status_vocabularies

VALID = Path(__file__).parent / "data" / "files" / "valid"
CATALOG = load_catalog()

ENTITIES_HEADER = "platform,account_id,level,entity_id,name,daily_budget,is_brand,labels,created_at"
METRICS_HEADER = "date,platform,account_id,level,entity_id,spend,impressions,clicks"


@pytest.fixture
def data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty data directory `data/`, with the current directory its parent."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data").mkdir()
    return tmp_path / "data"


def write(directory: Path, name: str, content: str | bytes) -> Path:
    path = directory / name
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    else:
        path.write_bytes(content)
    return path


def write_csvs(directory: Path, entities_rows: list[str], metrics_rows: list[str]) -> None:
    write(directory, "entities.csv", "\n".join([ENTITIES_HEADER, *entities_rows]) + "\n")
    write(directory, "metrics_daily.csv", "\n".join([METRICS_HEADER, *metrics_rows]) + "\n")


GOOD_ENTITY = "meta,A1,campaign,c1,Brand,100,yes,brand,2024-01-01"
GOOD_METRIC = "2024-03-01,meta,A1,campaign,c1,10.5,1000,20"
ONE_METRIC = f"{METRICS_HEADER}\n{GOOD_METRIC}\n"


def connect() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("CREATE SCHEMA src")
    con.execute("BEGIN TRANSACTION")
    return con


def load(spec: str = "file:data"):
    con = connect()
    info = parse_source(spec).materialize(con, "src", CATALOG)
    return con, info


def schema_tables(con: duckdb.DuckDBPyConnection) -> list[str]:
    rows = con.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = 'src'").fetchall()
    return [name for (name,) in rows]


def problems(spec: str = "file:data") -> list[Diagnostic]:
    """The diagnostics of a failing materialize, checking nothing was created."""
    con = connect()
    with pytest.raises(DataError) as caught:
        parse_source(spec).materialize(con, "src", CATALOG)
    assert schema_tables(con) == []
    # The caller's transaction survives a file DuckDB could not read.
    assert con.execute("SELECT 42").fetchall() == [(42,)]
    for d in caught.value.diagnostics:
        d.format()  # every diagnostic renders
    return caught.value.diagnostics


def only(diagnostics: list[Diagnostic], fragment: str) -> Diagnostic:
    found = [d for d in diagnostics if fragment in d.message]
    assert len(found) == 1, [d.format() for d in diagnostics]
    return found[0]


def rows(con: duckdb.DuckDBPyConnection, sql: str) -> list[tuple]:
    return con.execute(sql).fetchall()


# --------------------------------------------------------------------------- valid input


def test_csv_round_trip(data: Path) -> None:
    shutil.copytree(VALID, data, dirs_exist_ok=True)
    con, info = load()

    assert rows(con, "SELECT column_name, column_type FROM (DESCRIBE src.entities)") == [
        (name, sql_type) for name, sql_type in CATALOG.entity_columns()
    ]
    assert rows(con, "SELECT column_name, column_type FROM (DESCRIBE src.metrics_daily)") == [
        (name, sql_type) for name, sql_type in CATALOG.metric_columns()
    ]
    c1 = rows(
        con,
        "SELECT name, daily_budget, bid, is_brand, learning_phase, labels, created_at, currency "
        "FROM src.entities WHERE entity_id = 'c1'",
    )
    assert c1 == [("Brand, always on", 150.0, None, True, False, ["brand", "evergreen"], date(2024, 1, 15), None)]
    booleans = rows(con, "SELECT entity_id, is_brand, learning_phase FROM src.entities ORDER BY entity_id")
    assert booleans == [("c1", True, False), ("c2", False, True), ("g1", True, False), ("p1", False, True)]
    assert rows(con, "SELECT labels FROM src.entities WHERE entity_id = 'g1'") == [(None,)]
    spend = rows(con, "SELECT spend, conversion_value, revenue FROM src.metrics_daily WHERE entity_id = 'g1'")
    assert spend == [(60.25, 480.0, None)]

    assert info.present_metrics == {
        "spend", "impressions", "clicks", "outbound_clicks", "conversions", "conversion_value"
    }  # fmt: skip
    assert (info.min_date, info.max_date) == (date(2024, 3, 1), date(2024, 3, 2))
    assert (info.entity_rows, info.metric_rows) == (4, 5)
    missing = only_warning(info.data_quality, "rules using them will see null")
    assert missing["file"] == os.path.join("data", "metrics_daily.csv")
    # Only metrics the file's platforms (meta, pinterest) report: not Shopify's revenue.
    assert "video_views, leads" in missing["message"]
    assert "revenue" not in missing["message"] and "spend" not in missing["message"]


def only_warning(data_quality: list[dict], fragment: str) -> dict:
    found = [w for w in data_quality if fragment in w["message"]]
    assert len(found) == 1, data_quality
    assert found[0]["severity"] == "warning"
    return found[0]


def test_csv_quoting_crlf_bom_and_spaces(data: Path) -> None:
    entities = (
        "\ufeffplatform,account_id,level,entity_id,name,labels\r\n"
        'meta, A1 ,campaign,c1,"Say ""hi"", twice",\r\n'
        "\r\n"
        'meta,A1,campaign,c2,"two\r\nlines", a ;; b \r\n'
    )
    write(data, "entities.csv", entities)
    write(data, "metrics_daily.csv", ONE_METRIC)
    con, info = load()
    assert rows(con, "SELECT account_id, entity_id, name, labels FROM src.entities ORDER BY entity_id") == [
        ("A1", "c1", 'Say "hi", twice', None),
        ("A1", "c2", "two\r\nlines", ["a", "b"]),
    ]
    assert (info.metric_rows, info.min_date) == (1, date(2024, 3, 1))


def test_jsonl_round_trip(data: Path) -> None:
    entities = [
        {"platform": "meta", "account_id": "A1", "level": "campaign", "entity_id": "c1",
         "labels": ["x", " y ", ""], "is_brand": True, "daily_budget": 50, "created_at": "2024-01-02",
         "unknown": 1},
        {"platform": "meta", "account_id": 7, "level": "campaign", "entity_id": "c2", "labels": "a; b",
         "is_brand": "no", "daily_budget": "12.5", "bid": None},
    ]  # fmt: skip
    metrics = [
        {"date": "2024-03-01", "platform": "meta", "account_id": "A1", "level": "campaign", "entity_id": "c1",
         "spend": 1.5, "clicks": 3},
    ]  # fmt: skip
    write(data, "entities.jsonl", b"\n".join(orjson.dumps(e) for e in entities) + b"\n\n   \n")
    write(data, "metrics_daily.jsonl", b"\n".join(orjson.dumps(m) for m in metrics))
    con, info = load()
    assert rows(con, "SELECT account_id, labels, is_brand, daily_budget, bid, created_at FROM src.entities") == [
        ("A1", ["x", "y"], True, 50.0, None, date(2024, 1, 2)),
        ("7", ["a", "b"], False, 12.5, None, None),
    ]
    assert info.present_metrics == {"spend", "clicks"}
    assert rows(con, "SELECT spend, clicks, impressions FROM src.metrics_daily") == [(1.5, 3.0, None)]
    assert "unknown" in only_warning(info.data_quality, "ignored columns")["message"]


def test_parquet_round_trip_with_typed_columns(data: Path) -> None:
    writer = duckdb.connect()
    path = data / "entities.parquet"
    writer.execute(
        "COPY (SELECT 'meta' AS platform, 42 AS account_id, 'campaign' AS level, 'c1' AS entity_id, "
        "['brand', ' promo '] AS labels, true AS is_brand, 'yes' AS learning_phase, "
        "9::INTEGER AS daily_budget, "
        f"DATE '2024-01-05' AS created_at) TO '{path}' (FORMAT parquet)"
    )
    path = data / "metrics_daily.parquet"
    writer.execute(
        "COPY (SELECT TIMESTAMP '2024-03-01 00:00:00' AS date, 'meta' AS platform, '42' AS account_id, "
        "'campaign' AS level, 'c1' AS entity_id, 12.5::DECIMAL(10, 2) AS spend, '7' AS clicks, "
        f"'nan'::DOUBLE AS impressions) TO '{path}' (FORMAT parquet)"
    )
    con, info = load()
    assert rows(
        con, "SELECT account_id, labels, is_brand, learning_phase, daily_budget, created_at FROM src.entities"
    ) == [("42", ["brand", "promo"], True, True, 9.0, date(2024, 1, 5))]
    assert rows(con, "SELECT date, spend, clicks, impressions FROM src.metrics_daily") == [
        (date(2024, 3, 1), 12.5, 7.0, None)
    ]
    assert info.present_metrics == {"spend", "clicks", "impressions"}
    only_warning(info.data_quality, "1 value of impressions was NaN or infinite")


def test_mixed_formats(data: Path) -> None:
    write(
        data,
        "entities.jsonl",
        '{"platform": "meta", "account_id": "A1", "level": "campaign", "entity_id": "c1"}',
    )
    write(data, "metrics_daily.csv", METRICS_HEADER + "\n" + GOOD_METRIC + "\n")
    _, info = load()
    assert (info.entity_rows, info.metric_rows) == (1, 1)


def test_nan_and_infinite_become_null_with_one_warning_per_column(data: Path) -> None:
    write_csvs(
        data,
        [GOOD_ENTITY],
        [
            "2024-03-01,meta,A1,campaign,c1,NaN,inf,1",
            "2024-03-02,meta,A1,campaign,c1,-inf,Infinity,2",
            "2024-03-03,meta,A1,campaign,c1,5,-Infinity,3",
        ],
    )
    con, info = load()
    assert rows(con, "SELECT spend, impressions FROM src.metrics_daily ORDER BY date") == [
        (None, None),
        (None, None),
        (5.0, None),
    ]
    only_warning(info.data_quality, "2 values of spend were NaN or infinite and were treated as missing")
    only_warning(info.data_quality, "3 values of impressions were NaN or infinite")


def test_metrics_of_unknown_entities_are_kept_with_a_warning(data: Path) -> None:
    write_csvs(data, [GOOD_ENTITY], [GOOD_METRIC, "2024-03-01,meta,A1,campaign,ghost,1,1,1"])
    _, info = load()
    assert info.metric_rows == 2
    warning = only_warning(info.data_quality, "1 row belongs to entities missing from entities.csv")
    assert "ghost" in warning["message"]


def test_unknown_columns_warn_once_with_suggestion(data: Path) -> None:
    write(data, "entities.csv", "platform,account_id,level,entity_id,Status,foo\nmeta,A1,campaign,c1,1,2\n")
    write(data, "metrics_daily.csv", ONE_METRIC)
    _, info = load()
    warning = only_warning(info.data_quality, "ignored columns")
    assert "Status, foo" in warning["message"]
    assert "Status -> status" in warning["message"]


# --------------------------------------------------------------------------- spec and files


def test_spec_describe_and_fingerprint(data: Path) -> None:
    write_csvs(data, [GOOD_ENTITY], [GOOD_METRIC])
    source = parse_source("file:data")
    assert isinstance(source, FileSource)
    assert source.describe() == "file:data"
    before = source.fingerprint()
    assert before == source.fingerprint()
    path = data / "metrics_daily.csv"
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 1_000_000))
    assert source.fingerprint() != before


def test_missing_directory_is_a_usage_error(data: Path) -> None:
    with pytest.raises(UsageError) as caught:
        parse_source("file:nowhere")
    assert "nowhere" in caught.value.message and caught.value.hint
    with pytest.raises(UsageError):
        parse_source("file:")


def test_missing_and_ambiguous_table_files(data: Path) -> None:
    write(data, "entities.csv", ENTITIES_HEADER + "\n")
    write(data, "entities.jsonl", "")
    write(data, "metrics_daily.xlsx", "")
    diagnostics = problems()
    two = only(diagnostics, "entities.csv and entities.jsonl: two files for the entities table")
    assert two.file == os.path.join("data", "entities.csv")
    missing = only(diagnostics, "no metrics_daily file")
    assert "metrics_daily.xlsx" in missing.hint


# --------------------------------------------------------------------------- bad input


def test_empty_file_and_missing_header(data: Path) -> None:
    write(data, "entities.csv", "")
    write(data, "metrics_daily.csv", "\n" + GOOD_METRIC + "\n")
    diagnostics = problems()
    empty = only(diagnostics, "entities.csv is empty")
    assert (empty.file, empty.line) == (os.path.join("data", "entities.csv"), None)
    assert "platform,account_id,level,entity_id" in empty.hint
    no_header = only(diagnostics, "header")
    assert (no_header.file, no_header.line) == (os.path.join("data", "metrics_daily.csv"), 1)
    assert "date,platform,account_id,level,entity_id" in no_header.hint


def test_not_utf8_names_line_and_column(data: Path) -> None:
    write_csvs(data, [GOOD_ENTITY], [GOOD_METRIC])
    latin1 = (ENTITIES_HEADER + "\n" + GOOD_ENTITY + "\nmeta,A1,campaign,c2,Café,1,no,,\n").encode("latin-1")
    write(data, "entities.csv", latin1)
    bad = only(problems(), "not valid UTF-8")
    assert (bad.file, bad.line, bad.col) == (os.path.join("data", "entities.csv"), 3, 5)
    assert "0xe9" in bad.message and "UTF-8" in bad.hint


def test_not_utf8_across_chunk_boundary(data: Path) -> None:
    from engine.data.sources import file_problems

    write_csvs(data, [GOOD_ENTITY], [GOOD_METRIC])
    filler = "x" * (file_problems.CHUNK - len(ENTITIES_HEADER) - 2)
    # A valid 2-byte sequence split by the chunk boundary, then a bad byte on the next line.
    content = (ENTITIES_HEADER + "\n" + filler + "é\n").encode() + b"\xff\n"
    write(data, "entities.csv", content)
    bad = only(problems(), "not valid UTF-8")
    assert (bad.line, bad.col) == (3, 1)
    assert "0xff" in bad.message


def test_missing_key_columns(data: Path) -> None:
    write(data, "entities.csv", "platform,Account_Id,level,name\nmeta,A1,campaign,x\n")
    write(
        data,
        "metrics_daily.jsonl",
        '{"platform": "meta", "account_id": "A1", "level": "c", "entity_id": "1"}\n',
    )
    diagnostics = problems()
    csv_missing = only(diagnostics, "entities.csv: missing key columns account_id, entity_id")
    assert (csv_missing.line, csv_missing.col) == (1, None)
    assert "Account_Id -> account_id" in csv_missing.hint
    json_missing = only(diagnostics, "metrics_daily.jsonl: missing key column date")
    assert json_missing.line is None


def test_semicolon_separated_csv_gets_a_hint(data: Path) -> None:
    write(data, "entities.csv", "platform;account_id;level;entity_id\nmeta;A1;campaign;c1\n")
    write(data, "metrics_daily.csv", ONE_METRIC)
    assert "semicolon-separated" in only(problems(), "missing key columns").hint


@pytest.mark.parametrize(
    ("cell", "fragment", "hint"),
    [
        ("12,5", "column spend: '12,5' is not a number", "dot as decimal separator"),
        ("abc", "column spend: 'abc' is not a number", "e.g. 1234.5"),
        ("1_000", "column spend: '1_000' is not a number", "no thousands separator"),
        ("-3", "column spend: '-3' is negative", "cannot be negative"),
    ],
)
def test_bad_numbers(data: Path, cell: str, fragment: str, hint: str) -> None:
    write_csvs(data, [GOOD_ENTITY], [GOOD_METRIC, f'2024-03-02,meta,A1,campaign,c1,"{cell}",1,1'])
    bad = only(problems(), fragment)
    assert (bad.file, bad.line, bad.col) == (os.path.join("data", "metrics_daily.csv"), 3, 6)
    assert bad.message.startswith("metrics_daily.csv: ")
    assert hint in bad.hint


def test_bad_date_and_boolean(data: Path) -> None:
    write_csvs(
        data,
        [GOOD_ENTITY, "meta,A1,campaign,c2,x,1,maybe,,2024-02-30"],
        ["03/01/2024,meta,A1,campaign,c1,1,1,1"],
    )
    diagnostics = problems()
    boolean = only(diagnostics, "column is_brand: 'maybe' is not a boolean")
    assert (boolean.line, boolean.col) == (3, 7)
    assert "true or false" in boolean.hint
    bad_date = only(diagnostics, "column created_at: '2024-02-30' is not a date")
    assert (bad_date.line, bad_date.col) == (3, 9)
    metric_date = only(diagnostics, "column date: '03/01/2024' is not a date")
    assert (metric_date.file, metric_date.line, metric_date.col) == (
        os.path.join("data", "metrics_daily.csv"),
        2,
        1,
    )
    assert "YYYY-MM-DD" in metric_date.hint


def test_empty_key_cell(data: Path) -> None:
    write_csvs(data, [GOOD_ENTITY, "meta, ,campaign,c2,x,1,no,,"], [GOOD_METRIC])
    bad = only(problems(), "column account_id: key value is empty")
    assert (bad.line, bad.col) == (3, 2)


def test_duplicate_keys_name_both_lines(data: Path) -> None:
    write_csvs(
        data,
        [GOOD_ENTITY, "meta,A2,campaign,c1,x,,,,", GOOD_ENTITY.replace("Brand", "Other")],
        [GOOD_METRIC, "2024-03-02,meta,A1,campaign,c1,1,1,1", GOOD_METRIC],
    )
    diagnostics = problems()
    entity = only(diagnostics, "duplicate entity platform=meta, account_id=A1, level=campaign, entity_id=c1")
    assert (entity.line, entity.col) == (4, 1)
    assert "(lines 2 and 4)" in entity.message
    metric = only(diagnostics, "duplicate row for date=2024-03-01")
    assert (metric.file, metric.line) == (os.path.join("data", "metrics_daily.csv"), 4)
    assert "(lines 2 and 4)" in metric.message


def test_lines_are_physical_lines(data: Path) -> None:
    entities = ENTITIES_HEADER + '\nmeta,A1,campaign,c1,"two\nlines",1,no,,\n\nmeta,A1,campaign,c2,x,1,no,,soon\n'
    write(data, "entities.csv", entities)
    write(data, "metrics_daily.csv", ONE_METRIC)
    bad = only(problems(), "'soon' is not a date")
    assert (bad.line, bad.col) == (5, 9)


def test_every_problem_is_reported(data: Path) -> None:
    write_csvs(
        data,
        ["meta,A1,campaign,c1,x,cheap,no,,", "meta,A1,campaign,c2,x,1,perhaps,,"],
        ["2024-03-01,meta,A1,campaign,c1,1,many,1", "2024-03-01,meta,A1,campaign,,1,1,-1"],
    )
    diagnostics = problems()
    located = {(os.path.basename(d.file), d.line, d.col) for d in diagnostics}
    assert located == {
        ("entities.csv", 2, 6),
        ("entities.csv", 3, 7),
        ("metrics_daily.csv", 2, 7),
        ("metrics_daily.csv", 3, 5),
        ("metrics_daily.csv", 3, 8),
    }


def test_problems_are_capped_per_file(data: Path) -> None:
    bad_rows = [f"2024-03-01,meta,A1,campaign,c{i},oops,1,1" for i in range(MAX_PROBLEMS_PER_FILE + 10)]
    write_csvs(data, [GOOD_ENTITY], bad_rows)
    diagnostics = problems()
    assert len(diagnostics) == MAX_PROBLEMS_PER_FILE + 1
    more = only(diagnostics, "10 more problems not shown")
    assert more.line == MAX_PROBLEMS_PER_FILE + 2
    assert diagnostics[-1] == more


def test_ragged_csv_rows(data: Path) -> None:
    write_csvs(data, [GOOD_ENTITY, "meta,A1,campaign,c2,1,2", GOOD_ENTITY.replace("c1", "c3")], [GOOD_METRIC])
    bad = only(problems(), "line has 6 values but the header has 9 columns")
    assert (bad.file, bad.line) == (os.path.join("data", "entities.csv"), 3)


def test_unterminated_quote(data: Path) -> None:
    write_csvs(data, [GOOD_ENTITY, 'meta,A1,campaign,c2,"open,1,no,,'], [GOOD_METRIC])
    bad = only(problems(), "a quoted value starting on this line is never closed")
    assert (bad.file, bad.line) == (os.path.join("data", "entities.csv"), 3)


def test_jsonl_problems(data: Path) -> None:
    good = '{"platform": "meta", "account_id": "A1", "level": "campaign", "entity_id": "c1"}'
    write(
        data,
        "entities.jsonl",
        "\n".join(
            [
                good,
                "",
                '["not", "an", "object"]',
                good.replace('"c1"', '"c2", "bid": "x"'),
                good.replace('"c1"', '{"id": 3}'),
                good.replace('"c1"', '"c4", "labels": {"a": 1}'),
            ]
        ),
    )
    write(data, "metrics_daily.csv", ONE_METRIC)
    diagnostics = problems()
    assert (only(diagnostics, "line is not a JSON object").line) == 3
    bid = only(diagnostics, "column bid: 'x' is not a number")
    assert (bid.file, bid.line, bid.col) == (os.path.join("data", "entities.jsonl"), 4, None)
    assert only(diagnostics, "column entity_id: expected a string").line == 5
    assert only(diagnostics, "column labels: expected a list of strings").line == 6
    assert len(diagnostics) == 4


def test_malformed_jsonl(data: Path) -> None:
    good = '{"platform": "meta", "account_id": "A1", "level": "campaign", "entity_id": "c1"}'
    write(data, "entities.jsonl", f'{good}\n\n{{"platform": \n{good}\n')
    write(data, "metrics_daily.csv", ONE_METRIC)
    bad = only(problems(), "line is not valid JSON")
    assert (bad.file, bad.line) == (os.path.join("data", "entities.jsonl"), 3)


def test_jsonl_with_byte_order_mark(data: Path) -> None:
    write(data, "entities.jsonl", '\ufeff{"platform": "meta"}\n')
    write(data, "metrics_daily.csv", ONE_METRIC)
    assert only(problems(), "byte order mark").line == 1


def test_parquet_problems_name_the_row(data: Path) -> None:
    path = data / "metrics_daily.parquet"
    duckdb.connect().execute(
        "COPY (SELECT * FROM (VALUES ('2024-03-01', 1.0), ('2024-03-02', -2.0), ('2024-13-01', 3.0)) "
        "t(date, spend), "
        "(SELECT 'meta' AS platform, 'A1' AS account_id, 'campaign' AS level, 'c1' AS entity_id)) "
        f"TO '{path}' (FORMAT parquet)"
    )
    write(data, "entities.csv", ENTITIES_HEADER + "\n" + GOOD_ENTITY + "\n")
    diagnostics = problems()
    negative = only(diagnostics, "metrics_daily.parquet: row 2: column spend: '-2.0' is negative")
    assert (negative.file, negative.line, negative.col) == (
        os.path.join("data", "metrics_daily.parquet"),
        None,
        None,
    )
    only(diagnostics, "row 3: column date: '2024-13-01' is not a date")


def test_corrupt_parquet(data: Path) -> None:
    write(data, "entities.parquet", b"PAR1 definitely not parquet")
    write(data, "metrics_daily.csv", ONE_METRIC)
    bad = only(problems(), "entities.parquet: cannot read the file")
    assert bad.file == os.path.join("data", "entities.parquet")


def test_invalid_files_create_nothing_even_if_one_is_valid(data: Path) -> None:
    write_csvs(data, [GOOD_ENTITY], [GOOD_METRIC, "2024-03-01,meta,A1,campaign,c9,1,1,x"])
    problems()  # asserts the schema is still empty


# --------------------------------------------------------------------------- platform vocabularies


def status_rows(pairs: list[tuple[str, str]]) -> str:
    rows = [f"{platform},A1,campaign,e{i},{status}" for i, (platform, status) in enumerate(pairs)]
    return "\n".join(["platform,account_id,level,entity_id,status", *rows]) + "\n"


@pytest.mark.parametrize(
    ("platform", "written", "canonical"),
    [
        ("meta", "ACTIVE", "active"),
        ("meta", "PAUSED", "paused"),
        ("meta", "ARCHIVED", "archived"),
        ("meta", "DELETED", "removed"),
        ("google", "ENABLED", "active"),
        ("google", "REMOVED", "removed"),
        ("amazon", "enabled", "active"),
        ("amazon", "archived", "archived"),
        ("tiktok", "ENABLE", "active"),
        ("tiktok", "DISABLE", "paused"),
        ("tiktok", "Delete", "removed"),
        ("pinterest", "Paused", "paused"),
        ("linkedin", "CANCELED", "removed"),
        ("linkedin", "paused", "paused"),  # canonical names are always accepted
        ("bing", "Active", "active"),  # a platform rulerun does not know: canonical names, any case
    ],
)
def test_platform_statuses_are_normalized(data: Path, platform: str, written: str, canonical: str) -> None:
    write(data, "entities.csv", status_rows([(platform, written), (platform, "")]))
    write(data, "metrics_daily.csv", ONE_METRIC)
    con, _ = load()
    assert rows(con, "SELECT status FROM src.entities ORDER BY entity_id") == [(canonical,), (None,)]


def test_unknown_status_names_what_the_platform_accepts(data: Path) -> None:
    write(data, "entities.csv", status_rows([("google", "ENABLED"), ("google", "RUNNING"), ("bing", "ENABLED")]))
    write(data, "metrics_daily.csv", ONE_METRIC)
    diagnostics = problems()
    google = only(diagnostics, "column status: 'RUNNING' is not a status of google")
    assert (google.file, google.line, google.col) == (os.path.join("data", "entities.csv"), 3, 5)
    assert google.hint == "google accepts ENABLED or active, paused, removed, archived (any letter case)"
    bing = only(diagnostics, "column status: 'ENABLED' is not a status of bing")
    assert (bing.line, bing.col) == (4, 5)
    assert bing.hint == "bing accepts active, paused, removed, archived (any letter case)"


VOCABULARIES = status_vocabularies(CATALOG)  # "" holds what platforms rulerun does not know accept


@settings(max_examples=30)
@given(
    st.lists(
        st.sampled_from(sorted(VOCABULARIES)).flatmap(
            lambda platform: st.tuples(
                st.just(platform or "unknown"),
                st.sampled_from(sorted(VOCABULARIES[platform].items())),
                st.lists(st.booleans(), min_size=1, max_size=12),
            )
        ),
        min_size=1,
        max_size=20,
    )
)
def test_any_letter_case_of_a_platform_status_is_its_canonical_status(written) -> None:
    pairs = [
        (platform, "".join(ch.upper() if upper[i % len(upper)] else ch for i, ch in enumerate(value)))
        for platform, (value, _), upper in written
    ]
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        write(directory, "entities.csv", status_rows(pairs))
        write(directory, "metrics_daily.csv", ONE_METRIC)
        con = connect()
        FileSource(tmp, directory).materialize(con, "src", CATALOG)
        stored = rows(con, "SELECT status FROM src.entities ORDER BY CAST(entity_id[2:] AS INTEGER)")
    assert stored == [(status,) for _, (_, status), _ in written]


def test_booleans_in_any_spelling(data: Path) -> None:
    spellings = ["TRUE", "false", "Yes", "no", "Y", "n", "t", "F", "1", "0", ""]
    entities = [f"meta,A1,campaign,c{i},x,,{b},," for i, b in enumerate(spellings)]
    write_csvs(data, entities, [GOOD_METRIC])
    con, _ = load()
    stored = rows(con, "SELECT is_brand FROM src.entities ORDER BY CAST(entity_id[2:] AS INTEGER)")
    assert stored == [(v,) for v in [True, False, True, False, True, False, True, False, True, False, None]]


def test_bad_boolean_lists_the_accepted_spellings(data: Path) -> None:
    write_csvs(data, [GOOD_ENTITY.replace(",yes,", ",oui,")], [GOOD_METRIC])
    bad = only(problems(), "column is_brand: 'oui' is not a boolean")
    assert (bad.line, bad.col) == (2, 7)
    assert "1/0, yes/no, y/n and t/f" in bad.hint


def test_level_aliases_are_read_as_ad_group_with_a_warning(data: Path) -> None:
    write_csvs(
        data,
        ["meta,A1,adset,s1,x,,,,", "tiktok,T1,AdGroup,t1,x,,,,", "meta,A1,Campaign,c1,x,,,,"],
        ["2024-03-01,meta,A1,ad_set,s1,1,1,1", "2024-03-01,meta,A1,CAMPAIGN,c1,1,1,1"],
    )
    con, info = load()
    assert rows(con, "SELECT entity_id, level FROM src.entities ORDER BY entity_id") == [
        ("c1", "campaign"),
        ("s1", "ad_group"),
        ("t1", "ad_group"),
    ]
    assert rows(con, "SELECT entity_id, level FROM src.metrics_daily ORDER BY entity_id") == [
        ("c1", "campaign"),
        ("s1", "ad_group"),
    ]
    assert not [w for w in info.data_quality if "missing from entities.csv" in w["message"]]
    warning = only_warning(info.data_quality, "entities.csv: read level")
    assert "AdGroup as ad_group, Campaign as campaign, adset as ad_group" in warning["message"]
    assert "write ad_group, campaign" in warning["message"]
    only_warning(info.data_quality, "metrics_daily.csv: read level CAMPAIGN as campaign, ad_set as ad_group")


def test_unknown_level_is_an_error_listing_the_levels(data: Path) -> None:
    write_csvs(data, [GOOD_ENTITY], [GOOD_METRIC, "2024-03-01,meta,A1,widget,w1,1,1,1"])
    bad = only(problems(), "column level: 'widget' is not a level")
    assert (bad.file, bad.line, bad.col) == (os.path.join("data", "metrics_daily.csv"), 3, 4)
    assert "write one of account, ad, ad_group, campaign" in bad.hint
    assert "ad_set, adgroup and adset are read as ad_group" in bad.hint


def test_an_alias_and_its_level_are_the_same_key(data: Path) -> None:
    write_csvs(data, ["meta,A1,adset,s1,x,,,,", "meta,A1,ad_group,s1,y,,,,"], [GOOD_METRIC])
    duplicate = only(problems(), "duplicate entity platform=meta, account_id=A1, level=ad_group, entity_id=s1")
    assert duplicate.line == 3 and "(lines 2 and 3)" in duplicate.message


def test_rules_see_platform_statuses_and_levels_as_canonical(tmp_path: Path) -> None:
    from engine.data.store import Store
    from engine.evaluation.evaluate import build_plan, default_as_of
    from engine.rules.loader import load_project
    from tests.helpers.data import day, entity, write_source
    from tests.helpers.rules import PINTEREST_OPERATOR, write_rules

    workflow = """\
workflow: status
operator: pinterest
level: ad_group
window: last_7d
rules:
  - id: pause_spenders
    when: spend > 10
    action: pause
  - id: active_ones
    when: status == 'active'
    action: {type: notify, message: active}
"""
    rules = write_rules(tmp_path, {"pinterest/operator.yaml": PINTEREST_OPERATOR, "pinterest/status.yaml": workflow})
    project = load_project(rules, CATALOG)
    source = write_source(
        tmp_path / "data",
        [entity("g1", level="AdGroup", status="ACTIVE")],
        [day("2026-10-31", "g1", level="adgroup", spend=50, impressions=1000, clicks=5)],
    )
    with Store(tmp_path / "state") as store:
        loaded = store.load(parse_source(f"file:{source}"), CATALOG)
        plan = build_plan(store.con, loaded, CATALOG, project, project.workflows, default_as_of(loaded))
    assert sorted((a.rule_id, a.before, a.after) for a in plan.actions) == [
        ("active_ones", {}, {"message": "active"}),
        ("pause_spenders", {"status": "active"}, {"status": "paused"}),
    ]


# --------------------------------------------------------------------------- empty exports and extreme dates


@pytest.mark.parametrize("table", ["entities", "metrics_daily"])
def test_header_without_rows_is_an_error(data: Path, table: str) -> None:
    write_csvs(data, [GOOD_ENTITY], [GOOD_METRIC])
    write(data, f"{table}.csv", (ENTITIES_HEADER if table == "entities" else METRICS_HEADER) + "\r\n\r\n")
    bad = only(problems(), f"{table}.csv has a header line but no rows")
    assert (bad.file, bad.line) == (os.path.join("data", f"{table}.csv"), 1)
    assert "export the table again" in bad.hint


def test_jsonl_and_parquet_without_rows_are_errors(data: Path) -> None:
    write(data, "entities.jsonl", "\n  \n")
    path = data / "metrics_daily.parquet"
    duckdb.connect().execute(
        "COPY (SELECT DATE '2024-03-01' AS date, 'meta' AS platform, 'A1' AS account_id, 'campaign' AS level, "
        f"'c1' AS entity_id, 1.0 AS spend LIMIT 0) TO '{path}' (FORMAT parquet)"
    )
    diagnostics = problems()
    assert only(diagnostics, "entities.jsonl has only blank lines").line == 1
    parquet = only(diagnostics, "metrics_daily.parquet has no rows")
    assert "every metric would be 0" in parquet.hint


@pytest.mark.parametrize(("cell", "line"), [("0000-01-01", 3), ("9999-12-31", 3), ("1969-12-31", 3)])
def test_dates_outside_the_range_are_refused(data: Path, cell: str, line: int) -> None:
    write_csvs(data, [GOOD_ENTITY], [GOOD_METRIC, f"{cell},meta,A1,campaign,c1,1,1,1"])
    bad = only(problems(), f"column date: '{cell}' is not between 1970-01-01 and 2200-12-31")
    assert (bad.file, bad.line, bad.col) == (os.path.join("data", "metrics_daily.csv"), line, 1)
    assert "placeholder" in bad.hint and "leave the cell empty" not in bad.hint


def test_the_ends_of_the_date_range_are_accepted(data: Path) -> None:
    write_csvs(
        data,
        [GOOD_ENTITY.replace("2024-01-01", "2200-12-31")],
        [GOOD_METRIC.replace("2024-03-01", "1970-01-01"), GOOD_METRIC.replace("2024-03-01", "2200-12-31")],
    )
    _, info = load()
    assert (info.min_date, info.max_date) == (date(1970, 1, 1), date(2200, 12, 31))


def test_extreme_dates_in_typed_parquet_and_attributes(data: Path) -> None:
    path = data / "metrics_daily.parquet"
    duckdb.connect().execute(
        "COPY (SELECT * FROM (VALUES (DATE '2024-03-01'), (DATE '9999-12-31')) t(date), "
        "(SELECT 'meta' AS platform, 'A1' AS account_id, 'campaign' AS level, 'c1' AS entity_id)) "
        f"TO '{path}' (FORMAT parquet)"
    )
    write(data, "entities.csv", ENTITIES_HEADER + "\n" + GOOD_ENTITY.replace("2024-01-01", "2201-01-01") + "\n")
    diagnostics = problems()
    only(diagnostics, "metrics_daily.parquet: row 2: column date: '9999-12-31' is not between")
    created = only(diagnostics, "column created_at: '2201-01-01' is not between")
    assert (created.line, created.col) == (2, 9)
    assert "or leave the cell empty" in created.hint


# --------------------------------------------------------------------------- screens and duplicates


def test_blank_and_negative_infinite_numbers_are_no_problem(data: Path) -> None:
    # Both make the cheap screens of the scan fire; the row-by-row checks then find nothing.
    write_csvs(data, [GOOD_ENTITY], ['2024-03-01,meta,A1,campaign,c1,"  ",-inf,1'])
    con, info = load()
    assert rows(con, "SELECT spend, impressions, clicks FROM src.metrics_daily") == [(None, None, 1.0)]
    only_warning(info.data_quality, "1 value of impressions was NaN or infinite")


@settings(max_examples=60)
@given(
    st.lists(st.tuples(st.sampled_from(["c1", "c2"]), st.integers(0, 200)), min_size=1, max_size=40),
)
def test_a_key_and_date_seen_twice_is_always_found(keys: list[tuple[str, int]]) -> None:
    # Days far apart and close together: duplicates are found per entity and 64-day block.
    start = date(2024, 1, 1).toordinal()
    lines = [f"{date.fromordinal(start + d)},meta,A1,campaign,{e},1,1,1" for e, d in keys]
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        write(directory, "entities.csv", ENTITIES_HEADER + "\n" + GOOD_ENTITY + "\n")
        write(directory, "metrics_daily.csv", "\n".join([METRICS_HEADER, *lines]) + "\n")
        con = connect()
        try:
            info = FileSource(tmp, directory).materialize(con, "src", CATALOG)
        except DataError as exc:
            found = [d for d in exc.diagnostics if "duplicate row for" in d.message]
            assert found and len(set(keys)) < len(keys)
        else:
            assert len(set(keys)) == len(keys) and info.metric_rows == len(keys)


def test_missing_metrics_are_those_of_the_platforms_in_the_file(data: Path) -> None:
    write_csvs(data, [GOOD_ENTITY], [GOOD_METRIC])
    _, info = load()
    meta = only_warning(info.data_quality, "has no columns")["message"]
    assert "outbound_clicks, conversions, conversion_value, video_views, leads:" in meta
    assert "revenue" not in meta and "opens" not in meta

    write_csvs(data, [GOOD_ENTITY], [GOOD_METRIC, GOOD_METRIC.replace("meta", "bing")])
    _, info = load()
    unknown = only_warning(info.data_quality, "has no columns")["message"]
    assert "revenue" in unknown and "opens" in unknown  # a platform the catalog does not know may have any


def test_not_utf8_in_the_header(data: Path) -> None:
    write_csvs(data, [GOOD_ENTITY], [GOOD_METRIC])
    write(
        data,
        "entities.csv",
        ("platform,account_id,level,entity_id,caf\xe9\n" + "meta,A1,campaign,c1,x\n").encode("latin-1"),
    )
    bad = only(problems(), "line 1 is not valid UTF-8 (byte 0xe9)")
    assert (bad.line, bad.col) == (1, 5)
