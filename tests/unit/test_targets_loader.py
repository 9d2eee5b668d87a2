"""The shipped targets file and the loader's refusals (shared/targets/loader.py)."""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml

from shared.domain.calendar import Period
from shared.domain.targets import ProgramKind, Rule, Targets
from shared.targets import DEFAULT_TARGETS_FILE, TargetsError, load_targets
from shared.targets.loader import parse_targets

Document = dict[str, Any]

EXPECTED_CITIES = {
    "jinan": ("370100", 9202432, 18128, 6345),
    "qingdao": ("370200", 10071722, 19840, 6944),
    "zibo": ("370300", 4704138, 9267, 3243),
    "zaozhuang": ("370400", 3855601, 7595, 2658),
    "dongying": ("370500", 2193518, 4321, 1512),
    "yantai": ("370600", 7102116, 13991, 4897),
    "weifang": ("370700", 9386705, 18491, 6472),
    "jining": ("370800", 8357897, 16464, 5762),
    "taian": ("370900", 5472217, 10780, 3773),
    "weihai": ("371000", 2906548, 5726, 2004),
    "rizhao": ("371100", 2968365, 5847, 2047),
    "linyi": ("371300", 11018365, 21705, 7597),
    "dezhou": ("371400", 5611194, 11054, 3869),
    "liaocheng": ("371500", 5952128, 11725, 4104),
    "binzhou": ("371600", 3928568, 7739, 2709),
    "heze": ("371700", 8795939, 17327, 6064),
}


@pytest.fixture(scope="module")
def shipped() -> Targets:
    return load_targets()


@pytest.fixture(scope="module")
def default_document() -> Document:
    loaded: Document = yaml.safe_load(DEFAULT_TARGETS_FILE.read_text(encoding="utf-8"))
    return loaded


@pytest.fixture
def document(default_document: Document) -> Document:
    """A fresh copy of the shipped document for a test to break."""
    return copy.deepcopy(default_document)


def program(doc: Document, program_id: str) -> Document:
    found: Document = next(p for p in doc["programs"] if p["id"] == program_id)
    return found


def city(doc: Document, city_id: str) -> Document:
    found: Document = next(c for c in doc["cities"] if c["id"] == city_id)
    return found


# --- the shipped file -------------------------------------------------------------------------


def test_the_shipped_file_has_the_16_cities_of_the_contract(shipped: Targets) -> None:
    assert len(shipped.cities) == 16
    actual = {
        c.id: (c.code, c.population, c.baseline_sites, c.quotas["5g-2025"])
        for c in shipped.cities.values()
    }
    assert actual == EXPECTED_CITIES


def test_the_shipped_file_sums_to_the_province_figures(shipped: Targets) -> None:
    assert shipped.population == 101_527_453
    assert shipped.baseline_sites == 200_000
    assert sum(c.quotas["5g-2025"] for c in shipped.cities.values()) == 70_000


def test_the_shipped_programmes_and_calendar(shipped: Targets) -> None:
    assert shipped.program_ids == ("5g-2025", "5g-2027", "gigabit-2024")
    rollout, density = shipped.site_programs
    assert (rollout.kind, rollout.start, rollout.deadline) == (
        ProgramKind.SITE_ROLLOUT,
        date(2024, 1, 1),
        date(2025, 12, 31),
    )
    assert rollout.province_target_new == 70_000
    assert (density.kind, density.deadline, density.density_per_10k) == (
        ProgramKind.SITE_DENSITY,
        date(2027, 12, 31),
        30,
    )
    for site_program in shipped.site_programs:
        assert (site_program.tolerances.warning, site_program.tolerances.critical) == (0.90, 0.75)
    # the seasonal profile of contract v2 §1, provisional until Shandong publishes its own split
    assert {str(month): share for month, share in rollout.milestones.items()} == {
        "2024-02": 0.04,
        "2024-06": 0.275,
        "2024-09": 0.40,
        "2024-12": 0.50,
        "2025-02": 0.54,
        "2025-06": 0.775,
        "2025-09": 0.90,
        "2025-12": 1.0,
    }
    assert rollout.milestones_provisional and rollout.milestones_source
    assert rollout.province_in_service_over == 270_000
    assert not rollout.quotas_verified and not shipped.baselines_verified
    assert density.milestones == {} and density.targets_derived
    assert shipped.gigabit.deadline == date(2024, 12, 31)
    assert shipped.site_baseline_date == date(2024, 1, 1)
    assert shipped.reporting.start == Period(2024, 1)
    assert shipped.reporting.due_day == 10
    assert "laiwu" in shipped.retired_cities


