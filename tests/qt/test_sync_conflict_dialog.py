"""The conflict dialog on a real conflict made with the reference MedMitra server: long
values wrapped under their choice, nothing chosen for the doctor, a conflict that changed
meanwhile explained instead of half-applied."""

from __future__ import annotations

import pytest

from medmitra_desktop.app import AppContext
from medmitra_desktop.domain.enums import SyncState
from medmitra_desktop.domain.records import CaseRecord
from medmitra_desktop.ui.views.conflict_dialog import ConflictDialog
from tests.factories import make_case
from tests.qt.test_sync_runner import USER, sign_in
from tests.sync.reference_server import ReferenceServer


@pytest.fixture
def conflicted(context: AppContext, reference_server: ReferenceServer) -> CaseRecord:
    """A case whose name and notes changed here and on the server."""
    record = make_case(context.cases, name="Dev Patel", notes="Cough", user_id=USER)
    sign_in(context, reference_server)
    engine = context.sync.engine()
    assert engine is not None
    try:
        assert engine.run_once().ok
        (remote,) = reference_server.cases(USER)
        reference_server.update_case(
            remote["case_id"], patient_name="Dev & Sons Patel",
            case_summary="Cough for 2 weeks.\nSeen at the branch clinic; chest X-ray advised.")
        context.cases.update_case(record.case_id, user_id=USER, changes={
            "patient_name": "Dev K. Patel", "case_summary": "Cough, now with fever."})
        engine.run_once()
    finally:
        engine.close()
    case = context.cases.get_case(record.case_id)
    assert case.sync_state is SyncState.CONFLICT
    return case


def test_values_are_shown_whole_and_nothing_is_chosen(qtbot, context: AppContext,
                                                      conflicted: CaseRecord) -> None:
    dialog = ConflictDialog(context.cases, USER, conflicted)
    qtbot.addWidget(dialog)
    assert list(dialog.choices) == ["patient_name", "case_summary"]  # the form's order
    name = dialog.choices["patient_name"]
    assert name["remote"].text() == "Server: Dev && Sons Patel"  # "&" is no mnemonic
    notes = dialog.choices["case_summary"]
    assert notes["remote"].text() == "Server:"  # two lines: shown whole under it
    assert "chest X-ray advised" in " ".join(
        label.text() for label in dialog.findChildren(type(dialog.message)))
    assert dialog.chosen() == {} and not dialog.ok_button.isEnabled()
    assert "2 more details" in dialog.ok_button.toolTip()


def test_choices_are_applied_and_a_changed_conflict_is_explained(
        qtbot, context: AppContext, conflicted: CaseRecord) -> None:
    dialog = ConflictDialog(context.cases, USER, conflicted)
    qtbot.addWidget(dialog)
    dialog.choices["patient_name"]["remote"].click()
    dialog.choices["case_summary"]["local"].click()
    assert dialog.chosen() == {"patient_name": "remote", "case_summary": "local"}
    dialog.save()
    assert dialog.result() == ConflictDialog.DialogCode.Accepted
    case = context.cases.get_case(conflicted.case_id)
    assert (case.patient_name, case.case_summary) == ("Dev & Sons Patel",
                                                      "Cough, now with fever.")
    assert case.sync_state is SyncState.PENDING  # the kept notes go to the server next

    # The same (now stale) conflict chosen again: words, not a half-applied change.
    stale = ConflictDialog(context.cases, USER, conflicted)
    qtbot.addWidget(stale)
    stale.choices["patient_name"]["local"].click()
    stale.choices["case_summary"]["local"].click()
    stale.save()
    assert stale.result() != ConflictDialog.DialogCode.Accepted
    assert stale.message.isVisibleTo(stale) and "Resolve" in stale.message.text()
    assert context.cases.get_case(conflicted.case_id).patient_name == "Dev & Sons Patel"
