"""How the training benchmarks print their figures."""


def images_per_second_text(images_per_second: float | None) -> str:
    """None where one step was all the training: no steady step was timed."""
    return "?" if images_per_second is None else f"{images_per_second:.0f}"
