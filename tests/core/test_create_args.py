"""hpopt.create(): every argument of the original, typos, missing and bad values."""
import os

import pytest
from conftest import create, run_loop, small_space, stored

import hpopt
from hpopt.settings import ARG_ALIASES, ARG_NAMES

#: the original's create() arguments with its defaults (reference page)
ORIGINAL_DEFAULTS = dict(
    search_alg="bayes_opt", early_stop=None, mode="max", num_init_trials=5, num_trials=None,
    max_iterations=None, subset_ratio=None, min_iterations=None, num_brackets=None,
    reduction_factor=2, batch_size_name=None, resume=False, expected_time_ratio=4,
    non_pure_train_ratio=0.2, num_workers=1, kappa=2.576, kappa_decay=1, kappa_decay_delay=0,
    min_subset_size=500,
)
REQUIRED = dict(full_dataset_size=1000, num_full_iterations=6)


def test_every_argument_of_the_original_is_a_known_name():
    known = set(ARG_NAMES) | set(ARG_ALIASES)
    assert set(ORIGINAL_DEFAULTS) | {"save_path", "search_space", *REQUIRED} <= known


@pytest.mark.parametrize("alg", ["bayes_opt", "asha"])
def test_the_originals_defaults_passed_explicitly_are_accepted(alg, save_path):
    args = dict(ORIGINAL_DEFAULTS, search_alg=alg)

    hpo = create(save_path, **args)

    assert hpo.settings.num_init_trial == 5
    assert hpo.settings.kappa == 2.576 and hpo.settings.min_subset_size == 500


@pytest.mark.parametrize("alg, extra", [
    ("baye_opt", dict(early_stop="median_stop", num_init_trials=3, kappa=1.5, kappa_decay=0.9,
                      kappa_decay_delay=2)),
    ("asha", dict(min_iterations=2, num_brackets=2, reduction_factor=3)),
])
def test_every_original_argument_set_to_another_value_is_kept(alg, extra, save_path):
    args = dict(search_alg=alg, mode="min", num_trials=5, max_iterations=6, subset_ratio=0.8,
                batch_size_name="bs", expected_time_ratio=3, non_pure_train_ratio=0.1,
                num_workers=2, min_subset_size=100, **extra)

    hpo = create(save_path, **args)

    canonical = {ARG_ALIASES.get(k, k): v for k, v in args.items()}
    canonical["search_alg"] = "bayes_opt" if alg == "baye_opt" else "asha"
    assert {k: getattr(hpo.settings, k) for k in canonical} == canonical


def test_the_guides_spelling_num_init_trial_and_the_originals_num_init_trials_both_work(tmp_path):
    a = create(tmp_path / "a", num_init_trial=3)
    b = create(tmp_path / "b", num_init_trials=3)

    assert a.settings.num_init_trial == b.settings.num_init_trial == 3


def test_both_spellings_at_once_is_a_type_error(save_path):
    with pytest.raises(TypeError, match="num_init_trial"):
        create(save_path, num_init_trial=3, num_init_trials=4)


def test_the_samples_typo_ealry_stop_names_the_right_spelling(save_path):
    with pytest.raises(TypeError, match="ealry_stop.*early_stop"):
        create(save_path, ealry_stop="median_stop")


def test_an_unknown_argument_is_a_type_error(save_path):
    with pytest.raises(TypeError, match="'frobnicate'"):
        create(save_path, frobnicate=1)


@pytest.mark.parametrize("missing", ["full_dataset_size", "num_full_iterations", "search_space"])
def test_a_missing_required_argument_is_a_type_error_naming_it(missing, save_path):
    args = dict(search_space=small_space(), save_path=str(save_path), **REQUIRED)
    del args[missing]

    with pytest.raises(TypeError, match=missing):
        hpopt.create(**args)


def test_create_without_arguments_names_all_three_required():
    with pytest.raises(TypeError, match="full_dataset_size, num_full_iterations, search_space"):
        hpopt.create()


BAD_VALUES = [
    ("mode", "maximum"), ("early_stop", "x"), ("kappa", -1), ("kappa", float("nan")),
    ("kappa_decay", 0), ("kappa_decay", 1.5), ("kappa_decay_delay", -1), ("num_init_trial", 0),
    ("batch_size_name", "batch"), ("batch_size_name", "lr"), ("num_trials", 0),
    ("num_trials", 2.5), ("max_iterations", 0), ("expected_time_ratio", 1),
    ("subset_ratio", 0), ("subset_ratio", -0.5), ("non_pure_train_ratio", 1), ("num_workers", 0),
    ("reduction_factor", 1), ("min_subset_size", 0), ("resume", "yes"), ("backfill", 1), ("backfill", None),
    ("seed", -1),
    ("search_alg", "random"), ("save_path", ""), ("full_dataset_size", 0),
    ("num_full_iterations", -3), ("search_space", {}),
]


