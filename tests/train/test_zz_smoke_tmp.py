import pytest

from tests.train.test_methods import *  # noqa
from tests.train.test_methods import test_method_trains_and_its_result_reloads  # noqa


@pytest.fixture(scope="module")
def base(tiny_model_dir):
    return tiny_model_dir
