"""`prepare` on bad input: exit 1, and one reason naming the file, line or column in output/message (the
Processing job's ExitMessage) and output/failure. Each bad input has its own test."""

from __future__ import annotations

from pathlib import Path

from .pipeline_support import PREPARED, csv_text, prepare_input, reason, run_entry

HEADER = ["x1", "x2", "label"]


def rows(per_class: int = 6, classes: tuple[str, ...] = ("a", "b")) -> list[list[object]]:
    return [[i, i * 2 + c, label] for c, label in enumerate(classes) for i in range(per_class)]


def fails_with(tmp_path: Path, files: dict[str, str | bytes], env: dict[str, str] | None = None) -> str:
    root = prepare_input(tmp_path / "opt-ml", files)
    done = run_entry("prepare", root, env)
    assert done.returncode == 1, done.stdout + done.stderr
    assert not (root / PREPARED / "train").exists()
    return reason(root)


def test_rejects_a_file_that_is_not_utf8_naming_line_and_column(tmp_path: Path) -> None:
    content = csv_text(HEADER, rows()).replace("3,7,b", "3,caf\u00e9,b").encode("latin-1")
    assert fails_with(tmp_path, {"data.csv": content}) == (
        "data.csv is not UTF-8 text: byte 0xe9 at line 11, column 2; save the file as UTF-8 (CSV with a header)"
    )


def test_rejects_a_file_without_a_header(tmp_path: Path) -> None:
    content = csv_text(["1", "2", "a"], rows())
    assert fails_with(tmp_path, {"data.csv": content}) == (
        "data.csv has no header: line 1 holds values, not column names; add a header line naming the columns, "
        'one of them "label"'
    )


def test_rejects_a_file_without_the_label_column_listing_its_columns(tmp_path: Path) -> None:
    content = csv_text(["x1", "x2", "class"], rows())
    assert fails_with(tmp_path, {"data.csv": content}) == (
        'data.csv has no label column "label"; likely label columns: "class"; set the label column with --label '
        '<name> in local mode or the prepareLabelColumn setting (PREPARE_LABEL_COLUMN); its 3 columns are: "x1", '
        '"x2", "class"'
    )


def test_reads_the_label_column_named_in_the_settings(tmp_path: Path) -> None:
    root = prepare_input(tmp_path / "opt-ml", {"data.csv": csv_text(["x1", "x2", "class"], rows())})
    done = run_entry("prepare", root, {"PREPARE_LABEL_COLUMN": "class"})
    assert done.returncode == 0, done.stderr
    assert (root / PREPARED / "train" / "train.csv").read_text().splitlines()[0] == "x1,x2,class"


def test_rejects_a_ragged_row_naming_its_line(tmp_path: Path) -> None:
    lines = csv_text(HEADER, rows()).splitlines()
    lines[4] += ",9"
    assert fails_with(tmp_path, {"data.csv": "\n".join(lines) + "\n"}) == (
        "data.csv line 5 has 4 values but the header has 3 columns; check for a missing or extra comma "
        "(quote values that contain commas)"
    )


def test_rejects_a_header_without_rows(tmp_path: Path) -> None:
    assert fails_with(tmp_path, {"data.csv": "x1,x2,label\n\n"}) == "data.csv has a header but no data rows"


def test_rejects_an_empty_file(tmp_path: Path) -> None:
    assert fails_with(tmp_path, {"data.csv": ""}) == (
        'data.csv is empty; expected a CSV header with a "label" column, then rows'
    )


def test_rejects_an_empty_input_folder(tmp_path: Path) -> None:
    root = tmp_path / "opt-ml"
    (root / "processing" / "input" / "data").mkdir(parents=True)
    done = run_entry("prepare", root)
    assert done.returncode == 1
    assert reason(root).endswith("holds no CSV files (expected one CSV file or a folder of them)")


def test_rejects_a_single_class(tmp_path: Path) -> None:
    assert fails_with(tmp_path, {"data.csv": csv_text(HEADER, rows(classes=("a",)))}) == (
        'Only one class ("a") in column "label" of data.csv after cleaning; a classifier needs rows of two or '
        "more classes"
    )


def test_rejects_a_class_with_fewer_rows_than_the_stratified_split_needs(tmp_path: Path) -> None:
    data = [*rows(), [1, 1, "c"], [2, 2, "c"]]
    assert fails_with(tmp_path, {"data.csv": csv_text(HEADER, data)}) == (
        'Too few rows per class in data.csv after cleaning for a stratified train/validation/test split: "c" has '
        "2; each class needs at least 4 with these fractions (add rows, remove the class, or give train/, "
        "validation/ and test/ folders)"
    )


