"""The statistics behind the book's verdicts: Welch's two-sided test,
Holm's correction over a chapter's family of comparisons, and the
wording by budget."""

import numpy as np
import pytest
from scipy import stats

from catvae_lit.ablation import (
    climbing_window,
    holm,
    still_climbing,
    verdicts,
    welch,
)

CLEAR = {
    "better": np.array([0.60, 0.61, 0.62]),
    "worse": np.array([0.40, 0.41, 0.42]),
    "climbing": False,
}
BORDERLINE = {
    "better": np.array([0.53, 0.55, 0.57]),
    "worse": np.array([0.47, 0.49, 0.51]),
    "climbing": False,
}
NULL = {
    "better": np.array([0.50, 0.40, 0.60]),
    "worse": np.array([0.45, 0.55, 0.50]),
    "climbing": False,
}


def test_holm_matches_the_step_down_by_hand():
    # sorted 0.01, 0.03, 0.04 times 3, 2, 1 gives 0.03, 0.06, 0.04, made
    # monotone: 0.03, 0.06, 0.06
    assert holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert holm([0.2, 0.9]) == pytest.approx([0.4, 0.9])
    assert holm([0.6, 0.7]).max() <= 1


def test_welch_is_two_sided_with_its_interval():
    test = welch(BORDERLINE["better"], BORDERLINE["worse"])
    reference = stats.ttest_ind(
        BORDERLINE["better"],
        BORDERLINE["worse"],
        equal_var=False,
        alternative="two-sided",
    )
    assert test["p"] == pytest.approx(reference.pvalue)
    assert test["difference"] == pytest.approx(0.06)
    assert test["low"] < test["difference"] < test["high"]
    swapped = welch(BORDERLINE["worse"], BORDERLINE["better"])
    assert swapped["p"] == pytest.approx(test["p"]) and swapped[
        "difference"
    ] == pytest.approx(-0.06)


def test_a_verdict_is_corrected_for_its_whole_family():
    alone = verdicts([BORDERLINE], epochs=10)[0]
    assert alone["p"] < 0.05 and alone["verdict"] == "held"
    in_family = verdicts(
        [BORDERLINE, NULL, NULL, NULL, CLEAR], epochs=10
    )[0]
    assert in_family["p"] == pytest.approx(alone["p"])
    assert (
        in_family["p_holm"] > 0.05
        and in_family["verdict"] == "not shown"
    )


def test_the_other_direction_is_worded_by_budget():
    reversed_clear = {
        **CLEAR,
        "better": CLEAR["worse"],
        "worse": CLEAR["better"],
    }
    assert (
        verdicts([reversed_clear], epochs=10)[0]["verdict"]
        == "contradicted"
    )
    climbing = verdicts(
        [{**reversed_clear, "climbing": True}], epochs=10
    )[0]
    assert climbing["verdict"] == "not reproduced at 10 epochs"
    longer = verdicts(
        [{**reversed_clear, "climbing": True, "epochs": 20}], epochs=10
    )[0]
    assert longer["verdict"] == "not reproduced at 20 epochs"
    assert (
        verdicts([{**CLEAR, "climbing": True}], epochs=10)[0]["verdict"]
        == "held"
    )


def test_a_precomputed_test_joins_the_family():
    exact = {
        "test": {"difference": 0.4, "low": -0.1, "high": 0.8, "p": 0.02},
        "climbing": False,
    }
    judged = verdicts([exact, NULL, NULL], epochs=10)
    assert (
        judged[0]["p_holm"] == pytest.approx(0.06)
        and judged[0]["verdict"] == "not shown"
    )


def test_still_climbing_reads_the_mean_curve():
    rising = [[0.1, 0.2, 0.3, 0.4, 0.5]] * 3
    flat = [[0.1, 0.5, 0.5, 0.505, 0.51], [0.1, 0.5, 0.5, 0.5, 0.5]]
    assert still_climbing(rising) and not still_climbing(flat)
    assert not still_climbing([[0.1, 0.2]]), "too short a curve to tell"


def test_the_climbing_window_is_a_tenth_of_the_run_and_at_least_three():
    epochs = (10, 30, 39, 40, 100, 600)
    assert [climbing_window(n) for n in epochs] == [3, 3, 3, 4, 10, 60]
    # a run gaining 0.002 an epoch: after 30 epochs it gained 0.006 over
    # its last three (levelled off), after 100, 0.02 over its last ten
    slow = [[0.5 + 0.002 * epoch for epoch in range(100)]]
    assert still_climbing(slow)
    assert not still_climbing([curve[:30] for curve in slow])
