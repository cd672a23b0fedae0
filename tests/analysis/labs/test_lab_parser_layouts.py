"""parse_lab_report on whole pages in the layouts labs print: tables with and without borders,
Indian and US column orders, dotted leaders, OCR single-space text, several pages."""

from __future__ import annotations

import pytest

from tests.analysis.labs.lab_helpers import ParseFn, names, row_for

US_TABLE = """\
Summit Valley Laboratory
72 Ridge Rd, Boulder, CO 80302    Phone: (303) 555-0119

 Patient Name: DOE, JANE                                   Accession No.: A1104143909
 DOB: 11/27/1980    Age: 44 Y    Sex: Female               Collected: 04/14/2024 09:52
 Patient ID: 5474011                                       Received: 04/14/2024 11:22

 Test                          Result        Flag       Units          Reference Interval
 CBC (Complete Blood Count)
   WBC                         3.82          Low        x10E3/uL       4.5-11.0
   RBC                         4.64                     x10E6/uL       4.1-5.1
   Hemoglobin                  10.4          Low        g/dL           12.0-15.5
   Platelets                   452           High       x10E3/uL       150-400
 Lipid Panel
   Cholesterol, Total          212           High       mg/dL          <200
   HDL Cholesterol             38            Low        mg/dL          >40

FINAL REPORT                                                                   Page 1 of 1
Results relate only to the specimen tested.
"""


def test_us_table_with_flag_column(parse: ParseFn) -> None:
    rows = parse(US_TABLE, gender="female", age=44)
    assert names(rows) == ["White Blood Cell Count", "Red Blood Cell Count", "Hemoglobin",
                           "Platelet Count", "Total Cholesterol", "HDL Cholesterol"]
    wbc = row_for(rows, "White Blood Cell Count")
    assert (wbc.loinc, wbc.value, wbc.unit, wbc.ref_low, wbc.ref_high) == (
        "6690-2", 3.82, "x10E3/uL", 4.5, 11.0)
    assert (wbc.flag, wbc.flag_printed, wbc.flag_note) == ("L", "Low", None)
    assert wbc.test_printed == "WBC" and wbc.ref_source == "report" and wbc.page == 1
    chol = row_for(rows, "Total Cholesterol")
    assert (chol.ref_low, chol.ref_high, chol.flag) == (None, 200.0, "H")
    hdl = row_for(rows, "HDL Cholesterol")
    assert (hdl.ref_low, hdl.ref_high, hdl.flag) == (40.0, None, "L")
    assert row_for(rows, "Red Blood Cell Count").flag == "N"


INDIAN_TABLE = """\
                         CITY CARE DIAGNOSTICS PVT. LTD.
                  (NABL Accredited Laboratory | ISO 15189:2012)
Patient Name : Mr. RAVI KUMAR                        Lab No.      : MD200926102
Age / Sex      : 53 Yrs / Male                       Collected On : 26/09/2020 08:48 AM
Ref. By          : Dr. R. K. Gupta                   Reported On  : 27/09/2020 09:27 AM

                        DEPARTMENT OF HAEMATOLOGY
Investigation                     Observed Value     Unit            Biological Reference Interval
COMPLETE BLOOD COUNT (CBC)
Total Leucocyte Count (TLC)       3260               cells/cumm      4000 - 11000
Haemoglobin (Hb)                  12.4 L             g/dL            13.0 - 17.0
Platelet Count                    1.00               lakhs/cumm      1.5 - 4.0
DIFFERENTIAL LEUCOCYTE COUNT (DLC)
   Neutrophils                    35.2               %               40.0 - 70.0
   Lymphocytes                    45.7H              %               20.0 - 40.0
KIDNEY FUNCTION TEST (KFT)
Blood Urea                        48                 mg/dL           15 - 40
S. Creatinine                     2.59               mg/dL           0.70 - 1.30
SGPT (ALT)                        20                 U/L             Up to 40
                              *** End of Report ***
"""