def test_the_rows_a_class_needs_follow_the_configured_fractions(tmp_path: Path) -> None:
    data = rows(per_class=8)
    message = fails_with(
        tmp_path,
        {"data.csv": csv_text(HEADER, data)},
        {"PREPARE_TEST_FRACTION": "0.05", "PREPARE_VALIDATION_FRACTION": "0.05"},
    )
    assert '"a" has 8, "b" has 8; each class needs at least 10 with these fractions' in message


def test_rejects_text_where_a_number_is_expected_naming_file_line_and_column(tmp_path: Path) -> None:
    data = rows()
    data[6][1] = "twelve"
    assert fails_with(tmp_path, {"data.csv": csv_text(HEADER, data)}) == (
        "data.csv line 8, column \"x2\": 'twelve' is not a number, but 11 of the column's 12 values are; fix the "
        "cell or leave it empty for a missing value (a column of mostly text is read as categories)"
    )


def test_names_the_file_at_fault_in_a_folder_of_files(tmp_path: Path) -> None:
    data = rows()
    data[2][0] = "n/a?"
    files = {"part-0.csv": csv_text(HEADER, rows()), "more/part-1.csv": csv_text(HEADER, data)}
    assert fails_with(tmp_path, files).startswith("more/part-1.csv line 4, column \"x1\": 'n/a?' is not a number")


def test_rejects_files_whose_columns_differ(tmp_path: Path) -> None:
    files = {"a.csv": csv_text(HEADER, rows()), "b.csv": csv_text(["x1", "x3", "label"], rows())}
    assert fails_with(tmp_path, files) == (
        'b.csv has different columns from a.csv (one data set): missing "x2"; unexpected "x3"; every file needs '
        "the same header"
    )


def test_reports_no_rows_left_when_every_row_has_a_gap_and_gaps_drop_rows(tmp_path: Path) -> None:
    data = [[i, "", label] if i % 2 else ["NA", i, label] for label in ("a", "b") for i in range(6)]
    message = fails_with(tmp_path, {"data.csv": csv_text(HEADER, data)}, {"PREPARE_MISSING_VALUES": "drop"})
    assert message == (
        "Nothing left after cleaning data.csv: 12 rows read, all dropped (a missing feature value "
        "(PREPARE_MISSING_VALUES=drop): 12) (set PREPARE_MISSING_VALUES=median to impute gaps instead)"
    )


def test_reports_no_feature_columns_left_when_each_is_constant_or_empty(tmp_path: Path) -> None:
    data = [[7, "", label] for label in ("a", "b") for _ in range(6)]
    message = fails_with(tmp_path, {"data.csv": csv_text(HEADER, data)}, {"PREPARE_DROP_DUPLICATES": "false"})
    assert message == (
        'No feature columns left after cleaning data.csv: "x1" constant in the training split (always 7); '
        '"x2" entirely missing'
    )


def test_rejects_an_unknown_setting_with_a_suggestion(tmp_path: Path) -> None:
    message = fails_with(tmp_path, {"data.csv": csv_text(HEADER, rows())}, {"PREPARE_MISSING_VALUE": "mean"})
    assert message.startswith('Unknown setting "PREPARE_MISSING_VALUE" (did you mean "PREPARE_MISSING_VALUES"?)')


def test_rejects_a_bad_setting_value_naming_the_allowed_ones(tmp_path: Path) -> None:
    message = fails_with(tmp_path, {"data.csv": csv_text(HEADER, rows())}, {"PREPARE_MISSING_VALUES": "zero"})
    assert message == 'Invalid setting "PREPARE_MISSING_VALUES": "zero"; expected one of drop, median, mean'


def test_rejects_split_folders_unless_all_three_are_given(tmp_path: Path) -> None:
    files = {"train/a.csv": csv_text(HEADER, rows()), "test/b.csv": csv_text(HEADER, rows())}
    assert fails_with(tmp_path, files) == (
        "The input has train/, test/ but not validation/: give all three folders to keep your own split, or one "
        "CSV file (or a folder of them) to split"
    )


def test_rejects_a_user_split_whose_test_labels_never_occur_in_train(tmp_path: Path) -> None:
    files = {
        "train/a.csv": csv_text(HEADER, rows()),
        "validation/b.csv": csv_text(HEADER, rows(per_class=2)),
        "test/c.csv": csv_text(HEADER, rows(per_class=2, classes=("a", "z"))),
    }
    assert fails_with(tmp_path, files) == (
        "validation/ or test/ has labels that train/ lacks after cleaning: z; every class needs training rows"
    )
