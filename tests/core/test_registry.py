"""@hpopt.trainer: the registry dashboard workers run trainers from."""
import itertools

import pytest

import hpopt

_names = itertools.count()


@pytest.fixture
def name():
    """A name no other test registers (the registry is process-wide)."""
    return f"test-trainer-{next(_names)}"


def test_a_decorated_function_is_registered_and_returned_unchanged(name):
    def fit(train_config):
        return 42

    decorated = hpopt.trainer(name, description="fits", search_space={
        "lr": hpopt.search_space("loguniform", [1e-4, 1e-1])}, full_dataset_size=1000)(fit)

    assert decorated is fit
    info = hpopt.get_trainer(name)
    assert (info.name, info.func, info.description) == (name, fit, "fits")
    assert info.search_space == {"lr": {"type": "loguniform", "range": [1e-4, 1e-1]}}
    assert info.defaults == {"full_dataset_size": 1000}
    assert hpopt.registered_trainers()[name] is info


def test_the_description_defaults_to_the_docstrings_first_line(name):
    @hpopt.trainer(name)
    def fit(train_config):
        """Trains a small CNN.

        More words."""

    assert hpopt.get_trainer(name).description == "Trains a small CNN."


def test_registering_the_same_function_again_is_harmless(name):
    def fit(train_config):
        pass

    hpopt.trainer(name)(fit)
    hpopt.trainer(name)(fit)

    assert hpopt.get_trainer(name).func is fit


def test_another_function_under_a_taken_name_is_refused(name):
    @hpopt.trainer(name)
    def fit(train_config):
        pass

    def other(train_config):
        pass

    with pytest.raises(ValueError, match=name):
        hpopt.trainer(name)(other)
    assert hpopt.get_trainer(name).func is fit


def test_an_unknown_name_is_a_key_error_listing_the_registered_ones(name):
    hpopt.trainer(name)(lambda config: None)

    with pytest.raises(KeyError, match="no-such-trainer") as excinfo:
        hpopt.get_trainer("no-such-trainer")

    assert name in str(excinfo.value)


@pytest.mark.parametrize("bad", ["", "   ", None, 3])
def test_a_name_must_be_a_non_empty_string(bad):
    with pytest.raises(ValueError, match="name"):
        hpopt.trainer(bad)


def test_a_bad_search_space_is_refused_at_registration(name):
    with pytest.raises(ValueError):
        hpopt.trainer(name, search_space={"lr": {"type": "gaussian", "range": [0, 1]}})


def test_registered_trainers_is_a_copy(name):
    hpopt.trainer(name)(lambda config: None)

    hpopt.registered_trainers().clear()

    assert name in hpopt.registered_trainers()


def test_a_trainer_declares_its_device_and_the_packages_it_needs(name):
    @hpopt.trainer(name, device="gpu", requires=["numpy", "surely_not_an_installed_package"])
    def fit(train_config):
        pass

    info = hpopt.get_trainer(name)
    assert (info.device.value, info.requires) == ("gpu", ("numpy", "surely_not_an_installed_package"))
    assert info.missing_packages() == ["surely_not_an_installed_package"]


def test_a_trainer_runs_anywhere_and_needs_nothing_unless_it_says_so(name):
    hpopt.trainer(name)(lambda config: None)
    info = hpopt.get_trainer(name)
    assert (info.device.value, info.requires, info.missing_packages()) == ("any", (), [])


@pytest.mark.parametrize("kwargs, message", [
    ({"device": "tpu"}, "trainer device must be one of gpu, cpu, any (got 'tpu')"),
    ({"requires": ["torch.cuda"]}, "trainer requires must be top-level package names (got 'torch.cuda')"),
    ({"requires": [""]}, "trainer requires must be top-level package names (got '')"),
])
def test_a_bad_declaration_is_refused_naming_the_field(name, kwargs, message):
    with pytest.raises(ValueError) as caught:
        hpopt.trainer(name, **kwargs)
    assert str(caught.value) == message
    assert name not in hpopt.registered_trainers()