def test_indian_layout_units_as_printed_and_glued_flags(parse: ParseFn) -> None:
    rows = parse(INDIAN_TABLE, age=53)
    assert len(rows) == 8
    tlc = row_for(rows, "White Blood Cell Count")
    assert (tlc.value, tlc.unit, tlc.unit_ucum, tlc.ref_low, tlc.flag) == (
        3260.0, "cells/cumm", "/uL", 4000.0, "L")
    plt = row_for(rows, "Platelet Count")
    assert (plt.unit, plt.flag) == ("lakhs/cumm", "L")
    lym = row_for(rows, "Lymphocytes")
    assert (lym.value, lym.flag_printed, lym.flag) == (45.7, "H", "H")
    alt = row_for(rows, "ALT")
    assert (alt.ref_low, alt.ref_high, alt.ref_text, alt.flag) == (None, 40.0, "Up to 40", "N")
    assert row_for(rows, "Urea").flag == "H"
    assert row_for(rows, "Creatinine").test_printed == "S. Creatinine"


DOTTED = """\
LABORATORY RESULTS
Name: John Smith     DOB: 1982-06-18     Age: 43     Sex: M
Collected: 2026-01-02 08:07     Accession: R-260102-7659

== COMPLETE BLOOD COUNT ==
 Hemoglobin ........................ 10.2 g/dL (13.5 - 17.5) L
 White Blood Cell Count ............ 7.46 10^3/µL (4.5 - 11.0)
== CHEMISTRY ==
 Estimated GFR ..................... >90 mL/min/1.73m2 (>60)
 LDL Cholesterol ................... 221 mg/dL (<100) H
 Urine pH .......................... 6.0 (5.0 - 8.0)
Lipid targets: LDL-C below 100 mg/dL is optimal; 130-159 borderline high.
Hemoglobin A1c: 5.7 - 6.4 % indicates increased risk for diabetes; 6.5 % or higher.
"""


def test_dotted_leaders_comparators_and_prose_lines(parse: ParseFn) -> None:
    rows = parse(DOTTED)
    assert names(rows) == ["Hemoglobin", "White Blood Cell Count", "Estimated GFR",
                           "LDL Cholesterol", "Urine pH"]
    hb = row_for(rows, "Hemoglobin")
    assert (hb.value, hb.unit, hb.ref_low, hb.ref_high, hb.flag, hb.flag_printed) == (
        10.2, "g/dL", 13.5, 17.5, "L", "L")
    egfr = row_for(rows, "Estimated GFR")
    assert (egfr.value, egfr.value_text, egfr.ref_low, egfr.ref_high, egfr.flag) == (
        90.0, ">90", 60.0, None, "N")
    ph = row_for(rows, "Urine pH")
    assert ph.unit is None and ph.flag == "N"


BORDERED = """\
+----------------------+---------+-------------+---------------+
| Test                 | Result  | Unit        | Reference     |
+----------------------+---------+-------------+---------------+
| Haemoglobin          | 13.1    | g/dL        | 13.0 - 17.0   |
| Serum Sodium         | 131     | mmol/L      | 136 to 145    |
| Vitamin B12          | <150    | pg/mL       | 211 - 911     |
| TSH                  | 0.02    | uIU/mL      | 0.4 - 4.0     |
+----------------------+---------+-------------+---------------+
"""


def test_bordered_table(parse: ParseFn) -> None:
    rows = parse(BORDERED)
    assert names(rows) == ["Hemoglobin", "Sodium", "Vitamin B12", "TSH"]
    na = row_for(rows, "Sodium")
    assert (na.ref_low, na.ref_high, na.flag) == (136.0, 145.0, "L")
    b12 = row_for(rows, "Vitamin B12")
    assert (b12.value, b12.value_text, b12.flag) == (150.0, "<150", "L")
    assert row_for(rows, "TSH").flag == "L"


# Tesseract --psm 6 output: single spaces between columns, damaged characters.
OCR_PAGE = """\
Patient Name: DOE, JOHN Accession No.: A1409211742
DOB: 07/18/1971 Age: 43Y Sex: Male Collected: 09/21/2014 06:21
Test Result Flag Units Reference Interval
CBC (Complete Blood Count)
WBC 3.82 Low X10E3/uL 4.5-11.0
HEMOGIOBIN 13.3 Low Q/dL 13.5-17.5
Hematocrit 4O.2 % 41.0-50.0
Platelets 157 xX10E3/uL 150-400
MCV 85,6 fL 80.0-100.0
RDW-SD 44.4 fl 39.0-46.0
Cholesterol, Total 202 High mg/dL <200
FINAL REPORT Page 1 of 1
"""


