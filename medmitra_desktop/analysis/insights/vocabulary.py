"""Names the rule files may use for computed values, with the unit each is expressed in.

Kept apart from derived.py so the knowledge loader can validate rule files without importing
the computations.
"""

from __future__ import annotations

EGFR_UNIT = "mL/min/1.73m2"

DERIVED_UNITS: dict[str, str] = {
    "egfr": EGFR_UNIT,  # the printed eGFR when there is one, else CKD-EPI 2021
    "egfr_ckd_epi_2021": EGFR_UNIT,
    "egfr_previous_90d": EGFR_UNIT,  # an earlier eGFR at least 90 days before (chronicity)
    "anion_gap": "mmol/L",
    "corrected_calcium": "mg/dL",
    "calcium_adjusted": "mg/dL",  # corrected calcium when albumin is known, else measured
    "ldl_calculated": "mg/dL",
    "non_hdl": "mg/dL",
    "mentzer_index": "",
    "r_ratio": "",
    "creatinine_rise_48h": "mg/dL",
    "creatinine_ratio_7d": "x",
    "creatinine_ratio_undated": "x",
}
