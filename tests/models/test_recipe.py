import pytest
from pydantic import ValidationError

from models.recipe import Recipe

ESSENTIALS = {"optimizer": "sgd", "learning_rate": 0.1, "batch_size": 32, "epochs": 2}


def test_the_options_a_recipe_leaves_out_are_off():
    recipe = Recipe(**ESSENTIALS)

    assert (recipe.flip, recipe.translate, recipe.tta, recipe.tta_shift) == (False, 0, False, 0)
    assert (recipe.whiten_init, recipe.bn_bias_lr_scale, recipe.ema_momentum) == (False, 1.0, 0.0)
    assert recipe.random_resized_crop == "off"


@pytest.mark.parametrize(
    ("option", "value"), [("learning_rate", 0), ("epochs", 1001), ("ema_momentum", 1.0)]
)
def test_a_recipe_outside_an_options_bounds_is_refused(option, value):
    with pytest.raises(ValidationError) as raised:
        Recipe(**ESSENTIALS | {option: value})

    assert [error["loc"] for error in raised.value.errors()] == [(option,)]


def test_a_recipe_is_frozen_and_names_only_known_options():
    with pytest.raises(ValidationError, match="epoch"):
        Recipe(**ESSENTIALS, epoch=3)  # type: ignore[call-arg]
    with pytest.raises(ValidationError, match="frozen"):
        Recipe(**ESSENTIALS).epochs = 3  # type: ignore[misc]


def test_random_resized_crops_on_auto_are_for_images_over_64_pixels():
    auto = Recipe(**ESSENTIALS, random_resized_crop="auto")

    assert not Recipe(**ESSENTIALS).crops((256, 256, 3))  # off unless a recipe says otherwise
    assert [auto.crops((side, side, 3)) for side in (32, 64, 65, 256)] == [0, 0, 1, 1]
    assert not auto.crops((300, 64, 3))  # the shorter side decides
    assert Recipe(**ESSENTIALS, random_resized_crop="on").crops((32, 32, 3))