def test_ocr_single_space_columns_with_damage(parse: ParseFn) -> None:
    rows = parse(OCR_PAGE, age=43)
    assert names(rows) == ["White Blood Cell Count", "Hemoglobin", "Hematocrit",
                           "Platelet Count", "MCV", "RDW-SD", "Total Cholesterol"]
    hb = row_for(rows, "Hemoglobin")
    assert (hb.value, hb.unit, hb.flag) == (13.3, "g/dL", "L")
    assert hb.repaired is not None and "unit" in hb.repaired
    hct = row_for(rows, "Hematocrit")
    assert (hct.value, hct.flag) == (40.2, "L")
    assert hct.repaired is not None and "letters read as digits" in hct.repaired
    assert row_for(rows, "Platelet Count").unit == "x10E3/uL"
    mcv = row_for(rows, "MCV")
    assert mcv.value == 85.6 and mcv.repaired is None  # a decimal comma is a reading, not a repair


OCR_LEADERS = """\
== COMPLETE BLOOD COUNT ==
White Blood Cell Count ...............c00000setseeeeeeees 9.10 1043/UL (4.5 - 11.0)
HEMOGIODIN 0.0... eee eeteeeetettteettttttetteeeeeee 15.7 Q/dL (13.5 - 17.5)
MCV .ooieieeeseeteestteeeteretesessssssseees 85,6 FL (80.0 - 100.0)
Red Blood Cell Count ....... eee 4.11 1046/UL (4.5-5.9) L
White Blood Gell Count .....-.:-cseceecee: 9-66 40A3/pL (4.5 - 11.0)
MCH acme B8le1 PG (27.0 33:0)
"""


def test_ocr_dotted_leaders_and_damaged_units(parse: ParseFn) -> None:
    rows = parse(OCR_LEADERS)
    assert [(r.test, r.value) for r in rows] == [
        ("White Blood Cell Count", 9.1), ("Hemoglobin", 15.7), ("MCV", 85.6),
        ("Red Blood Cell Count", 4.11), ("White Blood Cell Count", 9.66)]
    assert [r.unit for r in rows] == ["10^3/µL", "g/dL", "FL", "10^6/µL", "10^3/µL"]
    assert rows[4].repaired is not None and "decimal point" in rows[4].repaired


@pytest.mark.parametrize(("printed", "value"), [
    ("l3.5", 13.5), ("I3.5", 13.5), ("1O.2", 10.2), ("13.S", 13.5), ("l4,2", 14.2), ("13:5", 13.5),
])
def test_ocr_letters_in_values_are_read_as_digits(
        parse: ParseFn, printed: str, value: float) -> None:
    row = parse(f"Hemoglobin {printed} g/dL 13.0-17.0")[0]
    assert row.value == value and row.repaired and "OCR" in row.repaired


def test_letters_are_not_turned_into_numbers_for_unknown_tests(parse: ParseFn) -> None:
    assert parse("Zonulin l3.5 ng/mL 20-80") == []


def test_lost_decimal_point_repaired_only_when_the_knowledge_base_says_so(parse: ParseFn) -> None:
    rows = parse("Hemoglobin   152   g/dL   13.5-17.5\n"
                 "Glucose   152   mg/dL   70-99\n"
                 "Zonulin   152   ng/mL   20-80\n")
    hb, glu, unknown = rows
    assert hb.value == 15.2 and hb.flag == "N" and "decimal point" in (hb.repaired or "")
    assert glu.value == 152.0 and glu.repaired is None and glu.flag == "H"  # plausible as printed
    assert unknown.value == 152.0 and unknown.repaired is None and unknown.loinc is None


def test_unit_that_does_not_fit_the_value_is_read_as_the_near_one(parse: ParseFn) -> None:
    rows = parse("Hemoglobin 12.5 G/L (12.0 = 15.5)\nMCHC 34,6 G/L (32.0 - 36.0)", gender="female")
    assert [(r.unit, r.ref_low, r.ref_high) for r in rows] == [
        ("g/dL", 12.0, 15.5), ("g/dL", 32.0, 36.0)]
    assert all("does not fit" in (r.repaired or "") for r in rows)


