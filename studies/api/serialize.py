"""Plain dicts for the JSON API and the pages, and the trials' CSV."""
from __future__ import annotations

import csv
import io

from hpopt.best import final_score
from studies import markdown, progress, trial_table


def _iso(dt):
    return dt.isoformat() if dt else None


def trial_dict(t) -> dict:
    return {
        "id": t.pk, "number": t.number, "params": t.params, "state": t.state, "bracket": t.bracket,
        "rungs": t.rungs, "iterations": t.iterations, "subset_ratio": t.subset_ratio,
        "last_iteration": t.last_iteration, "spent": t.spent, "stop_reason": t.stop_reason,
        "best_score": t.best_score, "attempt": t.attempt, "pending": t.pending, "host": t.host, "gpu": t.gpu,
        "oom_count": t.oom_count, "error": t.error, "started": _iso(t.started), "finished": _iso(t.finished),
        "heartbeat": _iso(t.heartbeat), "excluded": t.excluded, "hand_picked": t.hand_picked,
        **score_names(t),
    }


def notes_dict(obj) -> dict:
    """A study's or a trial's notes: the Markdown, the tree studies.markdown
    parses it into (what the pages build, with text nodes only) and its HTML."""
    doc = markdown.parse(obj.notes)
    out = {"notes": obj.notes, "notes_doc": doc, "notes_html": "\n".join(map(markdown.to_html, doc))}
    if hasattr(obj, "tag_list"):
        out["tags"] = obj.tag_list
    return out


def score_names(t) -> dict:
    """The two scores under honest names (``t``: a trial or a row with
    ``best_score`` and ``last_score``): ``final_score``, the latest report's,
    which ranks the best config (hpopt.best), and ``best_epoch_score``, the
    best any epoch reported (the older ``best_score`` field)."""
    return {"final_score": final_score(t), "best_epoch_score": t.best_score}


#: a spreadsheet runs a cell that starts with one of these as a formula (OWASP's "CSV injection")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value):
    """A value as a CSV cell that a spreadsheet shows as the text it is: a
    string that would start a formula gets a leading apostrophe (shown by
    spreadsheets as a text marker); numbers, negative ones too, stay numbers."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def trials_csv_text(study, trials) -> str:
    """``trials`` (a queryset of the study's, filtered and sorted) as CSV: the
    columns a download always had, then (added later, so scripts reading by
    position still work) the final score, which ranks the best config, the
    current attempt's times (the duration as the table shows it), whether it
    was hand-picked and ``best_epoch_score``: the old ``best_score`` column's
    value under the name the pages and the API give it."""
    names = list(study.space)
    out = io.StringIO()   # one write to the response: a write per row cost more than the rows
    writer = csv.writer(out)
    writer.writerow(["trial", *map(csv_cell, names), "best_score", "iterations", "state", "bracket", "host", "gpu",
                     "error", "final_score", "started", "finished", "duration_seconds", "hand_picked",
                     "best_epoch_score"])
    columns = ("number", "params", "best_score", "last_iteration", "state", "bracket", "host", "gpu", "error",
               "_final", "started", "finished", "_seconds", "hand_picked")
    trials = trials.annotate(_final=trial_table.final_score(), _seconds=trial_table.duration())
    for number, params, best, last, *text, final, started, finished, seconds, hand in \
            trials.values_list(*columns).iterator(chunk_size=2000):
        writer.writerow([number, *(csv_cell(params.get(n)) for n in names), best, last, *map(csv_cell, text), final,
                         *(t and t.isoformat(timespec="seconds") for t in (started, finished)),
                         None if seconds is None else round(seconds, 3), hand, best])
    return out.getvalue()


TRIAL_LIST_FIELDS = (
    "id", "number", "params", "state", "bracket", "rungs", "iterations", "last_iteration", "spent", "stop_reason",
    "best_score", "last_score",
    "attempt", "pending", "host", "gpu", "oom_count", "error", "started", "finished", "heartbeat", "excluded",
    "hand_picked",
)


class Scores:
    """A trial's two stored scores, for score_names, where only its values were read."""
    __slots__ = ("best_score", "last_score")

    def __init__(self, best_score, last_score):
        self.best_score, self.last_score = best_score, last_score


def trial_rows(trials) -> list[dict]:
    """The rows of ``trials`` (a queryset) as the pages show them: TRIAL_LIST_FIELDS, times as ISO text."""
    return [page_row(row) for row in trials.values(*TRIAL_LIST_FIELDS)]


def page_row(values: dict) -> dict:
    """A trial's row as the pages show it, from its values (TRIAL_LIST_FIELDS, or more)."""
    row = {f: values[f] for f in TRIAL_LIST_FIELDS}
    for key in ("started", "finished", "heartbeat"):
        row[key] = _iso(row[key])
    row.update(score_names(Scores(row["best_score"], row["last_score"])))
    return row


def study_dict(study, with_summary: bool = True, snapshot: tuple | None = None) -> dict:
    """``snapshot``: progress.live(study) when the caller has it already."""
    # with the summary, the best trial comes from the same snapshot (one read of the open trials)
    if with_summary and snapshot is None:
        snapshot = progress.live(study)
    best = snapshot[1] if with_summary else study.best_trial()
    out = {
        "id": study.pk, "name": study.name, "owner": study.owner.get_username(), "trainer": study.trainer,
        "algorithm": study.algorithm, "state": study.state, "mode": study.mode, "settings": study.settings,
        "search_space": study.space, "initial_search_space": study.initial_space, "plan": study.plan,
        "oom_bounds": study.oom_bounds,
        "parallelism": study.parallelism, "seconds_per_epoch": study.seconds_per_epoch,
        "startup_seconds": study.startup_seconds, "error": study.error, "archived": study.archived,
        **notes_dict(study),
        "created": _iso(study.created), "started": _iso(study.started), "finished": _iso(study.finished),
        "best": None if best is None else {"trial": best.number, "id": best.id, "score": final_score(best),
                                            "best_score": best.best_score, **score_names(best),
                                            "params": best.params},
    }
    if with_summary:
        out.update(progress.summary(study, snapshot))
    return out


def best_config(study) -> dict | None:
    best = study.best_trial()
    if best is None:
        return None
    return {
        "study": {"id": study.pk, "name": study.name, "trainer": study.trainer, "algorithm": study.algorithm,
                  "mode": study.mode, "settings": study.settings, "plan": study.plan},
        "trial": best.number, "score": final_score(best), "best_score": best.best_score, **score_names(best),
        "iterations": best.last_iteration, "params": best.params,
    }
