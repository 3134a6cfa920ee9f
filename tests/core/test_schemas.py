import pytest
from pydantic import ValidationError

from core.promotion import PromotionPolicy
from core.schemas import TrainParams, TrainRequest
from models import ARCHITECTURES
from models.recipe import Recipe


def test_unset_values_come_from_the_network_recipe():
    params = TrainRequest().resolve(seed=7)

    assert params.dataset == "cifar10" and params.model == "seed_cnn"
    assert (params.epochs, params.batch_size, params.learning_rate) == (10, 32, 0.001)
    assert params.optimizer == "adam" and params.seed == 7


def test_given_values_win_over_the_recipe():
    params = TrainRequest(epochs=2, batch_size=64, learning_rate=0.01, seed=3).resolve(seed=7)

    assert (params.epochs, params.batch_size, params.learning_rate, params.seed) == (2, 64, 0.01, 3)


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("epochs", 0, "greater than or equal to 1"),
        ("epochs", 5000, "less than or equal to 1000"),
        ("batch_size", -1, "greater than or equal to 1"),
        ("learning_rate", 0, "greater than 0"),
        ("validation_split", 0.9, "less than or equal to 0.5"),
        ("model", "resnet9000", "Expected one of: seed_cnn"),
        ("dataset", "../etc", "should match pattern"),
        ("optimizer", "lbfgs", "'adam'"),
        ("tta_shift", 5, "less than or equal to 4"),
        ("model_name", "a/b", "should match pattern"),
        ("model_name", "x" * 65, "should match pattern"),
        ("promotion", "sometimes", "'if_better', 'always' or 'never'"),
        ("promotion_margin", -0.1, "greater than or equal to 0"),
        ("promotion_margin", 1.5, "less than or equal to 1"),
    ],
)
def test_bad_values_name_the_field_and_the_allowed_range(field, value, expected):
    with pytest.raises(ValidationError) as raised:
        TrainRequest.model_validate({field: value})

    (error,) = raised.value.errors()
    assert error["loc"] == (field,)
    assert expected in error["msg"]


def test_unknown_fields_are_refused():
    with pytest.raises(ValidationError, match="epoch"):
        TrainRequest.model_validate({"epoch": 3})


def test_each_network_brings_its_own_recipe():
    airbench = TrainRequest(model="airbench").resolve(seed=0)
    quick = TrainRequest(model="quick_cnn", translate=2).resolve(seed=0)

    assert (airbench.optimizer, airbench.batch_size, airbench.label_smoothing) == ("sgd", 1024, 0.2)
    assert (airbench.flip, airbench.translate, airbench.tta) == (True, 2, True)
    # airbench94's tricks that paid on a GPU are its recipe's defaults.
    assert (airbench.whiten_init, airbench.bn_bias_lr_scale, airbench.tta_shift) == (True, 64, 1)
    assert airbench.epochs == 16
    assert airbench.lr_schedule == "warmup_linear_decay"
    assert (quick.batch_size, quick.epochs, quick.translate) == (256, 3, 2)  # override kept


@pytest.mark.parametrize("name", ARCHITECTURES)
def test_each_networks_recipe_is_a_request_that_resolves_to_it(name):
    recipe = ARCHITECTURES[name].recipe

    params = TrainRequest(model=name, **recipe.model_dump()).resolve(seed=0)

    assert params.model_dump(include=set(Recipe.model_fields)) == recipe.model_dump()


def test_another_optimizer_than_the_recipes_sgd_drops_its_batch_norm_bias_step():
    adam = TrainRequest(model="airbench", optimizer="adam").resolve(seed=0)

    assert adam.bn_bias_lr_scale == 1.0
    with pytest.raises(ValidationError, match="sgd optimizer only"):
        TrainRequest(model="airbench", optimizer="adam", bn_bias_lr_scale=8)


def test_jobs_stored_before_the_newer_options_read_them_as_off():
    stored = TrainRequest(model="quick_cnn").resolve(seed=1).model_dump()
    for newer in ("tta_shift", "whiten_init", "bn_bias_lr_scale", "ema_momentum"):
        del stored[newer]

    params = TrainParams.model_validate(stored)

    assert (params.tta_shift, params.whiten_init, params.bn_bias_lr_scale) == (0, False, 1.0)
    assert params.ema_momentum == 0.0


def test_a_jobs_model_is_named_after_its_dataset_unless_the_request_names_it():
    unnamed = TrainRequest(dataset="flowers").resolve(seed=0)
    named = TrainRequest(dataset="flowers", model_name="flowers-small").resolve(seed=0)

    assert unnamed.model_name == "flowers"
    assert named.model_name == "flowers-small"


def test_promotion_defaults_to_if_better_with_no_margin_and_takes_the_requests():
    default = TrainRequest().resolve(seed=0)
    never = TrainRequest(promotion="never", promotion_margin=0.02).resolve(seed=0)

    assert (default.promotion, default.promotion_margin) == (PromotionPolicy.IF_BETTER, 0.0)
    assert (never.promotion, never.promotion_margin) == (PromotionPolicy.NEVER, 0.02)


def test_parameters_stored_before_model_names_still_read():
    stored = TrainRequest(dataset="flowers").resolve(seed=0).model_dump(mode="json")
    for field in ("model_name", "promotion", "promotion_margin"):
        del stored[field]

    params = TrainParams.model_validate(stored)

    assert params.model_name == "flowers"
    assert (params.promotion, params.promotion_margin) == (PromotionPolicy.IF_BETTER, 0.0)