def test_reversed_range_from_a_border_read_as_one(parse: ParseFn) -> None:
    row = parse("Platelet Count 4.00 lakhs/cumm 11.5 - 4.0")[0]
    assert (row.ref_low, row.ref_high, row.flag) == (1.5, 4.0, "N")
    assert "range" in (row.repaired or "")


def test_range_on_the_line_below_and_sex_specific_ranges(parse: ParseFn) -> None:
    text = ("Creatinine          1.4      mg/dL\n"
            "                    0.6 - 1.2\n"
            "Hemoglobin          12.6     g/dL      Male: 13.0 - 17.0\n"
            "                                       Female: 12.0 - 15.5\n"
            "Hb                  12.6     g/dL      M: 13-17  F: 12-15\n")
    male = parse(text, gender="male")
    female = parse(text, gender="female")
    assert [(r.test, r.ref_low, r.ref_high) for r in male] == [
        ("Creatinine", 0.6, 1.2), ("Hemoglobin", 13.0, 17.0), ("Hemoglobin", 13.0, 17.0)]
    assert [(r.ref_low, r.ref_high) for r in female] == [(0.6, 1.2), (12.0, 15.5), (12.0, 15.0)]
    assert [r.flag for r in male] == ["H", "L", "L"]
    assert [r.flag for r in female] == ["H", "N", "N"]
    unknown = parse(text, gender=None)
    assert (unknown[2].ref_low, unknown[2].ref_high) == (12.0, 17.0)  # union of both sexes


def test_interpretive_categories_pick_the_normal_one(parse: ParseFn) -> None:
    text = ("Total Cholesterol   245   mg/dL   Desirable: < 200\n"
            "                                  Borderline High: 200 - 239\n"
            "                                  High: >= 240\n"
            "HbA1c   7.2   %   Non-diabetic: < 5.7\n"
            "                  Pre-diabetes: 5.7 - 6.4\n"
            "                  Diabetes: >= 6.5\n")
    chol, a1c = parse(text)
    assert (chol.ref_low, chol.ref_high, chol.flag) == (None, 200.0, "H")
    assert (a1c.ref_low, a1c.ref_high, a1c.flag) == (None, 5.7, "H")


def test_table_across_pages_with_repeated_headers(parse: ParseFn) -> None:
    header = ("CITY LAB\nPatient Name : Mr. A B   Age/Sex : 40 Y / M\n"
              "Sample ID : 20240101   Phone : 022-2780 0000\n"
              "Investigation   Observed Value   Unit   Biological Reference Interval\n")
    page1 = header + "Haemoglobin   14.1   g/dL   13.0-17.0\nPCV   42   %   40-50\nPage 1 of 2\n"
    page2 = header + "Platelet Count   250   10^3/uL   150-410\nPage 2 of 2\n"
    rows = parse([page1, page2])
    assert [(r.test, r.page) for r in rows] == [
        ("Hemoglobin", 1), ("Hematocrit", 1), ("Platelet Count", 2)]


@pytest.mark.parametrize("line", [
    "Age : 45 Years", "Age / Sex : 53 Yrs / Male", "Sample ID : 123456",
    "DOB: 07/18/1971 Age: 43Y Sex: Male", "Collected: 2026-01-02 08:07",
    "Phone: 98765 43210", "Accession No. 2024 000123", "Patient ID: 5474011",
    "Reported On : 27/09/2020 09:27 AM", "Plot 12, Sector 4, Navi Mumbai - 400703",
    "Lab No. : 2231   Ref. By : Dr. Rao   Bill No. 7781", "Page 1 of 2",
    "Interpretation: values above 6.5 % indicate diabetes.", "Ref: ADA 2024",
    "1440 E Camelback Rd, Phoenix, AZ 85014", "CLIA ID: 24D0981234",
])
def test_demographic_header_and_footer_lines_are_never_rows(parse: ParseFn, line: str) -> None:
    assert parse(line) == []