def test_the_shipped_gigabit_indicators(shipped: Targets) -> None:
    table = {i.key: (i.rule, i.threshold, i.verified) for i in shipped.gigabit.indicators}
    assert table == {
        "household_gigabit_coverage_pct": (Rule.GREATER, 80, True),
        "pon_10g_port_share_pct": (Rule.GREATER_OR_EQUAL, 25, False),
        "key_location_5g_reach_pct": (Rule.GREATER_OR_EQUAL, 80, False),
        "bs_5g_per_10k": (Rule.GREATER, 12, True),
        "bb_500m_user_share_pct": (Rule.GREATER_OR_EQUAL, 27, False),
        "bb_1000m_users": (Rule.TRACKED, None, False),
        "user_5g_share_pct": (Rule.GREATER_OR_EQUAL, 25, False),
    }
    coverage = shipped.gigabit.indicator("household_gigabit_coverage_pct")
    assert coverage is not None
    assert (coverage.minimum, coverage.maximum) == (0, 500)


@pytest.mark.parametrize("city_id", sorted(EXPECTED_CITIES))
def test_the_5g_2027_target_brings_each_city_to_30_sites_per_10k(
    shipped: Targets, city_id: str
) -> None:
    density = shipped.site_programs[1]
    c = shipped.cities[city_id]
    target_new = density.target_new(c)
    assert target_new == math.ceil(30 * c.population / 10_000) - c.baseline_sites
    assert (c.baseline_sites + target_new) / c.population * 10_000 >= 30
    assert (c.baseline_sites + target_new - 1) / c.population * 10_000 < 30


def test_the_5g_2027_target_for_jinan(shipped: Targets) -> None:
    # 30 x 9,202,432 / 10,000 = 27,607.3 -> 27,608 sites, 18,128 of them at the baseline
    assert shipped.site_programs[1].target_new(shipped.cities["jinan"]) == 9_480


def test_the_unchanged_document_parses_like_the_file(document: Document, shipped: Targets) -> None:
    assert parse_targets(document) == shipped


# --- refusals -------------------------------------------------------------------------------


def add_laiwu(doc: Document) -> None:
    doc["cities"].append(
        {
            "id": "laiwu",
            "code": "371200",
            "name": "莱芜市",
            "name_en": "Laiwu",
            "population": 1_000_000,
            "baseline_sites": 100,
        }
    )


def laiwu_code_on_another_id(doc: Document) -> None:
    city(doc, "jinan")["code"] = "371200"


def rename_jinan(doc: Document) -> None:
    city(doc, "jinan")["id"] = "jinnan"


def wrong_code(doc: Document) -> None:
    city(doc, "zibo")["code"] = "370399"


def quotas_off_by_one(doc: Document) -> None:
    city(doc, "heze")["quotas"]["5g-2025"] += 1


def quota_missing(doc: Document) -> None:
    del city(doc, "heze")["quotas"]["5g-2025"]


def quota_for_unknown_programme(doc: Document) -> None:
    city(doc, "heze")["quotas"]["5g-2099"] = 1


def deadline_before_start(doc: Document) -> None:
    program(doc, "5g-2025")["deadline"] = "2023-12-31"


def deadline_equals_start(doc: Document) -> None:
    program(doc, "gigabit-2024")["deadline"] = "2024-01-01"


def duplicate_city(doc: Document) -> None:
    doc["cities"].append(copy.deepcopy(city(doc, "qingdao")))


def unknown_top_level_key(doc: Document) -> None:
    doc["deadlines"] = {"5g-2025": "2025-12-31"}


def unknown_city_key(doc: Document) -> None:
    city(doc, "jinan")["populaton"] = 1


def unknown_programme_key(doc: Document) -> None:
    program(doc, "5g-2025")["target"] = 70_000


def duplicate_programme(doc: Document) -> None:
    doc["programs"].append(copy.deepcopy(program(doc, "5g-2027")))


def second_gigabit_programme(doc: Document) -> None:
    extra = copy.deepcopy(program(doc, "gigabit-2024"))
    extra["id"] = "gigabit-2026"
    doc["programs"].append(extra)


def baseline_sum_mismatch(doc: Document) -> None:
    doc["site_baseline"]["province_sites"] = 200_001


def critical_above_warning(doc: Document) -> None:
    program(doc, "5g-2025")["tolerances"] = {"warning": 0.7, "critical": 0.8}


def tracked_with_threshold(doc: Document) -> None:
    program(doc, "gigabit-2024")["indicators"][5]["threshold"] = 10


def threshold_rule_without_threshold(doc: Document) -> None:
    program(doc, "gigabit-2024")["indicators"][0]["threshold"] = None


def bad_reporting_start(doc: Document) -> None:
    doc["reporting"]["start"] = "2024-1"


def milestone_outside_programme(doc: Document) -> None:
    program(doc, "5g-2025")["milestones"] = {"2026-03": 0.5}


def shrinking_milestones(doc: Document) -> None:
    program(doc, "5g-2025")["milestones"] = {"2024-06": 0.5, "2024-12": 0.4}


def rollout_without_province_target(doc: Document) -> None:
    del program(doc, "5g-2025")["province_target_new"]


def density_without_density(doc: Document) -> None:
    del program(doc, "5g-2027")["density_per_10k"]