@pytest.mark.parametrize("name, value", BAD_VALUES)
def test_a_bad_value_is_a_value_error_naming_the_argument(name, value, save_path):
    with pytest.raises(ValueError, match=f"^{name}"):
        create(save_path, **{name: value})


@pytest.mark.parametrize("name, value", [("min_iterations", 0), ("min_iterations", 7),
                                         ("num_brackets", 0), ("num_brackets", 9)])
def test_a_bad_asha_value_is_a_value_error_naming_the_argument(name, value, save_path):
    with pytest.raises(ValueError, match=name):
        create(save_path, search_alg="asha", **{name: value})


def test_batch_size_name_of_a_uniform_parameter_is_refused(save_path):
    space = dict(small_space(), width=hpopt.search_space("uniform", [8, 128]))

    with pytest.raises(ValueError, match="^batch_size_name.*quantized"):
        create(save_path, search_space=space, batch_size_name="width")


def test_a_bad_value_leaves_an_existing_study_alone(save_path):
    run_loop(create(save_path, search_alg="asha", num_trials=3))
    before = stored(save_path)

    with pytest.raises(ValueError):
        create(save_path, search_alg="asha", num_trials=3, mode="maximum")

    assert stored(save_path) == before


@pytest.mark.parametrize("alg", ["baye_opt", "asha"])
def test_user_set_trials_iterations_and_subset_are_what_the_loop_runs(alg, save_path):
    hpo = create(save_path, search_alg=alg, full_dataset_size=10_000, num_trials=7,
                 max_iterations=4, subset_ratio=0.3, num_init_trial=3)

    assert (hpo.plan.num_trials, hpo.plan.max_iterations, hpo.plan.subset_ratio) == (7, 4, 0.3)
    assert hpo.plan.auto == ()
    configs = run_loop(hpo)
    assert len(configs) == 7
    assert {(c["iterations"], c["subset_ratio"]) for c in configs} == {(4, 0.3)}


@pytest.mark.parametrize("alg", ["baye_opt", "asha"])
def test_user_set_num_trials_alone_is_kept_and_the_rest_planned(alg, save_path):
    hpo = create(save_path, search_alg=alg, num_trials=13)

    assert hpo.plan.num_trials == 13
    assert set(hpo.plan.auto) == {"max_iterations", "subset_ratio"}


def test_asha_keeps_user_set_num_brackets_and_spreads_trials_over_them(save_path):
    hpo = create(save_path, search_alg="asha", num_trials=6, num_brackets=3, max_iterations=8)

    assert hpo.plan.num_brackets == 3 and len(hpo.plan.brackets) == 3
    assert [c["bracket"] for c in run_loop(hpo)] == [0, 1, 2, 0, 1, 2]


def test_resume_false_starts_over_but_keeps_the_users_own_files(save_path):
    run_loop(create(save_path, search_alg="asha", num_trials=3))
    (save_path / "notes.txt").write_text("mine")
    (save_path / "runs").mkdir()
    (save_path / "runs" / "log.txt").write_text("mine too")

    hpo = create(save_path, search_alg="asha", num_trials=3, resume=False)

    assert hpo.trials() == []
    assert stored(save_path)[0] == []
    assert (save_path / "notes.txt").read_text() == "mine"
    assert (save_path / "runs" / "log.txt").read_text() == "mine too"


def test_resume_false_is_the_default(save_path):
    run_loop(create(save_path, search_alg="asha", num_trials=3))

    assert create(save_path, search_alg="asha", num_trials=3).trials() == []


def test_the_study_lives_under_save_path(save_path):
    run_loop(create(save_path, search_alg="asha", num_trials=2))

    assert os.listdir(save_path)
    assert len(stored(save_path)[0]) == 2


def test_validate_reports_every_broken_rule_under_its_field():
    """hpopt.settings.validate: what the dashboard shows all at once; the
    library raises the first of them (make_settings)."""
    from hpopt.errors import FieldError
    from hpopt.settings import validate

    space = {"lr": {"type": "loguniform", "range": [1.0, 0.1]}, "bs": hpopt.search_space("quniform", [8, 64, 8])}
    settings, errors = validate(dict(search_space=space, full_dataset_size=0, num_full_iterations=5,
                                     mode="maximum", batch_size_name="lr", seed=-1))
    assert settings is None
    assert set(errors) == {"search_space.lr", "full_dataset_size", "mode", "seed"}
    assert all(isinstance(e, FieldError) and e.field == f and str(e).startswith(f.split(".")[-1] if "." not in f
               else "parameter 'lr'") for f, e in errors.items())
    with pytest.raises(FieldError) as first:
        create("unused", search_space=space, full_dataset_size=0, num_full_iterations=5)
    assert first.value.field in errors