URINE = """\
URINE ROUTINE EXAMINATION
PHYSICAL EXAMINATION
Colour            Pale Yellow        Pale Yellow
Appearance        Slightly Turbid    Clear
Specific Gravity  1.020              1.005 - 1.030
CHEMICAL EXAMINATION
Protein           Trace              Nil
Glucose           Nil                Nil
Ketones           Absent             Absent
Blood             Positive           Negative
MICROSCOPIC EXAMINATION
Pus Cells         8-10      /hpf     0-5
RBC               Nil       /hpf     0-2
Casts             Absent
BIOCHEMISTRY
Glucose           98        mg/dL    70-99
HIV I & II Antibody   Non Reactive   Non Reactive
"""


def test_urinalysis_qualitative_results_and_section_context(parse: ParseFn) -> None:
    rows = parse(URINE)
    by = {r.test: r for r in rows}
    assert by["Urine Color"].flag == "N" and by["Urine Color"].value is None
    assert (by["Urine Appearance"].value_text, by["Urine Appearance"].flag) == (
        "Slightly Turbid", "A")
    assert by["Urine Protein"].flag == "A" and by["Urine Protein"].loinc == "20454-5"
    assert by["Urine Glucose"].flag == "N"
    assert by["Urine Ketones"].flag == "N"
    assert by["Urine Blood"].flag == "A"
    assert (by["Urine Pus Cells"].value, by["Urine Pus Cells"].value_text,
            by["Urine Pus Cells"].flag) == (None, "8-10", "H")
    assert by["Urine Red Blood Cells"].flag == "N"
    assert (by["Casts"].value_text, by["Casts"].loinc, by["Casts"].flag) == ("Absent", None, None)
    assert by["Specific Gravity"].value == 1.02
    assert by["Glucose"].value == 98.0  # a new section: serum glucose again
    hiv = by["HIV I & II Antibody"]
    assert (hiv.loinc, hiv.value, hiv.flag, hiv.ref_text) == (
        None, None, None, "Non Reactive")  # no knowledge of what is normal: no flag


def test_knowledge_base_fills_intervals_when_none_printed(parse: ParseFn) -> None:
    text = ("Haemoglobin   12.6   g/dL\n"
            "Total Leucocyte Count   3800   cells/cumm\n"
            "Serum Creatinine   1.2   mg/dL\n"
            "Potassium   6.6   mmol/L\n")
    male = parse(text, gender="male", age=50)
    female = parse(text, gender="female", age=50)
    hb_m, wbc, cr_m, k = male
    assert (hb_m.ref_low, hb_m.ref_source, hb_m.flag) == (13.0, "knowledge_base", "L")
    assert (female[0].ref_low, female[0].flag) == (12.0, "N")
    assert (wbc.ref_low, wbc.ref_high, wbc.flag) == (4500.0, 11000.0, "L")  # in cells/uL
    assert (cr_m.flag, female[2].flag) == ("N", "H")
    assert (k.flag, k.critical) == ("HH", True)
    child = parse(text, gender="male", age=9)
    assert all(r.ref_source is None and r.flag is None for r in child)  # adult table only


def test_printed_flags_are_kept_and_disagreements_noted(parse: ParseFn) -> None:
    text = ("Calcium   9.0   mg/dL   8.6-10.2   H\n"
            "Sodium   150   *   mmol/L   135-145\n"
            "Potassium   2.5   LL   mmol/L   3.5-5.1\n"
            "Chloride   104   Critical   mmol/L   98-107\n")
    ca, na, k, cl = parse(text)
    assert (ca.flag, ca.flag_printed) == ("N", "H") and ca.flag_note
    assert (na.flag, na.flag_printed, na.flag_note) == ("H", "*", None)
    assert (k.flag, k.flag_printed, k.critical, k.flag_note) == ("LL", "LL", True, None)
    assert cl.flag == "N" and cl.flag_note  # marked abnormal by the lab, normal by the numbers


def test_exact_bound_is_inside(parse: ParseFn) -> None:
    rows = parse("Calcium 8.6 mg/dL 8.6-10.3\nCO2 29 mmol/L 22-29\n"
                 "Total Cholesterol 200 mg/dL <200")
    assert [r.flag for r in rows] == ["N", "N", "N"]


