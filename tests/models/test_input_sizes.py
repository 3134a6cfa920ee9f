"""Each network at the image sizes it states: it builds, answers one logit per class, and an
image larger than it was designed for is averaged down first, so compute stays bounded."""

import pytest

keras = pytest.importorskip("keras")

from models import ARCHITECTURES  # noqa: E402
from models.input_sizes import InputSizes, downsampling_steps  # noqa: E402

SIZES = [(32, 32), (64, 64), (128, 128), (160, 160), (256, 256), (100, 75), (75, 100)]


@pytest.mark.parametrize("name", list(ARCHITECTURES))
@pytest.mark.parametrize(("height", "width"), SIZES)
def test_each_network_builds_for_any_size_it_is_meant_for(name, height, width):
    model = ARCHITECTURES[name].build((height, width, 3), 7)

    assert model.output_shape == (None, 7)


@pytest.mark.parametrize("name", list(ARCHITECTURES))
def test_the_smallest_size_each_network_states_is_the_smallest_it_can_take(name):
    smallest = ARCHITECTURES[name].sizes.smallest

    for shape in [(smallest, smallest), (smallest, 3 * smallest), (smallest + 1, smallest)]:
        assert ARCHITECTURES[name].build((*shape, 3), 2).output_shape == (None, 2)
    with pytest.raises(ValueError):
        ARCHITECTURES[name].build((smallest - 1, smallest - 1, 3), 2)


@pytest.mark.parametrize("name", ["quick_cnn", "airbench"])
def test_a_large_image_costs_at_most_four_times_a_cifar_one(name):
    # Averaged down to at most 64 pixels: the weights stay the same, the work at most 4x.
    cifar = ARCHITECTURES[name].build((32, 32, 3), 10)
    large = ARCHITECTURES[name].build((256, 256, 3), 10)

    assert large.count_params() == cifar.count_params()
    assert _convolution_macs(cifar) < _convolution_macs(large) <= 4.5 * _convolution_macs(cifar)


@pytest.mark.parametrize("name", ["quick_cnn", "airbench"])
def test_up_to_twice_the_design_size_the_network_sees_the_image_as_it_is(name):
    for side in (32, 64):
        model = ARCHITECTURES[name].build((side, side, 3), 10)
        assert not [layer.name for layer in model.layers if layer.name.startswith("downsample")]


def test_downsampling_halves_the_shorter_side_until_it_is_at_most_twice_the_design():
    steps = [downsampling_steps(side, side, 32) for side in (32, 64, 65, 128, 129, 160, 256, 257)]

    assert steps == [0, 0, 1, 1, 2, 2, 2, 3]
    assert downsampling_steps(100, 75, 32) == downsampling_steps(75, 1000, 32) == 1


def test_sizes_outside_the_range_warn_and_below_the_smallest_refuse():
    sizes = InputSizes(design=32, low=24, high=256, smallest=18)

    assert sizes.warning(32, 32) is None and sizes.warning(24, 256) is None
    assert "20x32" in str(sizes.warning(20, 32)) and "24-256 px" in str(sizes.warning(20, 32))
    assert "300x200" in str(sizes.warning(300, 200))
    assert sizes.refusal(18, 500) is None
    assert "at least 18x18" in str(sizes.refusal(17, 500))


def _convolution_macs(model) -> int:
    """Multiply-adds of the model's convolutions for one image."""
    total = 0
    for layer in model.layers:
        if isinstance(layer, keras.layers.Conv2D):
            _, height, width, filters = layer.output.shape
            kernel_height, kernel_width = layer.kernel_size
            total += height * width * filters * kernel_height * kernel_width * layer.input.shape[-1]
    return total