def rollout_before_baseline(doc: Document) -> None:
    program(doc, "5g-2025")["start"] = "2023-12-01"


def other_timezone(doc: Document) -> None:
    doc["timezone"] = "UTC"


def zero_population(doc: Document) -> None:
    city(doc, "weihai")["population"] = 0


def no_cities(doc: Document) -> None:
    doc["cities"] = []


@pytest.mark.parametrize(
    ("breakage", "message"),
    [
        (add_laiwu, r"cities\[16\] \(laiwu\).*not a city of the province.*Laiwu"),
        (laiwu_code_on_another_id, r"cities\[0\] \(jinan\).*371200 is not a city of the province"),
        (rename_jinan, r"cities\[0\] \(jinnan\): unknown city id 'jinnan'"),
        (wrong_code, r"code 370399 does not match zibo \(370300\)"),
        (quotas_off_by_one, r"5g-2025: city quotas sum to 70001, not the province target 70000"),
        (quota_missing, r"5g-2025: no quota for heze"),
        (quota_for_unknown_programme, r"heze: quota for unknown programme \['5g-2099'\]"),
        (
            deadline_before_start,
            r"programs\.0: .*deadline 2023-12-31 is not after start 2024-01-01",
        ),
        (deadline_equals_start, r"programs\.2: .*deadline 2024-01-01 is not after start"),
        (duplicate_city, r"cities\[16\] \(qingdao\): city listed twice"),
        (unknown_top_level_key, r"deadlines: Extra inputs are not permitted"),
        (unknown_city_key, r"cities\.0\.populaton: Extra inputs are not permitted"),
        (unknown_programme_key, r"programs\.0\.target: Extra inputs are not permitted"),
        (duplicate_programme, r"duplicate programme id"),
        (second_gigabit_programme, r"exactly one indicator_thresholds programme"),
        (baseline_sum_mismatch, r"city baselines sum to 200000, not province_sites 200001"),
        (critical_above_warning, r"critical tolerance must not exceed the warning tolerance"),
        (tracked_with_threshold, r"a tracked indicator has no threshold"),
        (threshold_rule_without_threshold, r"a tracked indicator has no threshold"),
        (bad_reporting_start, r"period must be YYYY-MM, got '2024-1'"),
        (milestone_outside_programme, r"milestone 2026-03 lies outside the programme"),
        (shrinking_milestones, r"milestone 2024-12: shares must grow"),
        (rollout_without_province_target, r"site_rollout programme needs province_target_new"),
        (density_without_density, r"site_density programme needs density_per_10k"),
        (rollout_before_baseline, r"5g-2025: starts before the site baseline date"),
        (other_timezone, r"timezone: Input should be 'Asia/Shanghai'"),
        (zero_population, r"cities\.9\.population: Input should be greater than 0"),
        (no_cities, r"cities: List should have at least 1 item"),
    ],
)
def test_a_bad_targets_file_is_refused_with_a_message_naming_the_problem(
    document: Document, breakage: Callable[[Document], None], message: str
) -> None:
    breakage(document)
    with pytest.raises(TargetsError, match=message) as raised:
        parse_targets(document, source="bad.yaml")
    assert str(raised.value).startswith("bad.yaml: ")


def test_a_subset_of_the_cities_is_allowed_when_quotas_still_sum(document: Document) -> None:
    document["cities"] = [city(document, "jinan")]
    program(document, "5g-2025")["province_target_new"] = 6345
    document["site_baseline"]["province_sites"] = 18128
    targets = parse_targets(document)
    assert list(targets.cities) == ["jinan"]


def test_milestones_are_read_as_periods(document: Document) -> None:
    program(document, "5g-2025")["milestones"] = {"2024-12": 0.5, "2024-06": 0.2}
    targets = parse_targets(document)
    assert targets.site_programs[0].milestones == {Period(2024, 6): 0.2, Period(2024, 12): 0.5}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("cities: [unclosed\n", "not valid YAML"),
        ("- just\n- a list\n", "top level: Input should be a valid dictionary"),
        ("", "top level: Input should be a valid dictionary"),
    ],
)
def test_an_unreadable_file_is_refused_with_its_path(
    tmp_path: Path, content: str, message: str
) -> None:
    path = tmp_path / "targets.yaml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(TargetsError, match=message) as raised:
        load_targets(path)
    assert str(raised.value).startswith(str(path))


def test_a_missing_file_is_refused_with_its_path(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.yaml"
    with pytest.raises(TargetsError, match="cannot read the targets file"):
        load_targets(path)


def test_the_site_ceiling_per_city_defaults_to_100000_and_is_read_from_limits(
    document: Document, shipped: Targets
) -> None:
    assert shipped.max_sites_per_city == 100_000
    document["limits"] = {"max_sites_per_city": 250}
    assert parse_targets(document).max_sites_per_city == 250
    document["limits"] = {"max_sites_per_city": 0}
    with pytest.raises(TargetsError, match=r"limits\.max_sites_per_city"):
        parse_targets(document)