def test_two_results_on_one_line_and_other_column_orders(parse: ParseFn) -> None:
    rows = parse("Sodium 140 mmol/L 135 - 145   Potassium 4.2 mmol/L 3.5 - 5.1\n"
                 "Hemoglobin      13.0 - 17.0     14.2     g/dL\n"
                 "Haemoglobin   g/dL   11.9   13.0 - 17.0\n"
                 "Not established ranges:\n"
                 "Lipoprotein (a)   45   mg/dL   Not established\n")
    assert [(r.test, r.value, r.ref_low) for r in rows] == [
        ("Sodium", 140.0, 135.0), ("Potassium", 4.2, 3.5), ("Hemoglobin", 14.2, 13.0),
        ("Hemoglobin", 11.9, 13.0), ("Lipoprotein (a)", 45.0, None)]
    lpa = rows[-1]
    assert (lpa.ref_text, lpa.ref_source, lpa.flag) == ("Not established", "report", None)


def test_two_results_on_a_line_when_the_first_test_is_unknown(parse: ParseFn) -> None:
    rows = parse("Anti-TPO   12 IU/mL   0-34   Hematocrit   44.1 %   40.0-50.0\n")
    assert [(r.test, r.value, r.ref_high) for r in rows] == [
        ("Anti-TPO", 12.0, 34.0), ("Hematocrit", 44.1, 50.0)]


def test_unit_split_by_ocr_is_read_whole(parse: ParseFn) -> None:
    row = parse("ESR   19   mm/ist hr   0-15   H")[0]
    assert (row.unit, row.unit_ucum, row.flag) == ("mm/1st hr", "mm/h", "H")
    assert "unit" in (row.repaired or "")


def test_unit_decides_between_percent_and_absolute_counts(parse: ParseFn) -> None:
    rows = parse("ABSOLUTE COUNT\nNeutrophils   3.98   10^3/uL   2.0-7.0\n"
                 "Neutrophils   62   %   40-75\n")
    assert [(r.test, r.loinc) for r in rows] == [
        ("Absolute Neutrophil Count", "751-8"), ("Neutrophils", "770-8")]


def test_unknown_tests_are_kept_with_their_printed_name(parse: ParseFn) -> None:
    rows = parse("FSH   8.2   mIU/mL   3.5-12.5\nAnti-CCP   <0.5   U/mL   <5.0\n")
    assert [(r.test, r.loinc, r.value, r.flag) for r in rows] == [
        ("FSH", None, 8.2, "N"), ("Anti-CCP", None, 0.5, "N")]


def test_units_are_normalised_to_ucum_alongside_the_printed_text(parse: ParseFn) -> None:
    rows = parse("TLC   7,600   /cumm   4000-11000\nPlatelets   2.5   lakhs/cumm   1.5-4.0\n"
                 "Glucose   5.4   mmol/L   3.9-5.5\n")
    assert [(r.unit, r.unit_ucum) for r in rows] == [
        ("/cumm", "/uL"), ("lakhs/cumm", "10*5/uL"), ("mmol/L", "mmol/L")]
    assert rows[0].value == 7600.0


def test_critical_limits_use_the_canonical_unit(parse: ParseFn) -> None:
    rows = parse("Glucose   1.9   mmol/L   3.9-5.5\n"  # 34 mg/dL: below 50
                 "Platelets   0.15   lakhs/cumm   1.5-4.0\n"  # 15 x10^3/uL: below 20
                 "Hemoglobin   7.5   g/dL   13.0-17.0\n")  # low, not critical (< 7)
    assert [(r.flag, r.critical) for r in rows] == [("LL", True), ("LL", True), ("L", False)]


def test_rows_carry_their_source_line(parse: ParseFn) -> None:
    row = parse("noise\n  Hemoglobin   13.1   g/dL   13.0-17.0\n")[0]
    assert row.row_text == "Hemoglobin   13.1   g/dL   13.0-17.0"


def test_empty_and_whitespace_pages(parse: ParseFn) -> None:
    assert parse(["", "   \n\n", "\f"]) == []
