"""Harm tables: bundled weights match their CSV files, normalisation, unknowns, user tables."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest

from rct.errors import DataError, UnknownOffenceWarning
from rct.harm import CCHI_FORCES, HarmTable, harm_table


@pytest.fixture(scope="module")
def ons_csv(harm_dir):
    return pd.read_csv(harm_dir / "ons-crime-severity-weights.csv", dtype=str)


@pytest.fixture(scope="module")
def cchi_csv(harm_dir):
    return pd.read_csv(harm_dir / "cchi-police-uk-category-days.csv")


@pytest.fixture(scope="module")
def subgroup_csv(harm_dir):
    return pd.read_csv(harm_dir / "cchi-subgroup-days.csv")


def _weigh(table, **cols):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnknownOffenceWarning)
        return table.weigh(pd.DataFrame(cols, dtype="object"))


# ----------------------------------------------------------------------------- CCHI
@pytest.mark.parametrize("force", CCHI_FORCES)
def test_cchi_category_weights_match_file(cchi_csv, force):
    rows = cchi_csv[cchi_csv["force"] == force]
    assert len(rows) == 13
    w, unknown = _weigh(harm_table("cchi", force=force), category=rows["crime_type"].tolist())
    np.testing.assert_allclose(w.to_numpy(), rows["cchi_days"].to_numpy())
    assert not unknown.any()


def test_cchi_forces_differ_and_force_names_are_forgiving(cchi_csv):
    def violence(force):
        return harm_table("cchi", force=force).weight(category="Violence and sexual offences")

    expected = cchi_csv.set_index(["force", "crime_type"])["cchi_days"]
    assert violence("Thames Valley") == expected[("Thames Valley", "Violence and sexual offences")]
    assert violence("essex") == expected[("Essex", "Violence and sexual offences")]
    assert violence("Bedfordshire Police") == expected[("Bedfordshire", "Violence and sexual offences")]
    assert violence("essex") != violence("bedfordshire")
    with pytest.raises(ValueError, match="Thames Valley.*Essex.*Bedfordshire"):
        harm_table("cchi", force="Kent")


def test_category_matching_ignores_case_space_and_ampersand():
    t = harm_table("cchi")
    base = t.weight(category="Criminal damage and arson")
    assert not math.isnan(base)
    for spelling in ("CRIMINAL DAMAGE AND ARSON", "  criminal  damage and arson ",
                     "Criminal damage & arson"):
        assert t.weight(category=spelling) == base


def test_cchi_subgroup_weights_and_count_weighted_category_fallback(subgroup_csv):
    t = harm_table("cchi-subgroup")
    w, unknown = _weigh(t, prc_subgroup=subgroup_csv["prc_subgroup"].str.upper().tolist())
    np.testing.assert_allclose(w.to_numpy(), subgroup_csv["cchi_days"].to_numpy())
    assert not unknown.any()
    # category fallback: national-count-weighted mean, computed here row by row
    burg = subgroup_csv[subgroup_csv["category"] == "Burglary"]
    expected = sum(burg["cchi_days"] * burg["national_count_2024_25"]) / sum(
        burg["national_count_2024_25"])
    assert t.weight(category="burglary") == pytest.approx(expected, rel=1e-12)
    # a subgroup, when present, wins over the category
    assert t.weight(subgroup="Homicide", category="Burglary") == 5475.0 == float(
        subgroup_csv.set_index("prc_subgroup").loc["Homicide", "cchi_days"])


# ----------------------------------------------------------------------------- ONS
def test_ons_code_weights_match_file(ons_csv):
    t = harm_table("ons")
    w, unknown = _weigh(t, offence_code=ons_csv["ONS_COUNTS_code"].tolist())
    np.testing.assert_allclose(w.to_numpy(), ons_csv["ONS_SEVERITY_weight"].astype(float))
    assert not unknown.any()


def test_ons_code_normalisation_and_aliases(ons_csv):
    t = harm_table("ons")
    by_code = ons_csv.set_index("ONS_COUNTS_code")["ONS_SEVERITY_weight"].astype(float)
    assert t.weight(offence_code="56A") == by_code["56A"]
    assert t.weight(offence_code=" 056a ") == by_code["56A"]      # case, space, leading zero
    assert t.weight(offence_code="8n") == by_code["8N"]
    assert t.weight(offence_code="37/2") == by_code["37.2"]       # "/" read as "."
    # the police.uk join column names 56A as "56/1": accepted as an alias
    alias_row = ons_csv[ons_csv["POLICE_UK_CAT_MAP_code"] == "56/1"].iloc[0]
    assert t.weight(offence_code="56/1") == float(alias_row["ONS_SEVERITY_weight"])
    # spreadsheet-mangled join codes (e.g. "43831") are not aliases
    assert math.isnan(t.weight(offence_code="43831"))


@pytest.mark.parametrize("statistic", ["median", "mean"])
def test_ons_category_rollup_is_count_free_statistic(ons_csv, statistic):
    t = harm_table("ons", category_statistic=statistic)
    d = ons_csv.assign(w=ons_csv["ONS_SEVERITY_weight"].astype(float))
    # police.uk spells it "Violence and sexual offences"; the join table "Violence and Sexual Offences"
    viol = d[d["POLICE_UK_CAT_MAP_category"] == "Violence and Sexual Offences"]
    one_per_offence = viol.groupby("ONS_SEVERITY_code")["w"].first()
    expected = getattr(np, statistic)(one_per_offence.to_numpy())
    assert t.weight(category="Violence and sexual offences") == pytest.approx(expected, rel=1e-12)
    bike = d.loc[d["POLICE_UK_CAT_MAP_category"] == "Bicycle Theft", "w"]
    assert len(bike) == 1
    assert t.weight(category="Bicycle theft") == bike.iloc[0]
    with pytest.raises(ValueError, match="median.*mean"):
        harm_table("ons", category_statistic="mode")


def test_ons_uses_code_when_present_else_category(ons_csv):
    t = harm_table("ons")
    by_code = ons_csv.set_index("ONS_COUNTS_code")["ONS_SEVERITY_weight"].astype(float)
    w, unknown = _weigh(
        t,
        offence_code=["46", None, "", "ZZ9"],
        category=["Burglary", "Shoplifting", "Robbery", "Robbery"],
    )
    assert w.iloc[0] == by_code["46"]                       # the code, not the category
    assert w.iloc[1] == t.weight(category="Shoplifting")     # no code -> category
    assert w.iloc[2] == t.weight(category="Robbery")         # blank code -> category
    assert math.isnan(w.iloc[3])                              # unknown code: NaN, no fallback
    assert unknown.tolist() == [False, False, False, True]


# ----------------------------------------------------------------------------- unknowns
def test_unknowns_are_nan_flagged_and_listed_with_counts():
    t = harm_table("cchi")
    crimes = pd.DataFrame({"category": ["Anti-social behaviour"] * 3 + ["Burglary", "Made up", None]},
                          index=[10, 11, 12, 13, 14, 15])
    with pytest.warns(UnknownOffenceWarning) as rec:
        w, unknown = t.weigh(crimes)
    msg = str(rec[0].message)
    assert "5 of 6 crimes" in msg
    assert "'Anti-social behaviour' (3)" in msg and "'Made up' (1)" in msg
    assert "no offence code or category (1)" in msg
    assert w.index.tolist() == crimes.index.tolist()
    assert unknown.tolist() == [True, True, True, False, True, True]
    assert w[unknown].isna().all() and (w[unknown] != 0).all()
    assert w[13] == t.weight(category="Burglary") > 0


def test_weigh_without_usable_columns_is_a_data_error():
    with pytest.raises(DataError, match="offence_code"):
        harm_table("ons").weigh(pd.DataFrame({"crime": ["a"]}))
    with pytest.raises(DataError, match="category"):
        harm_table("cchi").weigh(pd.DataFrame({"offence_code": ["8N"]}))


def test_provenance_and_immutability():
    for name in ("cchi", "cchi-subgroup", "ons"):
        t = harm_table(name)
        assert t.source and t.citation
        assert isinstance(t.to_dict()["notes"], str)
        with pytest.raises(TypeError):
            t.category_weights["burglary"] = 0.0  # read-only mapping
    assert "Sherman" in harm_table("cchi").citation
    assert "Office for National Statistics" in harm_table("ons").citation
    frame = harm_table("ons").to_frame()
    assert {"offence_code", "offence_code_alias", "category"} <= set(frame["key_type"])
    with pytest.raises(ValueError, match="cchi.*cchi-subgroup.*ons"):
        harm_table("severity")


def test_real_police_uk_month_only_asb_is_unknown(police_uk_dir):
    d = pd.read_csv(police_uk_dir / "2018-10-thames-valley-street.csv.gz")
    crimes = pd.DataFrame({"category": d["Crime type"]})
    for name in ("cchi", "ons", "cchi-subgroup"):
        with pytest.warns(UnknownOffenceWarning, match="Anti-social behaviour"):
            w, unknown = harm_table(name).weigh(crimes)
        assert (unknown == (crimes["category"] == "Anti-social behaviour")).all()
        assert (w[~unknown] > 0).all()


# ----------------------------------------------------------------------------- user tables
def test_user_table_by_code_and_category(tmp_path):
    p = tmp_path / "harm.csv"
    p.write_text("offence_code,category,weight,source\n"
                 "8N,,12.5,my force 2024\n"
                 "056A,,100,my force 2024\n"
                 ",Burglary,40,my force 2024\n")
    t = harm_table(p)
    assert isinstance(t, HarmTable) and t.by == "offence_code"
    assert t.source == "my force 2024"
    w, unknown = _weigh(t, offence_code=["8n", "56A", None, "99"],
                        category=["x", "x", "burglary", "Burglary"])
    assert w.iloc[0] == 12.5 and w.iloc[1] == 100.0 and w.iloc[2] == 40.0
    assert math.isnan(w.iloc[3]) and unknown.tolist() == [False, False, False, True]
    assert harm_table(t) is t


def test_user_table_by_category_only(tmp_path):
    p = tmp_path / "cat.csv"
    p.write_text("Category , Weight\nViolence and sexual offences,3\nBurglary,2\n")
    t = harm_table(str(p))
    assert t.by == "category" and t.source == "user harm table cat.csv"
    assert t.weight(category="VIOLENCE AND SEXUAL OFFENCES") == 3.0


@pytest.mark.parametrize(
    ("text", "row", "column", "match"),
    [
        ("offence_code,weight\n8N,1\n9A,2\n10A,lots\n", 3, "weight", "finite number"),
        ("offence_code,weight\n8N,-1\n", 1, "weight", ">= 0"),
        ("offence_code,weight\n8N,inf\n", 1, "weight", "finite"),
        ("offence_code,weight\n8N,1\n9A,\n", 2, "weight", "finite"),
        ("category,weight\nBurglary,1\n,2\n", 2, "category", "neither"),
        ("offence_code,weight\n8N,1\n9A,2\n08n,3\n", 3, "offence_code", "twice"),
        ("offence,weight\n8N,1\n", None, "offence_code", "'offence_code' or 'category'"),
        ("offence_code,harm\n8N,1\n", None, "weight", "'weight'"),
        ("offence_code,weight\n", None, None, "no rows"),
    ],
)
def test_bad_user_tables_name_file_row_column(tmp_path, text, row, column, match):
    p = tmp_path / "bad-harm.csv"
    p.write_text(text)
    with pytest.raises(DataError, match=match) as exc:
        harm_table(p)
    err = exc.value
    assert "bad-harm.csv" in str(err) and err.file == str(p)
    assert err.row == row and err.column == column


def test_user_table_identical_duplicates_allowed_and_missing_file(tmp_path):
    p = tmp_path / "dup.csv"
    p.write_text("offence_code,weight\n8N,1\n008N,1\n")
    assert harm_table(p).weight(offence_code="8N") == 1.0
    with pytest.raises(DataError, match="not found"):
        harm_table(tmp_path / "missing.csv")
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(DataError, match="empty.csv"):
        harm_table(empty)
